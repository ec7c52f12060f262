"""Input corruption for denoising and inpainting: pure functions of (key, x) -> x_noisy.

They run inside the jitted step with the step's "noise" key, so every epoch sees fresh noise
and a resumed run sees the same noise. The target of the loss stays the clean x.
x has shape (B, H, W, C) with values in [0, 1].
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from ae_jax.registry import Registry

# name -> fn(corruption_config) -> (key, x) -> x_noisy, or None for "none"
CORRUPTIONS: Registry = Registry("corruption", field="corruption.name")


def gaussian(key, x, stddev: float):
    """clip(x + stddev * N(0, 1), 0, 1) (the seeds use stddev 0.5)."""
    return jnp.clip(x + stddev * jax.random.normal(key, x.shape, x.dtype), 0.0, 1.0)


def masking(key, x, probability: float):
    """Set a random fraction `probability` of the inputs to 0 (the seeds mention 30-50%)."""
    return jnp.where(jax.random.bernoulli(key, probability, x.shape), 0.0, x)


def salt_and_pepper(key, x, probability: float):
    """Set a fraction `probability` of the inputs to 0 or 1, each with probability 1/2."""
    k_hit, k_salt = jax.random.split(key)
    hit = jax.random.bernoulli(k_hit, probability, x.shape)
    salt = jax.random.bernoulli(k_salt, 0.5, x.shape).astype(x.dtype)
    return jnp.where(hit, salt, x)


def bit_flip(key, x, probability: float):
    """For binary inputs: x -> 1 - x with probability p (the font study uses p = 0.1)."""
    return jnp.where(jax.random.bernoulli(key, probability, x.shape), 1.0 - x, x)


def block(key, x, block_fraction: float):
    """Inpainting: zero one square of side round(block_fraction * min(H, W)) per image, at a
    uniformly random position."""
    b, h, w, _ = x.shape
    side = max(1, int(round(block_fraction * min(h, w))))
    k_r, k_c = jax.random.split(key)
    top = jax.random.randint(k_r, (b, 1, 1, 1), 0, h - side + 1)
    left = jax.random.randint(k_c, (b, 1, 1, 1), 0, w - side + 1)
    rows = jnp.arange(h).reshape(1, h, 1, 1)
    cols = jnp.arange(w).reshape(1, 1, w, 1)
    hole = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
    return jnp.where(hole, 0.0, x)


def _reading(corruption, field: str):
    """A builder cfg -> `corruption` with its parameter `field` set to `cfg.<field>`."""
    def build(cfg):
        return functools.partial(corruption, **{field: cfg[field]})

    return build


CORRUPTIONS.add("none", lambda cfg: None)
CORRUPTIONS.add("gaussian", _reading(gaussian, "stddev"))
CORRUPTIONS.add("masking", _reading(masking, "probability"))
CORRUPTIONS.add("salt_and_pepper", _reading(salt_and_pepper, "probability"))
CORRUPTIONS.add("bit_flip", _reading(bit_flip, "probability"))
CORRUPTIONS.add("block", _reading(block, "block_fraction"))


def make_corruption(cfg):
    """The corruption a config's `corruption` field names: fn(key, x (B, H, W, C) in [0, 1])
    -> x_noisy, or None for "none"."""
    return CORRUPTIONS.get(cfg.name)(cfg)
