"""The two vector-quantisation terms of VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017,
"Neural Discrete Representation Learning"; the model is ae_jax/models/vq.py):

    L = -log p(x | z_q) + ||sg(z_e) - z_q||^2 + beta ||z_e - sg(z_q)||^2

    vq_codebook     ||sg(z_e) - z_q||^2   moves the codebook vectors towards the encoder
                    outputs assigned to them (weight 1; a "gradient" codebook only: with
                    codebook_update="ema" the codebook follows the EMA and the term is left
                    out of loss.terms)
    vq_commitment   ||z_e - sg(z_q)||^2   keeps the encoder committed to its codes (weight
                    beta, the paper's 0.25)

z_e = aux["z_e"] and z_q = aux["z_q"] (the codebook vectors, not the straight-through value)
are (B, h, w, D). Each term is reduced over the h*w*D values of one example by the loss's
own `loss.reduction`, the reduction of the reconstruction term: "sum" (a BCE in nats per
image beside squared distances summed over positions and dimensions) or "mean" (a BCE per
pixel beside the mean squared distance per dimension, as Sonnet's VQ-VAE example).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ae_jax.objectives.reconstruction import reduce_per_example
from ae_jax.objectives.terms import TERMS, PerExample, TermInputs


def _codes(t: TermInputs, term: str) -> tuple[jax.Array, jax.Array]:
    missing = [k for k in ("z_e", "z_q") if k not in t.aux]
    if missing:
        raise ValueError(f"loss term {term} needs a VQ-VAE (aux {missing} missing)")
    return t.aux["z_e"].astype(jnp.float32), t.aux["z_q"].astype(jnp.float32)


def _reduce(t: TermInputs, squares: jax.Array) -> PerExample:
    """(B, h, w, D) -> (B,) by loss.reduction (mean or sum over one example's values)."""
    flat = squares.reshape((squares.shape[0], -1))  # (B, h, w, D) -> (B, h*w*D)
    return reduce_per_example(flat, t.config.reduction)


@TERMS.register("vq_commitment")
def vq_commitment(t: TermInputs) -> PerExample:
    """||z_e - sg(z_q)||^2 per example (the commitment loss; gradient to the encoder only)."""
    z_e, z_q = _codes(t, "vq_commitment")
    return _reduce(t, jnp.square(z_e - jax.lax.stop_gradient(z_q)))


@TERMS.register("vq_codebook")
def vq_codebook(t: TermInputs) -> PerExample:
    """||sg(z_e) - z_q||^2 per example (the codebook loss; gradient to the codebook only)."""
    z_e, z_q = _codes(t, "vq_codebook")
    return _reduce(t, jnp.square(jax.lax.stop_gradient(z_e) - z_q))
