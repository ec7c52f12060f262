"""The trainer's figures in <workdir>/plots, from what the family declares it can do:
curves of the metrics (`family.curve_groups`), test reconstructions (RECONSTRUCT) and
samples from fixed codes (SAMPLE: `samples_epoch_<epoch>.png` each time, `samples.png` at
the end). Process 0 plots alone, from a host copy of the state."""

from __future__ import annotations

import os

import jax
import numpy as np

from ae_jax import rng, viz
from ae_jax.data import Dataset, to_float
from ae_jax.families.base import RECONSTRUCT, SAMPLE
from ae_jax.metric_writers import read_metrics
from ae_jax.state import run_slice


def _example_rows(family, runs: list, x, key) -> dict:
    """The reconstruction figure's rows: inputs (and corrupted inputs), then each run's
    reconstructions (one row per vmapped run)."""
    rows = {k: np.asarray(v) for k, v in family.example_rows(runs[0], x, key).items()}
    if len(runs) == 1:
        return rows
    first = rows.pop("reconstruction")
    rows["run 0"] = first
    for r, state in enumerate(runs[1:], start=1):
        rows[f"run {r}"] = np.asarray(family.example_rows(state, x, key)["reconstruction"])
    return rows


def write_plots(workdir: str, family, state, dataset: Dataset, config, epoch: int,
                final: bool) -> None:
    if jax.process_index() != 0:
        return
    state = jax.device_get(state)
    runs = [run_slice(state, r) for r in range(len(state.step))] if np.ndim(state.step) else [
        state]
    state = runs[0]  # the sample grid shows the first run
    plots = os.path.join(workdir, "plots")
    records = read_metrics(workdir)
    if records:
        terms = (config.loss.reconstruction, *config.loss.terms.keys())
        unit = "per pixel" if config.loss.reduction == "mean" else "per example"
        for filename, keys in family.curve_groups.items():
            viz.save(viz.loss_curves(records, (*keys, *terms), unit,
                                     f"{dataset.name}: {os.path.basename(workdir)}"),
                     os.path.join(plots, filename))
    key = rng.stream(state.key, "eval")
    abilities = family.abilities()
    if config.num_plot_images > 0 and RECONSTRUCT in abilities:
        x = to_float(dataset.test[:config.num_plot_images])
        viz.save(viz.reconstructions(_example_rows(family, runs, x, key),
                                     f"{dataset.name}: test examples"),
                 os.path.join(plots, "reconstructions.png"))
    if config.num_sample_images > 0 and SAMPLE in abilities:
        z = family.sample_codes(state, key, config.num_sample_images)
        images = np.asarray(family.decode(state, z))
        title = f"{dataset.name}: samples from fixed z, epoch {epoch}"
        names = [f"samples_epoch_{epoch:03d}.png"] + (["samples.png"] if final else [])
        for name in names:
            viz.save(viz.sample_grid(images, title), os.path.join(plots, name))
