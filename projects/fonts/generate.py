"""Generating new characters: decode points of the 2-D latent space and see which decoded
bitmaps are new.

A decoded bitmap b (thresholded at 0.5) is *new* when it equals no training character:

    new(b) = min_n d(b, x_n) > 0,   d(b, x) = sum_j [ b_j != x_j ]   (Hamming distance)

Two sets of points: a G x G grid over the box spanned by the training codes (plus a 10 %
margin), and straight lines between the codes of pairs of characters
z(t) = (1 - t) z_a + t z_b, t in [0, 1].
"""

from __future__ import annotations

import json
import os

import jax.numpy as jnp
import numpy as np

from ae_jax import viz
from ae_jax.data import load_dataset, to_float
from ae_jax.data.fonts import render
from ae_jax.models import build_model
from projects.fonts import errors, plots
from projects.fonts.engine_api import make_objective, model_params

PAIRS = (("1:A", "1:B"), ("0:0", "1:O"), ("1:E", "1:F"), ("2:a", "1:A"), ("0:1", "0:7"),
         ("2:o", "0:8"))


def novelty(bitmaps: np.ndarray, training: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(new, distance): for binary (M, D) bitmaps and (N, D) training characters, the
    Hamming distance to the nearest training character and whether it is > 0."""
    d = np.sum(bitmaps[:, None, :] != training[None, :, :], axis=-1)  # (M, N)
    nearest = d.min(1)
    return nearest > 0, nearest


def latent_grid(codes: np.ndarray, size: int, margin: float = 0.1) -> np.ndarray:
    """(size * size, 2) points on a grid over the codes' bounding box, rows from the top."""
    lo, hi = codes.min(0), codes.max(0)
    pad = margin * (hi - lo)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], size)
    ys = np.linspace(hi[1] + pad[1], lo[1] - pad[1], size)
    return np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)  # (size, size, 2) -> (size^2, 2)


def run(state, config, workdir: str, grid_size: int = 12, steps: int = 9,
        pairs=PAIRS) -> dict:
    """Decode the grid and the interpolations of a stacked state's first run; write figures
    and `generate.json`; returns the counts of new characters."""
    ds = load_dataset(config.data)
    model = build_model(config.model, ds.example_shape)
    objective = make_objective(config.loss, model.output_activation)
    _, encode, _, decode = errors.make_run_functions(model, objective)
    x = to_float(ds.train)
    training = (x.reshape(len(x), -1) >= 0.5)  # (N, 7, 5, 1) -> (N, 35)
    params = model_params(state)
    codes = np.asarray(encode(params, jnp.asarray(x)))[0]  # (N, 2) of run 0
    names = [ds.class_names[i] for i in ds.train_labels]

    def decoded(z):  # (M, 2) -> binary (M, 35)
        out = np.asarray(decode(params, jnp.asarray(z, jnp.float32)))[0]
        return out.reshape(len(z), -1) >= 0.5

    grid = latent_grid(codes, grid_size)
    grid_bits = decoded(grid)
    grid_new, grid_dist = novelty(grid_bits, training)
    pairs = [p for p in pairs if p[0] in names and p[1] in names]
    t = np.linspace(0.0, 1.0, steps)[:, None]
    lines = np.concatenate([(1 - t) * codes[names.index(a)] + t * codes[names.index(b)]
                            for a, b in pairs]) if pairs else np.zeros((0, 2))
    line_bits = decoded(lines) if len(lines) else np.zeros((0, 35), bool)
    line_new, line_dist = novelty(line_bits, training)
    recon_ok = int(np.sum(novelty(decoded(codes), training)[1] == 0))

    as_images = lambda b: b.reshape(-1, 7, 5).astype(np.float32)  # noqa: E731  (M, 35) -> (M, 7, 5)
    viz.save(plots.bitmap_grid(as_images(grid_bits), grid_size, grid_size, grid_new,
                               f"decoded {grid_size}x{grid_size} latent grid "
                               f"(red: {int(grid_new.sum())} new characters)"),
             os.path.join(workdir, "generate_grid.png"))
    if pairs:
        viz.save(plots.bitmap_grid(as_images(line_bits), len(pairs), steps, line_new,
                                   "interpolations between two characters (red: new)",
                                   [f"{a} -> {b}" for a, b in pairs]),
                 os.path.join(workdir, "generate_interpolations.png"))
    viz.save(plots.latent_maps({"training codes": codes}, names, ds.extra["train_font"],
                               "latent space of the generating model"),
             os.path.join(workdir, "generate_latent.png"))
    result = {
        "training_chars_reconstructed_exactly": recon_ok, "num_training_chars": len(codes),
        "grid_points": len(grid), "grid_new": int(grid_new.sum()),
        "grid_new_mean_distance": float(grid_dist[grid_new].mean()) if grid_new.any() else 0.0,
        "interpolation_points": len(lines), "interpolation_new": int(line_new.sum()),
        "pairs": [list(p) for p in pairs],
        "new_from_grid": [{"z": [float(v) for v in z], "distance": int(d), "art": render(b)}
                          for z, b, d, n in zip(grid, grid_bits, grid_dist, grid_new,
                                                strict=True) if n],
    }
    with open(os.path.join(workdir, "generate.json"), "w") as f:
        json.dump(result, f, indent=1)
    return {k: v for k, v in result.items() if k != "new_from_grid"}
