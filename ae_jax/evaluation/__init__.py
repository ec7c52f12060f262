"""Evaluation tasks over a trained workdir: `python evaluate.py --workdir=DIR --task=NAME`.

A task is `fn(run: ae_jax.run.Run, out_dir: str, options: dict) -> dict` registered with
`@TASKS.register("name")` in any module of this package (found on the first lookup); it
returns JSON-able numbers (written to `<workdir>/eval/<task>.json`) and saves its figures
in `out_dir`. Tasks read the workdir through `Run` and never import the trainer.
"""

from __future__ import annotations

from collections.abc import Callable

from ae_jax.registry import Registry

TASKS: Registry[Callable] = Registry("evaluation task", field="--task",
                                     package="ae_jax.evaluation")


def get_task(name: str) -> Callable:
    return TASKS.get(name)
