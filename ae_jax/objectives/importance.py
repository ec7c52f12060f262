"""The importance-weighted bounds of Rainforth et al. 2018, "Tighter Variational Bounds are
Not Necessarily Better" (Rainforth, Kosiorek, Le, Maddison, Igl, Wood and Teh, ICML 2018).

With log-weights log w = log p(x | z) + log p(z) - log q(z | x) of draws z ~ q(z | x)
(ae_jax/objectives/vae.py, `log_weights`), the K-sample IWAE bound (Burda et al. 2016) is

    IWAE_K = log (1/K sum_k w_k),        ELBO = IWAE_1 <= IWAE_K <= log p(x)  (in expectation).

Rainforth et al. show that as K grows the signal-to-noise ratio of the reparameterised
gradient estimate of IWAE_K falls as O(1/sqrt(K)) for the inference network (phi) while it
rises as O(sqrt(K)) for the generative network (theta), and propose three bounds that trade
the two:

    MIWAE_{M,K} = 1/M sum_m log (1/K sum_k w_{m,k})      M groups of K draws (term `miwae`)
    CIWAE_beta  = beta * ELBO + (1 - beta) * IWAE_K,      ELBO = 1/K sum_k log w_k, the mean
                                                          of the same K log-weights (`ciwae`)
    PIWAE_{M,K}: theta is trained on IWAE_{M*K} and phi on MIWAE_{M,K}, the same M*K draws
                 for both (term `piwae`; its value is -IWAE_{M*K})

For one draw of the M*K weights, ELBO_{M*K} = MIWAE_{M*K,1} <= MIWAE_{M,K} <= MIWAE_{1,M*K} =
IWAE_{M*K} (Jensen's inequality within each group, and across groups), and CIWAE_beta lies
between the ELBO and IWAE_K for beta in [0, 1].

Each term returns the per-example NEGATIVE bound (nats), so minimising the loss maximises the
bound. They are whole likelihoods: train them with `loss.reconstruction="none"`, like `iwae`.
Options: K = loss.iwae_samples (draws per group), M = loss.iwae_groups, beta =
loss.ciwae_beta. The pure bounds of fixed log-weights (`miwae_bound`, `ciwae_bound`,
`piwae_loss`) are separate functions, testable alone.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from ae_jax.objectives.terms import TERMS, PerExample, TermInputs
from ae_jax.objectives.vae import (
    decoded_draws,
    importance_log_weights,
    iwae_bound,
    log_weights,
    output_logvar_of,
)


def miwae_bound(log_w, m: int) -> jax.Array:
    """MIWAE_{M,K} = 1/M sum_m [logsumexp_k log w_{m,k} - log K] of M*K log-weights:
    (M*K, B) -> (B,), draw m*K + k being w_{m,k}. M = 1 is IWAE_{M*K}; M = M*K the ELBO."""
    mk, b = log_w.shape
    if m < 1 or mk % m:
        raise ValueError(f"MIWAE needs M*K draws in M = {m} equal groups; got {mk} draws")
    groups = log_w.reshape((m, mk // m, b))  # (M*K, B) -> (M, K, B)
    return jnp.mean(jax.vmap(iwae_bound)(groups), axis=0)  # (M, B) -> (B,)


def ciwae_bound(log_w, beta: float) -> jax.Array:
    """CIWAE_beta = beta * (1/K sum_k log w_k) + (1 - beta) * IWAE_K over the leading (sample)
    axis: (K, B) -> (B,). beta = 1 is the ELBO, beta = 0 IWAE_K."""
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"CIWAE needs beta in [0, 1]; got {beta}")
    return beta * jnp.mean(log_w, axis=0) + (1.0 - beta) * iwae_bound(log_w)


def piwae_loss(log_w_theta, log_w_phi, m: int) -> jax.Array:
    """a + b - stop_gradient(b), (M*K, B) x 2 -> (B,), with a = -IWAE_{M*K}(log_w_theta) and
    b = -MIWAE_{M,K}(log_w_phi): the value is a's (-IWAE_{M*K}), the gradient is a's plus b's.

    `log_w_theta` are log-weights through which only the decoder (theta) gets gradient and
    `log_w_phi` those through which only the encoder (phi) does (`piwae`); with equal values
    d/d log_w_theta = -softmax(log_w_theta) over the M*K draws and d/d log_w_phi_{m,k} =
    -(1/M) softmax_k(log_w_phi_m)_k within each group.
    """
    a = -iwae_bound(log_w_theta)
    b = -miwae_bound(log_w_phi, m)
    return a + b - jax.lax.stop_gradient(b)


def draws_log_weights(t: TermInputs, z, log_q, frozen: bool) -> jax.Array:
    """log w (K, B) of given draws z (K, B, L) with their log q(z | x) (K, B), decoded with
    the term's model; `frozen`: the decode, log p(z) and a learned output variance get no
    gradient to the model's variables (z still carries its gradient)."""
    likelihood = t.config.likelihood
    model = t
    if frozen:  # every `apply` of this term inputs freezes the variables
        model = dataclasses.replace(t, apply=functools.partial(t.apply, frozen=True))
    out = decoded_draws(model, z, likelihood)  # (K, B, D)
    output_logvar = output_logvar_of(t.aux, t.config)
    if frozen:
        output_logvar = jax.lax.stop_gradient(output_logvar)
    return importance_log_weights(t.x.reshape((t.batch_size, -1)), out, log_q,
                                  model.apply("log_prior", z), likelihood, output_logvar)


def _groups(t: TermInputs) -> tuple[int, int]:
    """(M, K) = (loss.iwae_groups, loss.iwae_samples)."""
    return int(t.config.iwae_groups), int(t.config.iwae_samples)


@TERMS.register("miwae")
def miwae(t: TermInputs) -> PerExample:
    """-MIWAE_{M,K}(x) = -1/M sum_m log (1/K sum_k w_{m,k}): M = loss.iwae_groups groups of
    K = loss.iwae_samples draws z ~ q(z | x), all M*K from one `log_weights` call (nats).
    Replaces reconstruction + KL (reconstruction="none")."""
    m, k = _groups(t)
    return -miwae_bound(log_weights(t, m * k), m)


@TERMS.register("ciwae")
def ciwae(t: TermInputs) -> PerExample:
    """-CIWAE_beta(x) = -[beta * 1/K sum_k log w_k + (1 - beta) * log (1/K sum_k w_k)] with
    beta = loss.ciwae_beta and the same K = loss.iwae_samples draws in both parts (nats).
    Replaces reconstruction + KL (reconstruction="none")."""
    return -ciwae_bound(log_weights(t, int(t.config.iwae_samples)),
                        float(t.config.ciwae_beta))


@TERMS.register("piwae")
def piwae(t: TermInputs) -> PerExample:
    """PIWAE_{M,K}: value -IWAE_{M*K}(x); the decoder trains on IWAE_{M*K} and the encoder
    on MIWAE_{M,K} (M = loss.iwae_groups, K = loss.iwae_samples), the same M*K draws.

    One unfrozen `posterior_samples` call draws z = z_phi(eps) (M*K, B, L) with log q_phi
    (M*K, B); the log-weights are then computed twice:

      log_w_theta = log p_theta(x | sg z) + log p(sg z) - sg log q    (decode and log_prior
                    unfrozen): only theta gets gradient, d/d theta of -IWAE_{M*K}; phi none
      log_w_phi   = log p_sg(theta)(x | z) + log p_sg(z) - log q_phi(z | x)   (decode and
                    log_prior with frozen=True, a learned output variance stopped): only phi
                    gets gradient, through z and log q, d/d phi of -MIWAE_{M,K}; theta none

    and `piwae_loss` returns a + b - sg(b) (a = -IWAE_{M*K}(log_w_theta), b =
    -MIWAE_{M,K}(log_w_phi)): value a, gradient d a / d theta + d b / d phi. theta is every
    variable used by `decode`, `log_prior` (a learned prior) and a learned output variance,
    phi every variable used by `posterior_samples`; a variable used by both gets the sum.
    The draws cannot come from a frozen call: frozen=True freezes ALL the model's variables
    in that call, the encoder's too, so `posterior_samples` is called unfrozen.
    """
    m, k = _groups(t)
    z, log_q = t.apply("posterior_samples", t.inputs, m * k)  # (M*K, B, L), (M*K, B)
    sg = jax.lax.stop_gradient
    log_w_theta = draws_log_weights(t, sg(z), sg(log_q), frozen=False)
    log_w_phi = draws_log_weights(t, z, log_q, frozen=True)
    return piwae_loss(log_w_theta, log_w_phi, m)

