"""A model applied to a batch, as the trainer, the evaluations and the loss terms see it.

Kept apart from `ae_jax.training` so that evaluation code can run a model without importing
the trainer.
"""

from __future__ import annotations

import jax

from ae_jax.data import to_float


def unflatten(batch: jax.Array, example_shape) -> jax.Array:
    """Float examples of shape (B, *example_shape) from a flat (B, D) batch.

    Datasets live on the device flattened to (N, D): on XLA:CPU, gathering rows of an
    (N, 28, 28, 1) array and flattening them for a dense layer made the dense AE's epoch 4x
    slower than gathering rows of (N, 784); the reshape of a gathered flat batch is free.
    """
    return to_float(batch).reshape((batch.shape[0], *example_shape))  # (B, D) -> (B, H, W, C)


def forward(apply_fn, params, inputs, rngs):
    """The model's (logits, aux) with what loss terms may need beyond the model's own aux:

      aux["inputs"]          the (possibly corrupted) inputs the model saw, (B, H, W, C)
      aux["apply"](method, *args)  the model's other methods with the same params and rngs,
                             e.g. aux["apply"]("encode", x) for a contractive penalty's
                             Jacobian, or aux["apply"]("decode", z) for k importance samples.
    """
    logits, aux = apply_fn({"params": params}, inputs, rngs=rngs)

    def apply(method, *args):
        return apply_fn({"params": params}, *args, method=method, rngs=rngs)

    return logits, {**aux, "inputs": inputs, "apply": apply}
