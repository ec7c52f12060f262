"""Activations by name, as configs spell them."""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

ACTIVATIONS = {
    "relu": nn.relu,
    "sigmoid": nn.sigmoid,
    "tanh": jnp.tanh,
    "linear": lambda x: x,
    "elu": nn.elu,
    "gelu": nn.gelu,
    "selu": nn.selu,
    "softplus": nn.softplus,
    "leaky_relu": nn.leaky_relu,
    "swish": nn.swish,
}


def get_activation(name: str):
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; known: {sorted(ACTIVATIONS)}"
        ) from None
