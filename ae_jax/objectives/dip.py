"""DIP-VAE (Kumar, Sattigeri and Balakrishnan, 2018, "Variational Inference of Disentangled
Latent Concepts from Unlabeled Observations", ICLR 2018).

DIP-VAE adds to the ELBO a penalty that moves the covariance of the aggregate posterior
q(z) = E_x q(z | x) towards the identity (the covariance of the prior N(0, I)):

    DIP-I    C = Cov_x[mu(x)]                                 (eq. 6 of the paper)
    DIP-II   C = E_x[diag(exp(logvar(x)))] + Cov_x[mu(x)]     (eq. 7: Cov_q(z), exactly)

    penalty = lambda_od * sum_{i != j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2

with the expectations taken over the batch (the real examples only: evaluation padding is
left out) and Cov the biased (1/M) batch covariance E[mu mu^T] - E[mu] E[mu]^T, as in the
paper and in disentanglement_lib.

Parametrisation: the term's value is

    dip(C) = sum_{i != j} C_ij^2 + r * sum_i (C_ii - 1)^2,     r = loss.dip_diagonal_ratio

and its weight in `loss.terms` is lambda_od, so that the weight multiplies both parts:
lambda_d = weight * r. This is the paper's own parametrisation (its Figure 1 varies lambda_od
"with lambda_d set to 10 lambda_od" for DIP-VAE-I; DIP-VAE-II uses lambda_d = lambda_od,
r = 1) and keeps lambda_od a state weight that `num_runs` can sweep per run. E.g. DIP-VAE-I
with lambda_od = 10, lambda_d = 100:

    loss.terms = dict(kl=1.0, dip_i=10.0), loss.dip_diagonal_ratio = 10.0

The penalty is one number per batch; like `l2_weights` it is broadcast to (B,), so the batch
mean of the loss adds exactly weight * dip(C) once per batch, beside the mean negative ELBO.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ae_jax.objectives.terms import TERMS, PerExample, TermInputs


def batch_moments(values, mask) -> tuple[jax.Array, jax.Array]:
    """(mean (L,), biased covariance (L, L)) of the rows of `values` (B, L) whose `mask` (B,)
    is 1: E[v] and E[(v - E v)(v - E v)^T] over those rows."""
    w = mask / jnp.sum(mask)  # (B,): weights of the real rows, summing to 1
    mean = jnp.sum(w[:, None] * values, axis=0)  # (L,)
    centred = values - mean  # (B, L)
    return mean, jnp.einsum("b,bi,bj->ij", w, centred, centred)


def dip_penalty(cov, diagonal_ratio) -> jax.Array:
    """sum_{i != j} C_ij^2 + r * sum_i (C_ii - 1)^2 of a covariance C (L, L), a scalar."""
    diag = jnp.diagonal(cov)
    off_diagonal = jnp.sum(jnp.square(cov)) - jnp.sum(jnp.square(diag))
    return off_diagonal + diagonal_ratio * jnp.sum(jnp.square(diag - 1.0))


def _posterior(t: TermInputs, name: str, keys: tuple[str, ...]):
    missing = [k for k in keys if k not in t.aux]
    if missing:
        raise ValueError(f"loss term {name} needs a VAE (aux {missing} missing)")
    return tuple(t.aux[k].astype(jnp.float32) for k in keys)


def _broadcast(t: TermInputs, value) -> PerExample:
    return jnp.full((t.batch_size,), value, dtype=jnp.float32)


@TERMS.register("dip_i")
def dip_i(t: TermInputs) -> PerExample:
    """DIP-VAE-I: sum_{i != j} C_ij^2 + r sum_i (C_ii - 1)^2 with C = Cov_batch[mu(x)]
    (aux["mean"]) and r = loss.dip_diagonal_ratio; the term's weight is lambda_od (module
    docstring). Batch-level, broadcast to (B,)."""
    (mean,) = _posterior(t, "dip_i", ("mean",))
    _, cov = batch_moments(mean, t.real())
    return _broadcast(t, dip_penalty(cov, t.config.dip_diagonal_ratio))


@TERMS.register("dip_ii")
def dip_ii(t: TermInputs) -> PerExample:
    """DIP-VAE-II: the same penalty with C = E_batch[diag(exp(logvar(x)))] + Cov_batch[mu(x)],
    the covariance of the batch's aggregate posterior (aux["mean"], aux["logvar"]); the
    paper sets r = loss.dip_diagonal_ratio = 1. Batch-level, broadcast to (B,)."""
    mean, logvar = _posterior(t, "dip_ii", ("mean", "logvar"))
    mask = t.real()
    _, cov = batch_moments(mean, mask)
    mean_var, _ = batch_moments(jnp.exp(logvar), mask)  # (L,): E_batch[exp(logvar)]
    return _broadcast(t, dip_penalty(cov + jnp.diag(mean_var), t.config.dip_diagonal_ratio))
