"""Flat on-device rows back to examples, as every family's step sees them."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ae_jax.data import to_float


def split_labels(batch: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(rows (B, D), labels int32 (B,)) of a batch whose last column is the class label.

    The engine appends the label column for families whose model is CONDITIONAL
    (ae_jax/engine/workdir.py place_data): one gather fetches both."""
    return batch[:, :-1], batch[:, -1].astype(jnp.int32)  # (B, D + 1) -> (B, D), (B,)


def unflatten(batch: jax.Array, example_shape) -> jax.Array:
    """Float examples of shape (B, *example_shape) from a flat (B, D) batch.

    Datasets live on the device flattened to (N, D): on XLA:CPU, gathering rows of an
    (N, 28, 28, 1) array and flattening them for a dense layer made the dense AE's epoch 4x
    slower than gathering rows of (N, 784); the reshape of a gathered flat batch is free.
    """
    return to_float(batch).reshape((batch.shape[0], *example_shape))  # (B, D) -> (B, H, W, C)
