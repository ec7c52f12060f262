"""Value checks of a config before anything is built or written: one line per problem,
naming the field and what it accepts."""

from __future__ import annotations

import numpy as np

# (dotted field, lowest allowed value, what it is): integers that must be >= the bound
_AT_LEAST = (
    ("batch_size", 1, "examples per training step"),
    ("eval_batch_size", 1, "examples per evaluation call"),
    ("num_epochs", 0, "passes over the training split"),
    ("num_runs", 1, "vmapped runs"),
    ("checkpoint_every_epochs", 1, "epochs between checkpoints"),
    ("keep_checkpoints", 1, "checkpoints kept (0 would delete every one)"),
    ("steps_per_call", 1, "steps per compiled call"),
    ("scan_unroll", 1, "steps per iteration of the scanned epoch"),
    ("stream_batches", 1, "batches per host-to-device transfer"),
    ("plot_every_epochs", 0, "epochs between plots (0: at the end)"),
    ("num_plot_images", 0, "images in the reconstruction plots"),
    ("num_sample_images", 0, "images in the sample grid"),
    ("num_devices", 0, "devices of the mesh (0: all)"),
    ("data.train_limit", 0, "training examples kept (0: all)"),
    ("data.test_limit", 0, "test examples kept (0: all)"),
    ("model.latent_dim", 0, "code units"),
)
_POSITIVE_FLOATS = ("optimizer.learning_rate", "discriminator_optimizer.learning_rate")


def _get(config, dotted: str):
    node = config
    for part in dotted.split("."):
        node = node[part]
    return node


def problems(config) -> list[str]:
    """Every out-of-range value of `config`, as "field=value: why (fix)" lines."""
    out = []
    for field, low, what in _AT_LEAST:
        value = _get(config, field)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            out.append(f"{field}={value!r}: {what}, an integer >= {low}")
    for field in _POSITIVE_FLOATS:
        value = _get(config, field)
        if not isinstance(value, (int, float)) or value <= 0:
            out.append(f"{field}={value!r}: the base learning rate, a number > 0")
    fraction = config.data.test_fraction
    if not 0 <= fraction < 1:
        out.append(f"data.test_fraction={fraction!r}: the held-out share, in [0, 1)")
    if config.model.name != "conv" and config.model.latent_dim == 0:
        out.append(f"model.latent_dim=0: only model.name='conv' keeps its feature map as the "
                   f"code; {config.model.name!r} needs a size >= 1")
    return out


def validate_config(config) -> None:
    """Raise ValueError listing every problem (nothing has been written yet)."""
    found = problems(config)
    if found:
        raise ValueError("invalid config: " + "; ".join(found))


def _range_problem(name: str, split: str, x: np.ndarray, needs_unit_range: bool) -> str | None:
    if x.dtype == np.uint8:
        return None
    if not np.issubdtype(x.dtype, np.floating):
        return (f"dataset {name!r} {split} split has dtype {x.dtype}: give uint8 pixels "
                "(0..255) or floats in [0, 1] (e.g. x.astype('float32') / 255)")
    bad = np.isnan(x).sum()
    if bad:
        return f"dataset {name!r} {split} split holds {bad} NaN values: fill or drop them"
    low, high = float(x.min()), float(x.max())
    if needs_unit_range and (low < 0 or high > 1):
        return (f"dataset {name!r} {split} split ranges over [{low:g}, {high:g}], but a BCE / "
                "Bernoulli loss needs values in [0, 1]: scale the data (0..255 floats: / 255) "
                "or use loss.reconstruction='mse'")
    return None


def validate_data(config, dataset) -> None:
    """Raise ValueError when the data cannot be what the loss assumes: uint8, or floats
    without NaN, in [0, 1] for a Bernoulli likelihood (BCE, the GAN families)."""
    needs_unit = (config.family != "autoencoder" or config.loss.reconstruction == "bce"
                  or config.loss.likelihood == "bernoulli" and "iwae" in config.loss.terms)
    for split, x in (("train", dataset.train), ("test", dataset.test)):
        problem = _range_problem(dataset.name, split, np.asarray(x), needs_unit)
        if problem:
            raise ValueError(problem)
