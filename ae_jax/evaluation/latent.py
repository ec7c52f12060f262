"""Latent-space tools and their tasks: `latent_map`, `generate`, `interpolate`, `arithmetic`.

Codes are the encoder's output (`encode`; the posterior mean for a VAE); images are
output_activation(decode(z)). The library functions take arrays and return arrays; the tasks
wrap them around a trained run and save figures from `ae_jax.viz_latent`.
"""

from __future__ import annotations

import os

import jax
import numpy as np
from scipy.stats import norm

from ae_jax import viz, viz_latent
from ae_jax.data import to_float
from ae_jax.evaluation import task
from ae_jax.evaluation.options import Option
from ae_jax.evaluation.samplers import SAMPLER, fit_sampler

SEED_003_POINTS = ((2.5, -2.0), (2.5, 1.0), (1.0, 2.0), (-2.5, -4.0))


def grid_values(n: int, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    """norm.ppf(linspace(low, high, n)): n values equally spaced in prior probability
    (n = 5: -1.6449, -0.59776, 0, 0.59776, 1.6449, as seed 003)."""
    values = norm.ppf(np.linspace(low, high, n))
    values[np.abs(values) < 1e-9] = 0.0  # ppf(0.5) comes out as -1.4e-16
    return values


def latent_grid(n: int, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    """(n*n, 2) points of the 2-D grid, row-major as drawn: rows from the largest z_2 at the
    top to the smallest, columns from the smallest z_1 to the largest."""
    v = grid_values(n, low, high)
    z1, z2 = np.meshgrid(v, v[::-1])  # each (n, n): [row, col]
    return np.stack([z1.ravel(), z2.ravel()], axis=1).astype(np.float32)


def interpolate_codes(z0, z1, num_steps: int, mode: str = "linear") -> np.ndarray:
    """(num_steps, L) codes from z0 to z1 (both ends included).

    linear:    (1 - t) z0 + t z1
    spherical: sin((1 - t) w) / sin w * z0 + sin(t w) / sin w * z1, w the angle between z0
               and z1 (slerp; stays at the norms typical of a Gaussian prior). Falls back to
               linear when z0 and z1 are (anti)parallel.
    """
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    t = np.linspace(0.0, 1.0, num_steps)[:, None]
    if mode == "linear":
        return ((1 - t) * z0 + t * z1).astype(np.float32)
    if mode != "spherical":
        raise ValueError(f"unknown interpolation {mode!r}: use 'linear' or 'spherical'")
    cos = np.dot(z0, z1) / max(np.linalg.norm(z0) * np.linalg.norm(z1), 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return interpolate_codes(z0, z1, num_steps, "linear")
    out = (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)
    return out.astype(np.float32)


def attribute_vector(codes, labels, with_label: int, without_label: int | None = None):
    """mean(code | label = with_label) - mean(code | label = without_label), or minus the
    mean of every other example when without_label is None. Shape (L,)."""
    codes, labels = np.asarray(codes), np.asarray(labels)
    has = labels == with_label
    lacks = ~has if without_label is None else labels == without_label
    if not has.any() or not lacks.any():
        raise ValueError(f"attribute vector needs examples with label {with_label} and "
                         f"{'without it' if without_label is None else f'with {without_label}'}")
    return codes[has].mean(0) - codes[lacks].mean(0)


def project_2d(codes) -> tuple[np.ndarray, str]:
    """Codes as (N, 2): themselves for a 2-D latent, else their first two principal
    components. Returns the points and an axis description."""
    codes = np.asarray(codes, np.float64).reshape(len(codes), -1)  # (N, ...) -> (N, L)
    if codes.shape[1] == 2:
        return codes, "z"
    centred = codes - codes.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T, "principal component"


def decode_images(run, z) -> np.ndarray:
    """output_activation(decode(z)) for host codes z (N, L): images (N, H, W, C)."""
    return run.decode(np.asarray(z, np.float32))


def _latent_dim(run) -> int:
    return int(np.prod(run.code_shape()))


@task("latent_map", Option("num_examples", 0, "the first N test examples (0: all)"))
def latent_map(run, out_dir: str, options: dict) -> dict:
    """Test codes scattered and coloured by label (the first two principal components)."""
    n = options["num_examples"] or len(run.dataset.test)
    codes = run.encode(run.dataset.test[:n])
    points, axis = project_2d(codes)
    labels = None if run.dataset.test_labels is None else run.dataset.test_labels[:n]
    fig = viz_latent.latent_scatter(points, labels, run.dataset.class_names, axis,
                                    f"{run.dataset.name}: {n} test codes")
    viz.save(fig, os.path.join(out_dir, "latent_map.png"))
    return {"epoch": run.epoch, "num_examples": n, "latent_dim": int(codes.shape[1]),
            "axes": axis, "code_mean": codes.mean(0).tolist(), "code_std": codes.std(0).tolist()}


@task("generate", SAMPLER,
      Option("num_samples", 25, "samples decoded into the figure"),
      Option("seed", 0, "seed of the sampler's fit and of its draws"),
      Option("n", 5, "2-D latents: the n x n grid at norm.ppf(linspace(0.05, 0.95, n))"),
      Option("points", SEED_003_POINTS, "2-D latents: codes [z1, z2] decoded as well"))
def generate(run, out_dir: str, options: dict) -> dict:
    """Decoded samples of a sampler (the model's prior by default); for a 2-D latent, a grid.

    For a 2-D latent, also the decoded n x n grid at norm.ppf(linspace(0.05, 0.95, n)) and
    the decoded `points`."""
    key = jax.random.PRNGKey(options["seed"])
    fit_key, draw_key = jax.random.split(key)
    name, sampler = fit_sampler(run, options, fit_key)
    latent = _latent_dim(run)
    num = options["num_samples"]
    samples = run.decode(sampler(draw_key, num))
    cols = int(np.ceil(np.sqrt(num)))
    viz.save(viz_latent.image_grid_figure(samples, -(-num // cols), cols,
                                          f"{num} samples, sampler {name!r}"),
             os.path.join(out_dir, f"generate_{name}.png"))
    result = {"epoch": run.epoch, "latent_dim": latent, "sampler": name, "num_samples": num}
    if latent == 2:
        n = options["n"]
        values = grid_values(n)
        viz.save(viz_latent.image_grid_figure(
            decode_images(run, latent_grid(n)), n, n, f"decoded {n}x{n} latent grid",
            col_values=values, row_values=values[::-1]),
            os.path.join(out_dir, "generate_grid.png"))
        points = np.asarray(options["points"], np.float32).reshape(-1, 2)
        labels = [f"[{a:g}, {b:g}]" for a, b in points]
        viz.save(viz_latent.labelled_images(decode_images(run, points), labels,
                                            "decoded latent points"),
                 os.path.join(out_dir, "generate_points.png"))
        result.update(grid_values=values.tolist(), points=points.tolist())
    return result


def _first_of_two_classes(labels) -> tuple[int, int]:
    if labels is None or len(np.unique(labels)) < 2:
        return 0, 1
    first = int(np.flatnonzero(labels == labels[0])[0])
    return first, int(np.flatnonzero(labels != labels[0])[0])


@task("interpolate",
      Option("i", None, "index of the first test example (default: test example 0)",
             kind="int"),
      Option("j", None, "index of the second (default: the first test example of another "
             "class)", kind="int"),
      Option("num_steps", 10, "codes along each path, both ends included"))
def interpolate(run, out_dir: str, options: dict) -> dict:
    """Decoded codes between two test inputs, linear and spherical."""
    i0, j0 = _first_of_two_classes(run.dataset.test_labels)
    i = i0 if options["i"] is None else options["i"]
    j = j0 if options["j"] is None else options["j"]
    steps = options["num_steps"]
    x = run.dataset.test[[i, j]]
    z = run.encode(x)
    rows = {mode: decode_images(run, interpolate_codes(z[0], z[1], steps, mode))
            for mode in ("linear", "spherical")}
    ends = np.full((steps, *x.shape[1:]), 1.0, np.float32)
    ends[0], ends[-1] = to_float(x)
    fig = viz.reconstructions({"inputs": ends, **rows},
                              f"test {i} -> test {j}: decoded interpolations")
    viz.save(fig, os.path.join(out_dir, "interpolate.png"))
    return {"epoch": run.epoch, "i": i, "j": j, "num_steps": steps,
            "code_i": z[0].tolist(), "code_j": z[1].tolist()}


@task("arithmetic",
      Option("from_label", 0, "the class whose test examples are moved, v's start (-1: "
             "test examples of any class, v from the mean code of all other classes)"),
      Option("to_label", 2, "the class they are moved towards (on Fashion-MNIST 0 -> 2: "
             "T-shirt/top -> Pullover, i.e. add long sleeves)"),
      Option("num_examples", 8, "test examples of from_label shown"),
      Option("scales", (0.5, 1.0), "the weights s of the figure's rows code + s v"))
def arithmetic(run, out_dir: str, options: dict) -> dict:
    """Latent arithmetic: test codes of one class plus s times a class-difference vector v.

    v = the mean training code of class to_label minus that of from_label (or of all other
    classes with from_label=-1), added with the weights `scales`."""
    if run.dataset.train_labels is None:
        raise ValueError(f"task arithmetic needs labels; {run.dataset.name} has none")
    src, dst = options["from_label"], options["to_label"]
    num = options["num_examples"]
    scales = [float(s) for s in options["scales"]]
    train_codes = run.encode(run.dataset.train)
    v = attribute_vector(train_codes, run.dataset.train_labels, dst, None if src < 0 else src)
    pool = np.arange(len(run.dataset.test)) if src < 0 else np.flatnonzero(
        run.dataset.test_labels == src)
    x = run.dataset.test[pool[:num]]
    z = run.encode(x)
    names = run.dataset.class_names or tuple(map(str, range(run.dataset.num_classes)))
    rows = {"input": to_float(x), "reconstruction (mean code)": decode_images(run, z)}
    for s in scales:
        rows[f"+ {s:g} v"] = decode_images(run, z + s * v)
    source = "all other classes" if src < 0 else names[src]
    fig = viz.reconstructions(rows, f"code + v, v = mean code({names[dst]}) - "
                                    f"mean code({source})")
    viz.save(fig, os.path.join(out_dir, "arithmetic.png"))
    return {"epoch": run.epoch, "from": source, "to": names[dst], "scales": scales,
            "vector": v.tolist(), "vector_norm": float(np.linalg.norm(v)),
            "test_indices": pool[:num].tolist()}
