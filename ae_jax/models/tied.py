"""Tied-weight dense autoencoder (seed 001): the decoder reuses the encoder's kernels,
transposed, with biases of its own.

One layer (the seed's model), W of shape (D, K):

    h     = s(x W + b)          b: (K,)   the code
    x_hat = s_out(h W^T + c)    c: (D,)   (the model returns the logits h W^T + c)

D*K + K + D parameters instead of the untied 2*D*K + K + D (784-32: 25,904 instead of
50,992). With hidden layers, layer l of the decoder uses W_l^T of the mirrored encoder layer,
so the decoder owns only biases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ae_jax.models.abilities import DECODE, ENCODE
from ae_jax.models.activations import get_activation
from ae_jax.models.build import MODELS, module_from_config


class TiedEncoder(nn.Module):
    """x -> hidden layers -> code; dense layers `layers_<i>`, the last one making the code."""

    sizes: Sequence[int]  # hidden sizes then the code size
    activation: str = "relu"
    latent_activation: str = "sigmoid"

    def setup(self):
        self.layers = [nn.Dense(size) for size in self.sizes]

    def __call__(self, x: jax.Array):
        h = x.reshape((x.shape[0], -1))  # (B, H, W, C) -> (B, D)
        hidden = []
        for i, layer in enumerate(self.layers):
            last = i == len(self.layers) - 1
            h = get_activation(self.latent_activation if last else self.activation)(layer(h))
            hidden.append(h)
        return h, tuple(hidden)

    def kernels(self) -> tuple[jax.Array, ...]:
        """The encoder's kernels, input side first: W_0 (D, n_0), ..., W_L (n_{L-1}, K)."""
        return tuple(layer.variables["params"]["kernel"] for layer in self.layers)


class TiedDecoder(nn.Module):
    """code -> output logits through the transposed encoder kernels, with own biases."""

    output_shape: Sequence[int]
    activation: str = "relu"

    @nn.compact
    def __call__(self, z: jax.Array, kernels: Sequence[jax.Array]) -> jax.Array:
        h = z
        for i, kernel in enumerate(reversed(kernels)):  # code side first: W_L^T, ..., W_0^T
            bias = self.param(f"bias_{i}", nn.initializers.zeros_init(), (kernel.shape[0],))
            h = h @ kernel.T + bias  # (B, n_out) @ (n_out, n_in) -> (B, n_in)
            if i < len(kernels) - 1:
                h = get_activation(self.activation)(h)
        return h.reshape((z.shape[0], *self.output_shape))  # (B, D) -> (B, H, W, C)


class TiedAutoencoder(nn.Module):
    """Dense autoencoder whose decoder uses the transposes of the encoder's kernels.

    Attributes:
      output_shape: (H, W, C) of one example.
      latent_dim: size of the code.
      hidden_sizes: encoder hidden layers, input side first (the seed's model has none).
      activation: hidden-layer activation; latent_activation: the code's (seed: sigmoid).
      output_activation: applied to the logits to get x_hat (sigmoid pairs with BCE).
    """

    ABILITIES: ClassVar[frozenset[str]] = frozenset({ENCODE, DECODE})

    output_shape: Sequence[int]
    latent_dim: int
    hidden_sizes: Sequence[int] = ()
    activation: str = "relu"
    latent_activation: str = "sigmoid"
    output_activation: str = "sigmoid"

    def setup(self):
        sizes = (*self.hidden_sizes, self.latent_dim)
        self.encoder = TiedEncoder(sizes, self.activation, self.latent_activation)
        self.decoder = TiedDecoder(tuple(self.output_shape), self.activation)

    def encode(self, x):
        return self.encoder(x)[0]

    def decode(self, z):
        if self.is_initializing():  # decode alone must create the kernels it borrows
            self.encoder(jnp.zeros((1, math.prod(self.output_shape)), z.dtype))
        return self.decoder(z, self.encoder.kernels())

    def __call__(self, x):
        code, hidden = self.encoder(x)
        return self.decode(code), {"code": code, "hidden": hidden}


@MODELS.register("tied")
def build_tied(model_config, example_shape) -> TiedAutoencoder:
    """model.name="tied": every TiedAutoencoder field from `model_config` (the seed's code
    activation is sigmoid: configs/tied_ae.py sets model.latent_activation)."""
    return module_from_config(TiedAutoencoder, model_config, output_shape=example_shape)
