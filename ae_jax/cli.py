"""Command-line pieces shared by train.py and the other entry points.

`--config.<field>=<value>` (ml_collections) can only set a field the config already has. The
open-ended name -> number tables of the config (`OPEN_TABLES`: the loss weights and their
warm-ups) may gain a new name on the command line, e.g. a sparsity term on a plain AE::

    python train.py --config=configs/dense_ae.py --workdir=W --config.loss.terms.l1_activity=1e-5

`take_table_entries(argv)` takes those arguments out before absl parses the flags, and
`add_table_entries(config, entries)` adds them to the loaded config (a name the registries do
not know is refused later by the config's validation, like any other misspelling).

`train.py --list_configs` and `train.py --config=... --show_config` print what
`config_summaries` and `show_config` make: the shipped configs with their first docstring
lines, and one config resolved, each field with its comment from configs/default.py.
"""

from __future__ import annotations

import ast
import os
import re

OPEN_TABLES = ("loss.terms", "loss.warmup_epochs")


class CommandLineError(ValueError):
    USER_ERROR = True  # ae_jax/errors.py: one line, exit 2


def take_table_entries(argv: list[str]) -> tuple[list[str], list[tuple[str, str, float]]]:
    """(argv without them, [(table, name, value)]) for `--config.<table>.<name>=<number>`."""
    kept, entries = [], []
    for arg in argv:
        table = next((t for t in OPEN_TABLES if arg.startswith(f"--config.{t}.")), None)
        if table is None:
            kept.append(arg)
            continue
        name, sep, text = arg[len(f"--config.{table}."):].partition("=")
        if not sep or not name or "." in name:
            raise CommandLineError(f"{arg}: write --config.{table}.<name>=<number>")
        try:
            entries.append((table, name, float(text)))
        except ValueError:
            raise CommandLineError(f"{arg}: {text!r} is not a number") from None
    return kept, entries


def check_config_file(argv: list[str]) -> None:
    """Refuse a `--config=<file>` that does not exist, in one line naming it (ml_collections
    would report it lazily, over several lines)."""
    for i, arg in enumerate(argv):
        path = arg.partition("=")[2] if arg.startswith("--config=") else (
            argv[i + 1] if arg == "--config" and i + 1 < len(argv) else None)
        if path is not None and not os.path.isfile(path.split(":")[0]):
            raise CommandLineError(f"--config: no config file {path!r} (train.py "
                                   "--list_configs lists the shipped ones)")


def add_table_entries(config, entries: list[tuple[str, str, float]]) -> None:
    """Set each `config.<table>[name] = value`, adding names the table does not have."""
    for table, name, value in entries:
        node = config
        for part in table.split("."):
            node = node[part]
        with node.unlocked():
            node[name] = value


def config_summaries(folder: str) -> list[tuple[str, str]]:
    """[(config file, the first sentence of its docstring)] for `train.py --list_configs`,
    read without importing the configs."""
    rows = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py") or name.startswith("_"):
            continue
        with open(os.path.join(folder, name)) as f:
            doc = ast.get_docstring(ast.parse(f.read())) or ""
        rows.append((os.path.join(os.path.basename(folder), name), _first_sentence(doc)))
    return rows


def _first_sentence(doc: str, limit: int = 110) -> str:
    paragraph = " ".join(doc.split("\n\n")[0].split())
    sentence = re.split(r"(?<!\bal\.)(?<!e\.g\.)(?<!i\.e\.)(?<=\.)\s", paragraph,
                        maxsplit=1)[0].rstrip(".")
    return sentence if len(sentence) <= limit else sentence[:limit - 3].rstrip() + "..."


_FIELD = re.compile(r"^\s*(?:config\.)?(\w+)\s*=[^=].*?#\s?(.*)$")
_MORE = re.compile(r"^\s*#\s?(.*)$")
_SECTION = re.compile(r"^def _(\w+)\(\)")
_SECTION_USES = re.compile(r"^\s*config\.(\w+) = _(\w+)\(\)")


def field_comments(default_config: str) -> dict[str, str]:
    """Dotted field -> its comment in the base config file (a comment that goes on over the
    next comment-only lines is joined). A section built by `def _<section>()` and assigned
    with `config.<field> = _<section>()` gives its fields under each such `<field>`."""
    with open(default_config) as f:
        lines = f.read().split("\n")
    by_section: dict[str, dict[str, str]] = {"": {}}
    users: dict[str, list[str]] = {}
    section, last, indent = "", None, 0
    for line in lines:
        if m := _SECTION.match(line):
            section, last = m.group(1), None
            by_section[section] = {}
        elif line.startswith("def get_config"):
            section, last = "", None
        elif m := _SECTION_USES.match(line):
            users.setdefault(m.group(2), []).append(m.group(1))
        elif m := _FIELD.match(line):
            last, indent = m.group(1), len(line) - len(line.lstrip())
            by_section[section][last] = m.group(2).strip()
        elif (m := _MORE.match(line)) and last is not None and line.index("#") > indent + 4:
            by_section[section][last] += " " + m.group(1).strip()
        else:
            last = None
    comments = dict(by_section[""])
    for section, fields in by_section.items():
        for prefix in users.get(section, ()):
            comments.update({f"{prefix}.{k}": v for k, v in fields.items()})
    return comments


def show_config(config, comments: dict[str, str]) -> str:
    """Every field of `config` as `dotted.name = value  # comment`, sorted by name."""
    rows = []

    def walk(node, prefix):
        for key in node.keys():
            value, name = node[key], f"{prefix}{key}"
            if hasattr(value, "keys") and name not in OPEN_TABLES:
                walk(value, f"{name}.")
                continue
            rows.append((f"{name} = {_value_text(value)}", comments.get(name, "")))

    walk(config, "")
    width = min(48, max(len(left) for left, _ in rows))
    return "\n".join(f"{left:<{width}}  # {note}" if note else left for left, note in rows)


def _value_text(value) -> str:
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    return repr(value)
