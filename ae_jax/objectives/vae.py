"""VAE terms: the closed-form KL, a Gaussian decoder's likelihood and the IWAE bound.

With a Bernoulli decoder (`loss.reconstruction="bce"`, `reduction="sum"`) and
`terms=dict(kl=1.0)` the loss of one example is its negative ELBO in nats,

    -ELBO(x) = E_q(z|x)[-log p(x | z)] + KL(q(z | x) || N(0, I))
            ~= sum_pixels bce(logits(z), x) + kl(x),     one z ~ q(z | x) per step,

summed over the pixels of the example; the trainer takes the mean over the batch, so metrics
report nats per example (divide `bce` by the number of pixels for the per-pixel value).
beta-VAE: `terms=dict(kl=beta)`. KL warm-up: `loss.warmup_epochs=dict(kl=epochs)`.

Gaussian decoder, p(x | z) = N(x; mu(z), sigma^2 I) with mu = output_activation(logits):
  fixed sigma  `reconstruction="mse"`, `reduction="sum"`, `terms=dict(kl=2 * sigma**2)` is the
               negative ELBO times 2 sigma^2 minus a constant: the same optimum and gradients
               up to that scale. The `nll` evaluation reports exact nats with
               `loss.likelihood="gaussian"` and `loss.output_stddev=sigma`.
  learned      term `gaussian_nll` with `model.learn_output_variance=True` (and
               `loss.likelihood="gaussian"` for the `nll` evaluation).

The importance-weighted bound (Burda et al., 2016) with k samples,

    L_k(x) = E[log (1/k) sum_j w_j],   w_j = p(x | z_j) p(z_j) / q(z_j | x),  z_j ~ q(z | x),

is term `iwae` (per example -L_k); L_1 is the ELBO and L_k rises to log p(x) as k grows.
`iwae` and `gaussian_nll` are whole likelihoods: they train with `reconstruction="none"`, an
Objective that adds no reconstruction loss of its own.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from ae_jax.distributions import kl_to_standard_normal, log_normal
from ae_jax.objectives.reconstruction import PerExample, bce_with_logits
from ae_jax.objectives.terms import TERMS, TermInputs

LIKELIHOODS = ("bernoulli", "gaussian")


def log_likelihood(x, out, likelihood: str, output_logvar=0.0) -> jax.Array:
    """log p(x | z) summed over the last axis (the pixels of flat examples).

    bernoulli: `out` are logits; sum_i x_i log s(out_i) + (1 - x_i) log(1 - s(out_i)), i.e.
               -sum_i bce(out_i, x_i) (for x in [0, 1] not only {0, 1}, as usual for images).
    gaussian:  `out` is the mean mu; log N(x; mu, e^v I) with v = output_logvar (a scalar).
    Computed in float32 whatever the model's compute dtype.
    """
    out = out.astype(jnp.float32)
    if likelihood == "bernoulli":
        return -jnp.sum(bce_with_logits(out, x), axis=-1)
    if likelihood == "gaussian":
        return log_normal(x, out, output_logvar)
    raise ValueError(f"unknown likelihood {likelihood!r}: use one of {LIKELIHOODS}")


def output_logvar_of(aux, loss_config):
    """The Gaussian decoder's log sigma^2: learned (aux["output_logvar"]) or
    2 log(loss.output_stddev)."""
    if "output_logvar" in aux:
        return aux["output_logvar"]
    return 2.0 * math.log(float(loss_config.output_stddev))


def importance_log_weights(x_flat, out, log_q, log_p_z, likelihood: str, output_logvar=0.0,
                           with_likelihood: bool = False):
    """log w = log p(x | z) + log p(z) - log q(z | x), shape (K, B); with `with_likelihood`,
    (log w, log p(x | z)).

    x_flat (B, D); out (K, B, D): the decoder's outputs of the K draws z; log_q, log_p_z
    (K, B): the model's log q(z | x) and log p(z) of those draws (DENSITY ability).
    """
    log_px = log_likelihood(x_flat, out, likelihood, output_logvar)
    log_w = log_px + log_p_z - log_q
    return (log_w, log_px) if with_likelihood else log_w


def iwae_bound(log_w) -> jax.Array:
    """L_k = logsumexp_j log w_j - log k over the leading (sample) axis: (K, B) -> (B,)."""
    return jax.nn.logsumexp(log_w, axis=0) - math.log(log_w.shape[0])


@TERMS.register("kl")
def kl(t: TermInputs) -> PerExample:
    """KL(q(z|x) || N(0, I)) in closed form from aux["mean"], aux["logvar"] (nats)."""
    if "mean" not in t.aux or "logvar" not in t.aux:
        raise ValueError("loss term kl needs a diagonal Gaussian posterior against N(0, I) "
                         "(aux mean / logvar); use kl_sampled for flows, mixtures and "
                         "hierarchies")
    return kl_to_standard_normal(t.aux["mean"], t.aux["logvar"])


@TERMS.register("kl_sampled")
def kl_sampled(t: TermInputs) -> PerExample:
    """KL(q(z|x) || p(z)) ~= log q(z | x) - log p(z) at the forward pass's own draw
    z ~ q(z | x) (aux["log_q"], aux["log_p"]): one-sample and unbiased, for a q or a p
    without a closed-form KL (flow posteriors, the VampPrior, hierarchies)."""
    return t.aux["log_q"] - t.aux["log_p"]


@TERMS.register("gaussian_nll")
def gaussian_nll(t: TermInputs) -> PerExample:
    """-log N(x; mu, sigma^2 I) = 1/2 sum_i (log 2 pi sigma^2 + (x_i - mu_i)^2 / sigma^2).

    mu = aux["output_mean"] (the model's output activation of the logits); sigma^2 learned
    (model.learn_output_variance) or fixed (loss.output_stddev). Sum over pixels (nats).
    """
    b = t.batch_size
    mu = t.aux["output_mean"].reshape((b, -1))  # (B, H, W, C) -> (B, D)
    return -log_likelihood(t.x.reshape((b, -1)), mu, "gaussian",
                           output_logvar_of(t.aux, t.config))


def decoded_draws(t: TermInputs, z, likelihood: str):
    """The decoder's output for draws z (K, B, L): logits (bernoulli) or the mean
    (gaussian), flattened to (K, B, D)."""
    k, b = z.shape[:2]
    method = "decode" if likelihood == "bernoulli" else "decode_mean"
    out = t.apply(method, z.reshape((k * b, -1)))  # (K, B, L) -> (K*B, L)
    return out.reshape((k, b, -1))  # (K*B, H, W, C) -> (K, B, D)


def log_weights(t: TermInputs, k: int) -> jax.Array:
    """log w_j of k draws z_j ~ q(z | inputs) per example, (k, B): the model's own q and p
    (DENSITY ability), p(x | z) of loss.likelihood."""
    likelihood = t.config.likelihood
    z, log_q = t.apply("posterior_samples", t.inputs, k)  # (K, B, L), (K, B)
    out = decoded_draws(t, z, likelihood)
    return importance_log_weights(t.x.reshape((t.batch_size, -1)), out, log_q,
                                  t.apply("log_prior", z), likelihood,
                                  output_logvar_of(t.aux, t.config))


@TERMS.register("iwae")
def iwae(t: TermInputs) -> PerExample:
    """-L_k(x) with k = loss.iwae_samples draws from q(z | x) (reparameterised, "sample" rng)
    and p(x | z) of loss.likelihood. Replaces reconstruction + KL (reconstruction="none")."""
    return -iwae_bound(log_weights(t, int(t.config.iwae_samples)))
