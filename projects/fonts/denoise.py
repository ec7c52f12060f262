"""Denoising the fonts: error on noisy copies of every character.

For each noise level p, `copies` noisy copies of every character are drawn once with a fixed
key (bit-flip: each pixel flipped with probability p). For the noisy input x~ and the
denoised output x_hat = D(E(x~)), against the clean character x:

  input wrong pixels     e(x, x~)     (about 35 p per character)
  output wrong pixels    e(x, x_hat)  (max and mean over copies; `projects.fonts.errors`)
  loss                   the training loss L(x, x_hat) of the config (BCE per pixel)

reported per run (the config's num_runs seeds train vmapped) and as mean ± std over runs.
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np

from ae_jax import viz
from ae_jax.corruption import bit_flip
from ae_jax.data import load_dataset, to_float
from ae_jax.models import build_model
from projects.fonts import errors
from projects.fonts.engine_api import make_objective, model_params

NOISE_LEVELS = (0.05, 0.1, 0.2)


def noisy_copies(x: jax.Array, probability: float, copies: int, seed: int = 1234):
    """(copies * N, ...) bit-flipped copies of x (N, ...) and the matching clean targets."""
    clean = jnp.concatenate([x] * copies)  # (N, H, W, C) -> (copies * N, H, W, C)
    return bit_flip(jax.random.PRNGKey(seed), clean, probability), clean


def evaluate(state, config, workdir: str, copies: int = 4, levels=NOISE_LEVELS) -> str:
    """Error of every run on `copies` noisy copies per character at each noise level;
    writes `denoise.json`, `denoise.md` and a figure; returns the markdown table."""
    ds = load_dataset(config.data)
    model = build_model(config.model, ds.example_shape)
    objective = make_objective(config.loss, model.output_activation)
    reconstruct, _, losses, _ = errors.make_run_functions(model, objective)
    x = to_float(jnp.asarray(ds.test))
    params = model_params(state)
    rows = []
    for p in levels:
        noisy, clean = noisy_copies(x, p, copies)
        x_hat = np.asarray(reconstruct(params, noisy))  # (R, copies * N, H, W, C)
        bce = np.asarray(losses(params, state.loss_weights, noisy, clean))  # (R, M)
        out_err = errors.wrong_pixels(np.asarray(clean), x_hat)  # (R, copies * N)
        in_err = errors.wrong_pixels(np.asarray(clean), np.asarray(noisy))
        row = {"p": p, "copies": copies, "examples": int(len(noisy)),
               "input_mean_wrong_pixels": float(in_err.mean()),
               "loss_per_run": bce.mean(1).tolist(),
               "mean_wrong_pixels_per_run": out_err.mean(1).tolist(),
               "max_wrong_pixels_per_run": out_err.max(1).astype(float).tolist(),
               "frac_at_most_one_wrong_per_run": (out_err <= 1).mean(1).tolist()}
        rows.append(row)
        if p == config.corruption.get("probability", 0.1):
            n = min(16, len(x))
            viz.save(viz.reconstructions({"clean": np.asarray(clean[:n]),
                                          f"bit flip p={p}": np.asarray(noisy[:n]),
                                          "denoised": x_hat[0, :n]},
                                         "denoising autoencoder, first run"),
                     os.path.join(workdir, "denoise_examples.png"))
    with open(os.path.join(workdir, "denoise.json"), "w") as f:
        json.dump(rows, f, indent=1)
    head = ["noise p", "noisy copies", "input wrong px (mean)", "output loss (BCE)",
            "output wrong px mean", "output wrong px max", "copies with <= 1 wrong px"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ms = lambda v: f"{np.mean(v):.3f} ± {np.std(v):.3f}"  # noqa: E731
    for r in rows:
        lines.append("| " + " | ".join([
            str(r["p"]), f"{r['copies']} x {r['examples'] // r['copies']}",
            f"{r['input_mean_wrong_pixels']:.2f}", ms(r["loss_per_run"]),
            ms(r["mean_wrong_pixels_per_run"]), ms(r["max_wrong_pixels_per_run"]),
            ms(r["frac_at_most_one_wrong_per_run"])]) + " |")
    table = "\n".join(lines) + "\n"
    with open(os.path.join(workdir, "denoise.md"), "w") as f:
        f.write(table)
    return table
