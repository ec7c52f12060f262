"""Command-line pieces shared by train.py and the other entry points.

`--config.<field>=<value>` (ml_collections) can only set a field the config already has. The
open-ended name -> number tables of the config (`OPEN_TABLES`: the loss weights and their
warm-ups) may gain a new name on the command line, e.g. a sparsity term on a plain AE::

    python train.py --config=configs/dense_ae.py --workdir=W --config.loss.terms.l1_activity=1e-5

`take_table_entries(argv)` takes those arguments out before absl parses the flags, and
`add_table_entries(config, entries)` adds them to the loaded config (a name the registries do
not know is refused later by the config's validation, like any other misspelling).
"""

from __future__ import annotations

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


def add_table_entries(config, entries: list[tuple[str, str, float]]) -> None:
    """Set each `config.<table>[name] = value`, adding names the table does not have."""
    for table, name, value in entries:
        node = config
        for part in table.split("."):
            node = node[part]
        with node.unlocked():
            node[name] = value
