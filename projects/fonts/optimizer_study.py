"""Optimizers compared on the font AE: full-batch second-order, derivative-free and first-order
methods of `projects.fonts.second_order`, from the same initial parameters, on the same data.

Writes `<workdir>/optimizers.json`, `optimizers.md` (final loss, wrong pixels, iterations,
evaluations, wall time per method) and `optimizers.png` (loss per iteration).
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ae_jax import viz
from ae_jax.data import load_dataset, to_float
from ae_jax.models import build_model
from projects.fonts import errors, second_order
from projects.fonts.engine_api import (
    example_losses,
    initial_params,
    initial_weights,
    make_objective,
)

# Iterations per method: the course ran Powell for 20; the O(P^3) BFGS implementations get
# fewer (3.6 s an iteration at P = 2,789 on a loaded 2-core CPU), first-order methods more.
DEFAULT_MAXITER = {"bfgs": 300, "lbfgs": 300, "cg": 300, "powell": 20, "jax_bfgs": 20,
                   "scipy_bfgs": 20, "adam": 3000, "sgd": 3000}


def font_problem(config):
    """The full-batch training loss of `config`'s model on its training characters, as a
    `FlatProblem` from the parameters of `config.seed`; also returns (model, objective, x)."""
    ds = load_dataset(config.data)
    model = build_model(config.model, ds.example_shape)
    objective = make_objective(config.loss, model.output_activation)
    params = initial_params(config, ds.example_shape, config.seed)
    weights = initial_weights(config.loss)
    x = to_float(jnp.asarray(ds.train))  # (N, 7, 5, 1); 13 KB, so a constant of the jit

    def loss(params):
        return jnp.mean(example_losses(model, objective, params, weights, x, x))

    return second_order.flat_problem(loss, params), model, objective, x


def compare(config, workdir: str, methods=tuple(DEFAULT_MAXITER),
            maxiter: dict | None = None) -> str:
    """Run every method and write the table; returns it as markdown."""
    maxiter = {**DEFAULT_MAXITER, **(maxiter or {})}
    problem, model, objective, x = font_problem(config)
    reconstruct = errors.make_run_functions(model, objective)[0]
    rows, histories = [], {}
    for method in methods:
        result = second_order.minimize(problem, method, maxiter[method])
        params = jax.tree_util.tree_map(lambda a: a[None],  # a run axis of 1
                                        problem.unravel(jnp.asarray(result.theta)))
        wrong = errors.wrong_pixels(np.asarray(x), np.asarray(reconstruct(params, x))[0])
        rows.append({"method": method, "maxiter": maxiter[method],
                     "iterations": result.iterations, "evaluations": result.evaluations,
                     "loss": result.loss, **errors.pixel_summary(wrong),
                     "seconds": result.seconds, "compile_seconds": result.compile_seconds})
        histories[method] = result.history
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "optimizers.json"), "w") as f:
        json.dump({"initial_loss": float(problem.loss(problem.theta0)),
                   "num_params": int(problem.theta0.size), "rows": rows,
                   "histories": histories}, f, indent=1)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for method, h in histories.items():
        if h:
            ax.plot(np.arange(1, len(h) + 1), h, label=method)
    ax.set(xscale="log", xlabel="iteration", ylabel="full-batch BCE per pixel",
           title=f"optimizers on the font AE ({problem.theta0.size} parameters)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    viz.save(fig, os.path.join(workdir, "optimizers.png"))
    table = _table(rows)
    with open(os.path.join(workdir, "optimizers.md"), "w") as f:
        f.write(table)
    return table


def _table(rows: list[dict]) -> str:
    head = ["method", "iterations", "loss evaluations", "final loss (BCE)", "max wrong px",
            "mean wrong px", "wall s", "compile s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in sorted(rows, key=lambda r: r["loss"]):
        lines.append("| " + " | ".join([
            r["method"], str(r["iterations"]),
            "-" if r["evaluations"] is None else str(r["evaluations"]), f"{r['loss']:.4f}",
            f"{r['max_wrong_pixels']:.0f}", f"{r['mean_wrong_pixels']:.2f}",
            f"{r['seconds']:.2f}", f"{r['compile_seconds']:.2f}"]) + " |")
    return "\n".join(lines) + "\n"
