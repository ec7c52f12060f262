"""Contractive autoencoders (Rifai et al. 2011): penalise the encoder's Jacobian.

    loss(x) = L(x, x_hat) + lambda * ||J_f(x)||_F^2,   J_f(x) = d code / d x

For any encoder, the Jacobian is computed by automatic differentiation through the model's
own `encode` method (`t.apply("encode", inputs)`, see `ae_jax.objectives.TermInputs`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from ae_jax.objectives.terms import TERMS, PerExample, TermInputs


def _map(fn, xs, chunk: int):
    """`vmap` over the leading axis, in chunks of `chunk` rows when there are more (memory)."""
    if xs.shape[0] <= chunk:
        return jax.vmap(fn)(xs)
    return jax.lax.map(fn, xs, batch_size=chunk)


def jacobian_sq_norm(encode: Callable, x: jax.Array, chunk: int = 64) -> PerExample:
    """Per-example ||d encode(x)_b / d x_b||_F^2, shape (B,).

    `encode` maps a batch (B, ...) to codes (B, ...) and must treat examples independently
    (no batch statistics), so the Jacobian of the batched map is block-diagonal: pushing one
    unit vector per example through it gives one row (vjp) or column (jvp) of every
    example's Jacobian at once. With K code units and D input values per example this takes
    K vector-Jacobian products when K <= D (reverse mode) and D Jacobian-vector products
    otherwise (forward mode), each over the whole batch: the cost of `jax.jacrev` /
    `jax.jacfwd` per example, without materialising the (B, K, B, D) Jacobian of the batch.
    """
    b = x.shape[0]
    code, vjp_fn = jax.vjp(encode, x)
    k, d = code.size // b, x.size // b

    def sq_per_example(v):
        return jnp.sum(jnp.square(v.reshape((b, -1)).astype(jnp.float32)), axis=1)  # -> (B,)

    if k <= d:
        units = jnp.eye(k, dtype=code.dtype).reshape((k, 1, *code.shape[1:]))  # (K, 1, ...)

        def row(e):  # row k of every example's Jacobian: (B, *input_shape)
            (g,) = vjp_fn(jnp.broadcast_to(e, code.shape))
            return sq_per_example(g)

        return jnp.sum(_map(row, units, chunk), axis=0)  # (K, B) -> (B,)

    _, jvp_fn = jax.linearize(encode, x)
    units = jnp.eye(d, dtype=x.dtype).reshape((d, 1, *x.shape[1:]))  # (D, 1, ...)

    def column(e):  # column d of every example's Jacobian: (B, *code_shape)
        return sq_per_example(jvp_fn(jnp.broadcast_to(e, x.shape)))

    return jnp.sum(_map(column, units, chunk), axis=0)  # (D, B) -> (B,)


@TERMS.register("contractive")
def contractive(t: TermInputs) -> PerExample:
    """Contractive penalty ||d code / d x||_F^2 = sum_{k, i} (d code_k / d x_i)^2, per example.

    The derivative is taken at the inputs the model saw (`t.inputs`, the corrupted ones
    in a denoising run; x otherwise). For one sigmoid layer h = s(x W + b) it equals the
    closed form sum_j (h_j (1 - h_j))^2 sum_i W_ij^2 (checked in the tests). The gradient of
    the penalty with respect to the parameters differentiates through the Jacobian
    (second order), which JAX does by composition.
    """
    return jacobian_sq_norm(lambda v: t.apply("encode", v), t.inputs)
