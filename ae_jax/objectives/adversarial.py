"""Seed 000's adversarial costs, written from the discriminator's logits.

With D(x) = s(l(x)) the discriminator's probability that x is real (s the logistic sigmoid,
l the logit the network outputs), the identities

    -log s(l)     = softplus(-l) = max(-l, 0) + log(1 + exp(-|l|))
    -log(1 - s(l)) = softplus(l)  = max(l, 0)  + log(1 + exp(-|l|))

are exact and finite for every l, where log(sigmoid(l)) underflows to log(0) = -inf once
|l| is beyond about 88 in float32. Every function here returns one mean over the batch.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def softplus(x: jax.Array) -> jax.Array:
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(min(x, -x))): one exp and one log1p, never
    overflows; its derivative is s(x), 1/2 at x = 0 (min(x, -x) = -|x|, whose autodiff rule
    at the tie is 0, where JAX's d|x|/dx = 1 gave 0 instead of 1/2)."""
    return jnp.maximum(x, 0.0) + jnp.log1p(jnp.exp(jnp.minimum(x, -x)))


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """The discriminator's cost (seed 000), for m real examples and m generated ones:

        C_D = -1/m sum_i [ log D(x_i) + log(1 - D(G(z_i))) ]
            =  1/m sum_i [ softplus(-l(x_i)) + softplus(l(G(z_i))) ]

    i.e. the binary cross-entropy of "real" labels on the real batch plus "fake" labels on the
    generated batch, summed (not averaged) over the two batches, as in the seed.
    Logits of any shape (B,) or (B, 1); the mean is over the batch.
    """
    return jnp.mean(softplus(-real_logits)) + jnp.mean(softplus(fake_logits))


def generator_loss(fake_logits: jax.Array) -> jax.Array:
    """The generator's non-saturating cost (seed 000):

        C_G = -1/m sum_i log D(G(z_i)) = 1/m sum_i softplus(-l(G(z_i)))

    Minimising it instead of the minimax form 1/m sum log(1 - D(G(z))) keeps the gradient
    large early on, when D rejects every sample (Goodfellow et al., 2014, section 3).
    """
    return jnp.mean(softplus(-fake_logits))


def probability(logits: jax.Array) -> jax.Array:
    """Mean D(.) = mean s(l) over the batch: the D(x) and D(G(z)) that the logs report."""
    return jnp.mean(jax.nn.sigmoid(logits))
