"""One way to choose a thing by name: `Registry`.

Models, model families, loss terms, optimizers, schedules, data sources, corruptions and
evaluation tasks each have one registry. A module registers what it defines::

    MODELS = Registry("model", field="model.name")

    @MODELS.register("mlp")
    def build_mlp(model_config, example_shape): ...

and callers look names up with `MODELS.get(name)`, which fails with one line that names the
config field and lists the known names. A registry built with `package=` imports every module
of that package on the first lookup, so a new task or term file is found without a hand-kept
list, and nothing is registered as a side effect of importing an unrelated module.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(ValueError):
    """A name that no registry entry has; the message lists the known names."""


class Registry(Generic[T]):
    """Names -> objects of one kind.

    Args:
      kind: what the entries are, for messages ("model", "loss term", ...).
      field: the config field that holds the name, for messages ("model.name").
      package: a package whose modules register entries; imported on the first lookup.
    """

    def __init__(self, kind: str, field: str = "", package: str = ""):
        self.kind, self.field, self.package = kind, field, package
        self._entries: dict[str, T] = {}
        self._loaded = not package

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: `@REGISTRY.register("name")` above a function or class."""

        def wrap(obj: T) -> T:
            self.add(name, obj)
            return obj

        return wrap

    def add(self, name: str, obj: T) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = obj

    def _load(self) -> None:
        if self._loaded:
            return
        pkg = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"{self.package}.{info.name}")  # errors surface here
        self._loaded = True

    def get(self, name: str) -> T:
        """The entry `name`, or UnknownNameError with the known names."""
        self._load()
        if name not in self._entries:
            where = f" ({self.field})" if self.field else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}{where}; known: {', '.join(self.names())}")
        return self._entries[name]

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
