"""Dense autoencoders: the seeds' 784-32-784, the deep 784-128-64-32-64-128-784, linear AEs,
and the font sweep's [35, 25, 17, 2, 17, 25, 35].

Inputs of any shape (B, H, W, C) are flattened to (B, H*W*C); the decoder's logits are
reshaped back, so the loss compares like with like.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ae_jax.models.abilities import DECODE, ENCODE
from ae_jax.models.activations import get_activation, get_dtype, get_kernel_init
from ae_jax.models.build import MODELS, module_from_config


class MLPEncoder(nn.Module):
    """x -> hidden layers -> code. Returns (code, activations of every layer)."""

    hidden_sizes: Sequence[int]
    latent_dim: int
    activation: str = "relu"
    latent_activation: str = "relu"
    dtype: jnp.dtype = jnp.float32  # computation dtype; parameters stay float32
    kernel_init: str = "lecun_normal"

    @nn.compact
    def __call__(self, x: jax.Array):
        h = x.reshape((x.shape[0], -1))  # (B, H, W, C) -> (B, H*W*C)
        act = get_activation(self.activation)
        dense = functools.partial(nn.Dense, dtype=self.dtype,
                                  kernel_init=get_kernel_init(self.kernel_init))
        hidden = []
        for i, size in enumerate(self.hidden_sizes):
            h = act(dense(size, name=f"dense_{i}")(h))
            hidden.append(h)
        latent = dense(self.latent_dim, name="latent")
        code = get_activation(self.latent_activation)(latent(h))
        return code, tuple(hidden) + (code,)


class MLPDecoder(nn.Module):
    """code -> hidden layers -> output logits of shape (B, *output_shape)."""

    hidden_sizes: Sequence[int]
    output_shape: Sequence[int]
    activation: str = "relu"
    dtype: jnp.dtype = jnp.float32
    kernel_init: str = "lecun_normal"

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        act = get_activation(self.activation)
        dense = functools.partial(nn.Dense, dtype=self.dtype,
                                  kernel_init=get_kernel_init(self.kernel_init))
        h = z
        for i, size in enumerate(self.hidden_sizes):
            h = act(dense(size, name=f"dense_{i}")(h))
        logits = dense(math.prod(self.output_shape), name="output")(h)
        return logits.reshape((z.shape[0], *self.output_shape))  # (B, D) -> (B, H, W, C)


class MLPAutoencoder(nn.Module):
    """Dense autoencoder with a mirrored (or given) decoder.

    Attributes:
      output_shape: (H, W, C) of one example.
      latent_dim: size of the code.
      hidden_sizes: encoder hidden layers, input side first (e.g. (128, 64)).
      decoder_hidden_sizes: decoder hidden layers, code side first; None mirrors the encoder.
      activation: hidden-layer activation; latent_activation: the code's activation.
      output_activation: applied to the logits to get x_hat (sigmoid pairs with BCE).
      compute_dtype: computation dtype, "float32" or "bfloat16" (mixed precision;
        parameters stay float32).
      kernel_init: lecun_normal (Flax's default) | glorot_uniform (Keras's) | he_normal.
    """

    ABILITIES: ClassVar[frozenset[str]] = frozenset({ENCODE, DECODE})

    output_shape: Sequence[int]
    latent_dim: int
    hidden_sizes: Sequence[int] = ()
    decoder_hidden_sizes: Sequence[int] | None = None
    activation: str = "relu"
    latent_activation: str = "relu"
    output_activation: str = "sigmoid"
    compute_dtype: str = "float32"
    kernel_init: str = "lecun_normal"

    @property
    def dtype(self) -> jnp.dtype:
        return get_dtype(self.compute_dtype)

    def setup(self):
        self.encoder = MLPEncoder(
            self.hidden_sizes, self.latent_dim, self.activation, self.latent_activation,
            self.dtype, self.kernel_init,
        )
        dec = self.decoder_hidden_sizes
        dec = tuple(reversed(self.hidden_sizes)) if dec is None else tuple(dec)
        self.decoder = MLPDecoder(dec, tuple(self.output_shape), self.activation, self.dtype,
                                  self.kernel_init)

    def encode(self, x):
        return self.encoder(x)[0]

    def decode(self, z):
        return self.decoder(z)

    def __call__(self, x):
        code, hidden = self.encoder(x)
        return self.decoder(code), {"code": code, "hidden": hidden}


@MODELS.register("mlp")
def build_mlp(model_config, example_shape) -> MLPAutoencoder:
    """model.name="mlp": every MLPAutoencoder field from `model_config`."""
    return module_from_config(MLPAutoencoder, model_config, output_shape=example_shape)
