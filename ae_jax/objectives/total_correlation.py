"""beta-TCVAE (Chen et al., "Isolating Sources of Disentanglement in VAEs", NeurIPS 2018).

The KL term of the ELBO, averaged over the data, splits into three parts,

    E_x KL(q(z|x) || p(z)) = I_q(x; z) + TC(z) + sum_d KL(q(z_d) || p(z_d)),
    TC(z) = KL(q(z) || prod_d q(z_d)),   q(z) = E_x q(z | x)  (the aggregate posterior),

and beta-TCVAE weights the total correlation alone: with the config

    loss.terms = dict(kl=1.0, total_correlation=beta - 1)

the loss is reconstruction + I + beta * TC + sum_d KL(q(z_d) || p(z_d)) (alpha = gamma = 1
in the paper's notation).

TC is estimated on each batch of M examples, with the batch as a sample of the data:

    log q(z_i)    ~= logsumexp_j log q(z_i | x_j)    - log M
    log q(z_i,d)  ~= logsumexp_j log q(z_i,d | x_j)  - log M
    TC_i = log q(z_i) - sum_d log q(z_i,d),      z_i ~ q(z | x_i) (aux["z"])

This is the paper's minibatch estimator: consistent as M grows and biased at small M (the
j = i term). The paper's minibatch-weighted sampling (MWS) replaces log M by log(N M), with
N the dataset size: its value differs from this one by the constant (L - 1) log N and its
gradient is the same. Padding (the evaluation mask) is left out of every sum over j.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ae_jax.distributions import LOG_2PI
from ae_jax.objectives.terms import TERMS, PerExample, TermInputs


def pairwise_log_density(z, mean, logvar) -> jax.Array:
    """log N(z_i,d; mean_j,d, exp(logvar_j,d)) for every pair (i, j): (B, L) x 3 ->
    (B_i, B_j, L)."""
    diff = z[:, None, :] - mean[None, :, :]  # (B, 1, L) - (1, B, L) -> (B, B, L)
    return -0.5 * (LOG_2PI + logvar[None] + jnp.square(diff) * jnp.exp(-logvar[None]))


def total_correlation_estimate(z, mean, logvar, mask) -> PerExample:
    """TC_i of the module docstring for each example i, (B,); `mask` (B,) is 1 for the
    examples that form the batch's sample of q(z)."""
    log_q = pairwise_log_density(z, mean, logvar)  # (B, B, L)
    log_w = jnp.where(mask > 0, 0.0, -jnp.inf)  # (B,): padding left out of the sums over j
    log_m = jnp.log(jnp.sum(mask))
    joint = jax.nn.logsumexp(jnp.sum(log_q, axis=-1) + log_w[None], axis=1) - log_m  # (B,)
    marginals = jax.nn.logsumexp(log_q + log_w[None, :, None], axis=1) - log_m  # (B, L)
    return joint - jnp.sum(marginals, axis=-1)


@TERMS.register("total_correlation")
def total_correlation(t: TermInputs) -> PerExample:
    """TC(z) of the aggregate posterior, estimated on the batch (module docstring), per
    example; needs a VAE's aux "z", "mean", "logvar" (nats)."""
    missing = [k for k in ("z", "mean", "logvar") if k not in t.aux]
    if missing:
        raise ValueError(f"loss term total_correlation needs a VAE (aux {missing} missing)")
    aux = t.aux
    return total_correlation_estimate(aux["z"].astype(jnp.float32), aux["mean"],
                                      aux["logvar"], t.real())
