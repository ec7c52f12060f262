"""Evaluation tasks over a trained workdir: `python evaluate.py --workdir=DIR --task=NAME`.

A task is `fn(run: TrainedRun, out_dir: str, options: dict) -> dict` registered with
`@register_task("name")`; it returns JSON-able numbers (written to `<workdir>/eval/<task>.json`)
and saves its figures in `out_dir`. Tasks receive the trained state and data, never the
trainer. Import each task module in `_TASK_MODULES` below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

TASKS: dict[str, Callable] = {}
_TASK_MODULES = ("ae_jax.evaluation.reconstruction", "ae_jax.evaluation.likelihood",
                 "ae_jax.evaluation.latent", "ae_jax.evaluation.anomaly",
                 "ae_jax.evaluation.retrieval", "ae_jax.evaluation.representation",
                 "ae_jax.evaluation.compression")
_TASK_MODULES += ("ae_jax.evaluation.denoising",)


def register_task(name: str):
    def wrap(fn):
        if name in TASKS:
            raise ValueError(f"evaluation task {name!r} is registered twice")
        TASKS[name] = fn
        return fn

    return wrap


def get_task(name: str) -> Callable:
    for module in _TASK_MODULES:
        importlib.import_module(module)
    if name not in TASKS:
        raise ValueError(f"unknown evaluation task {name!r}; known tasks: {sorted(TASKS)}")
    return TASKS[name]
