"""Regularised deterministic autoencoders, RAEs (Ghosh, Sajjadi, Vergari, Black and
Schoelkopf, 2020, "From Variational to Deterministic Autoencoders", ICLR 2020).

A Gaussian VAE's sampling z = mu + sigma * eps only injects noise into the decoder's input;
an RAE drops the noise and the KL, and regularises the code and the decoder explicitly:

    L_RAE(x) = ||x - D(E(x))||^2 + beta * 1/2 ||z||^2 + lambda * L_REG,    z = E(x)

    RAE-L2   L_REG = ||theta_D||^2            the decoder's weight decay (its kernels)
    RAE-GP   L_REG = ||grad_z D(z)||_F^2      the decoder's Jacobian at the code

Terms: `code_l2` (1/2 ||z||^2), `decoder_l2_weights`, `decoder_gradient_penalty`; e.g.
`loss.terms = dict(code_l2=beta, decoder_l2_weights=lambda)`. Samples come from a density
fitted to the training codes after training (ex-post density estimation: the "gmm" sampler,
ae_jax/evaluation/samplers/basic.py), not from a prior.

The decoder is D = `decode`, the model's logits: the Jacobian of the logits, not of
output_activation(logits) (a term does not see the output activation). With a sigmoid
output, J_image = diag(s (1 - s)) J_logits, so the penalty bounds the image's
||J||_F^2 from above, by a factor of 16 or more.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ae_jax.objectives.contractive import jacobian_sq_norm
from ae_jax.objectives.terms import TERMS, PerExample, TermInputs

DECODER = "decoder"  # the sub-tree of the decoder's parameters (mlp, conv, vae_*, tied)


def _code(t: TermInputs) -> jax.Array:
    """aux["code"] as (B, K) float32 rows."""
    code = t.aux["code"]
    return code.reshape((code.shape[0], -1)).astype(jnp.float32)  # (B, ...) -> (B, K)


@TERMS.register("code_l2")
def code_l2(t: TermInputs) -> PerExample:
    """1/2 ||z||^2 = 1/2 sum_k z_k^2 of the code z = aux["code"], per example (RAE's L_Z)."""
    return 0.5 * jnp.sum(jnp.square(_code(t)), axis=1)


def decoder_kernels(params) -> list[jax.Array]:
    """Every `kernel` under params["decoder"] (biases and the encoder's kernels excluded)."""
    if DECODER not in params:
        raise ValueError("loss term decoder_l2_weights needs a model whose parameters have a "
                         f"{DECODER!r} sub-tree (got {sorted(params)})")
    leaves = jax.tree_util.tree_leaves_with_path(params[DECODER])
    return [leaf for path, leaf in leaves if getattr(path[-1], "key", None) == "kernel"]


@TERMS.register("decoder_l2_weights")
def decoder_l2_weights(t: TermInputs) -> PerExample:
    """RAE-L2's L_REG = sum over the decoder's kernels of ||W||_F^2 (biases and the encoder
    excluded; a tied decoder's kernels are the encoder's and count for nothing here). One
    value per batch, broadcast to (B,) like `l2_weights`."""
    total = sum(jnp.sum(jnp.square(w)) for w in decoder_kernels(t.params))
    return jnp.full((t.batch_size,), total, dtype=jnp.float32)


@TERMS.register("decoder_gradient_penalty")
def decoder_gradient_penalty(t: TermInputs) -> PerExample:
    """RAE-GP's L_REG = ||d D(z) / d z||_F^2 = sum_{i, k} (d logits_i / d z_k)^2 at the code
    z = aux["code"], per example.

    Exact, by `jacobian_sq_norm` (ae_jax/objectives/contractive.py) through the model's
    `decode`: with K code units and D outputs it pushes min(K, D) unit vectors through the
    batched decoder (K Jacobian-vector products for a code smaller than the image, e.g. 16
    for 784 pixels: about K decoder passes, and their second-order gradient, per step). The
    decoder must treat examples independently (no batch statistics). The gradient reaches
    the encoder through z as well as the decoder, as the loss is written.
    """
    code = t.aux["code"].astype(jnp.float32)
    return jacobian_sq_norm(lambda z: t.apply("decode", z), code)
