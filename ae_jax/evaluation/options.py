"""Declared options of evaluation tasks and samplers: `--option=key=value` checked by name.

A task (or sampler) lists the options it reads, each with its default, type and meaning::

    @task("nll", Option("num_samples", 5000, "importance samples k per example"), ...)
    def nll(run, out_dir, options): ... options["num_samples"] ...

The registered `Task` fills in the defaults, converts each value to the declared type, and
refuses an unknown key (naming the known ones) before the task runs, so a misspelled option
is an error instead of a silently ignored setting, and every default lives in one place.
An option may bring more options with its value (`sub_options`): `sampler=gmm` makes the
Gaussian-mixture sampler's own options known. `evaluate.py --list_tasks` prints them all.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Sequence
from typing import Any

KINDS = ("int", "float", "str", "bool", "list", "any")


class OptionError(ValueError):
    """An unknown option, or a value that is not of the option's type."""

    USER_ERROR = True  # ae_jax/errors.py: one line, exit 2


def _kind_of(default) -> str:
    if isinstance(default, bool):
        return "bool"
    for kind, types in (("int", int), ("float", float), ("str", str), ("list", (list, tuple))):
        if isinstance(default, types):
            return kind
    return "any"


@dataclasses.dataclass(frozen=True)
class Option:
    """One option: `name`, its `default`, a one-line `help`, and its `kind` (one of KINDS;
    inferred from the default when empty). `sub_options(value)` lists the options that this
    option's value brings (a sampler's, for `sampler`)."""

    name: str
    default: Any
    help: str
    kind: str = ""
    sub_options: Callable[[Any], Sequence[Option]] | None = None

    def __post_init__(self):
        if not self.kind:
            object.__setattr__(self, "kind", _kind_of(self.default))
        if self.kind not in KINDS:
            raise ValueError(f"option {self.name!r}: kind {self.kind!r} is not one of {KINDS}")

    def convert(self, value, owner: str):
        """`value` as this option's kind (the default passes unchanged)."""
        if value is self.default or self.kind == "any":
            return value
        try:
            return _CONVERT[self.kind](value)
        except (TypeError, ValueError):
            raise OptionError(f"option {self.name!r} of {owner} must be {self.kind}, got "
                              f"{value!r} ({self.help})") from None

    def describe(self) -> str:
        return f"{self.name} ({self.kind}, default {self.default!r}): {self.help}"


def _to_int(value) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(value)
    return int(value)


def _to_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(value)


def _to_list(value) -> list:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


_CONVERT = {"int": _to_int, "float": float, "str": str, "bool": _to_bool, "list": _to_list}


def resolve(options: Sequence[Option], given: dict | None, owner: str) -> dict:
    """Every declared option of `owner` -> its given value (converted) or its default; an
    option's `sub_options` join the declared ones. An undeclared key raises OptionError
    naming the close matches and the known options."""
    given = dict(given or {})
    declared = {o.name: o for o in options}
    resolved, pending = {}, list(options)
    while pending:
        option = pending.pop(0)
        value = option.convert(given.get(option.name, option.default), owner)
        resolved[option.name] = value
        for extra in (option.sub_options(value) if option.sub_options else ()):
            if extra.name not in declared:
                declared[extra.name] = extra
                pending.append(extra)
    unknown = sorted(set(given) - set(declared))
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(declared), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise OptionError(
            f"unknown option {unknown[0]!r} for {owner}{hint}; known: "
            f"{', '.join(sorted(declared)) or 'none'} (evaluate.py --list_tasks describes them)")
    return resolved


@dataclasses.dataclass(frozen=True)
class Declared:
    """A function with declared options: calling it resolves `options` (defaults, types,
    unknown keys refused) before `fn` runs. `args` are passed through before `options`."""

    kind: str  # "task" | "sampler", for messages
    name: str
    fn: Callable
    options: tuple[Option, ...]

    @property
    def summary(self) -> str:
        """The first line of `fn`'s docstring."""
        return (self.fn.__doc__ or "").strip().split("\n")[0]

    def resolve(self, given: dict | None) -> dict:
        return resolve(self.options, given, f"{self.kind} {self.name!r}")

    def describe(self) -> list[str]:
        """Lines for `--list_tasks`: the name and summary, then one line per option."""
        return [f"{self.name}: {self.summary}"] + [f"    {o.describe()}" for o in self.options]


class Task(Declared):
    """An evaluation task: `task(run, out_dir, options) -> dict` of JSON-able results."""

    def __call__(self, run, out_dir: str, options: dict | None = None) -> dict:
        return self.fn(run, out_dir, self.resolve(options))


class Sampler(Declared):
    """A post-hoc sampler: `sampler(run, options, key) -> CodeSampler`. It reads only its
    own options from `options` (a task's resolved options hold the task's as well)."""

    def __call__(self, run, options: dict | None, key):
        own = {o.name for o in self.options}
        mine = {k: v for k, v in (options or {}).items() if k in own}
        return self.fn(run, self.resolve(mine), key)
