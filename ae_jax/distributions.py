"""Densities of the diagonal Gaussian, the one place their formulas live (nats, float32).

Models use them for their own log q(z | x) and log p(z) (ae_jax/models/abilities.py,
DENSITY); loss terms and the likelihood evaluation use them for bounds.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

LOG_2PI = math.log(2.0 * math.pi)


def reparameterize(key, mean, logvar, num_samples: int | None = None):
    """z = mean + exp(logvar / 2) * eps: shape (B, L), or (num_samples, B, L) when given."""
    shape = mean.shape if num_samples is None else (num_samples, *mean.shape)
    eps = jax.random.normal(key, shape, mean.dtype)
    return mean + jnp.exp(0.5 * logvar) * eps


def log_normal(z, mean, logvar) -> jax.Array:
    """log N(z; m, diag e^v) = -1/2 sum_d (log 2 pi + v_d + (z_d - m_d)^2 e^-v_d), last axis."""
    return -0.5 * jnp.sum(LOG_2PI + logvar + jnp.square(z - mean) * jnp.exp(-logvar), axis=-1)


def log_standard_normal(z) -> jax.Array:
    """log N(z; 0, I) = -1/2 sum_d (log 2 pi + z_d^2), over the last axis."""
    return -0.5 * jnp.sum(LOG_2PI + jnp.square(z), axis=-1)


def kl_to_standard_normal(mean, logvar) -> jax.Array:
    """KL(N(m, diag e^v) || N(0, I)) = 1/2 sum_d (e^v_d + m_d^2 - 1 - v_d), over the last axis."""
    return 0.5 * jnp.sum(jnp.exp(logvar) + jnp.square(mean) - 1.0 - logvar, axis=-1)


def kl_diagonal_gaussians(mean1, logvar1, mean2, logvar2) -> jax.Array:
    """KL(N(m1, e^v1) || N(m2, e^v2)) = 1/2 sum_d (v2 - v1 + (e^v1 + (m1 - m2)^2) / e^v2 - 1)."""
    ratio = (jnp.exp(logvar1) + jnp.square(mean1 - mean2)) * jnp.exp(-logvar2)
    return 0.5 * jnp.sum(logvar2 - logvar1 + ratio - 1.0, axis=-1)
