"""Evaluation tasks over a trained workdir: `python evaluate.py --workdir=DIR --task=NAME`.

A task is `fn(run: ae_jax.run.Run, out_dir: str, options: dict) -> dict` registered with
`@task("name", Option(...), ...)` in any module of this package (found on the first lookup).
It declares every option it reads (ae_jax/evaluation/options.py): the registered Task fills
in the defaults and refuses unknown keys, so `fn` reads `options["key"]` and owns no
defaults. It returns JSON-able numbers (written to `<workdir>/eval/<task>.json`) and saves
its figures in `out_dir`. Tasks read the workdir through `Run` and never import the trainer.
"""

from __future__ import annotations

from collections.abc import Callable

from ae_jax.evaluation.options import Option, Task
from ae_jax.registry import Registry

TASKS: Registry[Task] = Registry("evaluation task", field="--task", package="ae_jax.evaluation")


def task(name: str, *options: Option) -> Callable[[Callable], Task]:
    """Decorator: register `fn(run, out_dir, options)` as task `name` with its options."""

    def wrap(fn: Callable) -> Task:
        registered = Task("task", name, fn, tuple(options))
        TASKS.add(name, registered)
        return registered

    return wrap


def get_task(name: str) -> Task:
    return TASKS.get(name)
