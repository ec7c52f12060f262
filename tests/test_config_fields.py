"""The config is the one source of truth: configs/default.py lists every field, with its unit
and reason, and library code reads `config.<field>` without a second default."""

import ast
import glob
import importlib
import os

from configs import default
from tests.conftest import ROOT

PACKAGE = os.path.join(ROOT, "ae_jax")
DEFAULT = os.path.join(ROOT, "configs", "default.py")
MAPPINGS = ("terms", "warmup_epochs")  # name -> value sections: any key is allowed
CONFIG_METHODS = {"get", "to_dict", "to_json", "to_json_best_effort", "update", "lock",
                  "unlock", "unlocked", "items", "keys", "values", "copy_and_resolve_references"}


def _package_trees():
    for path in sorted(glob.glob(os.path.join(PACKAGE, "**", "*.py"), recursive=True)):
        with open(path) as f:
            yield os.path.relpath(path, ROOT), ast.parse(f.read(), path)


def _is_config(text: str) -> bool:
    text = text.lower()
    return "config" in text or "cfg" in text


def test_library_code_reads_config_fields_without_a_default():
    """No `.get(...)` on a config (`config.get(`, `cfg.get(`, `run.config.data.get(`,
    `loss_config.get(`, ...), with any arguments: the value comes from configs/default.py."""
    offenders = []
    for path, tree in _package_trees():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "get" and _is_config(ast.unparse(node.func.value))):
                offenders.append(f"{path}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert not offenders, "config fields read with .get:\n" + "\n".join(offenders)


def _attribute_path(node):
    """['config', 'data', 'name'] for `config.data.name`; None unless rooted at a name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) else None


def _has_field(config, path) -> bool:
    for part in path:
        if part in CONFIG_METHODS:
            return True
        if part not in config:
            return False
        config = config[part]
        if not hasattr(config, "keys") or part in MAPPINGS:
            return True
    return True


def test_every_field_read_as_config_dot_field_is_in_default():
    """`config.a.b`, `run.config.a.b` and `self.config.a.b` in the package name fields of
    configs/default.py."""
    base, missing = default.get_config(), []
    for path, tree in _package_trees():
        for node in ast.walk(tree):
            parts = _attribute_path(node) if isinstance(node, ast.Attribute) else None
            if parts and parts[0] in ("run", "self") and parts[1:2] == ["config"]:
                parts = parts[1:]
            if parts and parts[0] == "config" and not _has_field(base, parts[1:]):
                missing.append(f"{path}:{node.lineno}: {'.'.join(parts)}")
    assert not missing, "fields missing from configs/default.py:\n" + "\n".join(missing)


def _leaves(config, prefix=""):
    for key, value in config.items():
        if hasattr(value, "items") and key not in MAPPINGS:
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield prefix + key


def test_shipped_configs_set_only_fields_of_default():
    known = set(_leaves(default.get_config()))
    extra = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "configs", "*.py"))):
        name = os.path.basename(path)[:-3]
        if name in ("__init__", "default"):
            continue
        fields = set(_leaves(importlib.import_module(f"configs.{name}").get_config()))
        if fields - known:
            extra[name] = sorted(fields - known)
    assert not extra, f"fields not in configs/default.py: {extra}"


def _default_fields(tree):
    """(name, first line, last line) of every field default.py defines: the keywords of its
    dict(...) sections and the `config.<name> = ...` assignments."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "dict":
            for kw in node.keywords:
                yield kw.arg, kw.lineno, kw.end_lineno
        elif (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Attribute)
              and not _is_section(node.value)):
            yield node.targets[0].attr, node.lineno, node.end_lineno


def _is_section(value) -> bool:
    """`config.data = _data()`: a section, documented by its function's docstring."""
    return isinstance(value, ast.Call) and getattr(value.func, "id", "").startswith("_")


def test_every_default_field_says_what_it_is():
    """Each field of configs/default.py carries a comment (its unit, choices or reason) on
    its line(s)."""
    with open(DEFAULT) as f:
        source = f.read()
    lines = source.splitlines()
    bare = [f"{name} (line {first})" for name, first, last in _default_fields(ast.parse(source))
            if not any("#" in line for line in lines[first - 1:last])]
    assert not bare, "fields of configs/default.py without a comment: " + ", ".join(bare)
