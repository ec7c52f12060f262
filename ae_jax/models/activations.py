"""Activations, kernel initialisers and compute dtypes by name, as configs spell them."""

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


# Flax's Dense default is LeCun-normal; Keras's (the seeds' notebooks) is Glorot-uniform, which
# reaches Keras 3's dense-AE loss after 3 epochs (0.2946-0.2958 vs 0.2948-0.2959; LeCun 0.3075);
# the seed configs that reproduce a Keras model use it (configs/default.py keras_initialisation).
KERNEL_INITS = {
    "lecun_normal": nn.initializers.lecun_normal(),
    "glorot_uniform": nn.initializers.glorot_uniform(),
    "he_normal": nn.initializers.he_normal(),
}


def get_kernel_init(name: str):
    try:
        return KERNEL_INITS[name]
    except KeyError:
        raise ValueError(
            f"unknown kernel_init {name!r}; known: {sorted(KERNEL_INITS)}"
        ) from None


COMPUTE_DTYPES = ("float32", "bfloat16", "float16")


def get_dtype(name) -> jnp.dtype:
    """`model.compute_dtype`: float32, or bfloat16 for mixed precision (parameters, optimizer
    state and the loss stay float32). Takes the name or a dtype."""
    try:
        dtype = jnp.dtype(name)
    except TypeError:
        dtype = None
    if dtype is None or dtype.name not in COMPUTE_DTYPES:
        raise ValueError(f"unknown compute_dtype {name!r}: use float32 or bfloat16")
    return dtype
