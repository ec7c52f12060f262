"""Convolutional autoencoders described by a small layer language.

Layers are strings, input side first:

    "conv16"        3x3 (kernel_size) convolution to 16 channels, 'same' padding, activation
    "conv16_valid"  the same with 'valid' padding (the seeds' 16 -> 14 layer)
    "pool"          2x2 max pooling, 'same' padding (so 7 -> 4, as Keras)
    "up"            2x nearest-neighbour upsampling (Keras UpSampling2D)

The decoder ends with a convolution to the input's channel count whose output is the logits.
The seeds' 4,385-parameter model is

    encoder_layers = ("conv16", "pool", "conv8", "pool", "conv8", "pool")      # 28 -> 4x4x8
    decoder_layers = ("conv8", "up", "conv8", "up", "conv16_valid", "up")       # 4 -> 28

With `latent_dim` set, the feature map is flattened and a dense layer makes a vector code
(and the decoder starts with the inverse dense layer and reshape).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from ae_jax.models.activations import get_activation

_CONV = re.compile(r"^conv(\d+)(_valid)?$")


def parse_layer(spec: str):
    """('conv', channels, padding) | ('pool',) | ('up',); ValueError for anything else."""
    m = _CONV.match(spec)
    if m:
        return ("conv", int(m.group(1)), "VALID" if m.group(2) else "SAME")
    if spec in ("pool", "up"):
        return (spec,)
    raise ValueError(
        f"unknown conv layer {spec!r}: use 'conv<channels>', 'conv<channels>_valid', "
        "'pool' or 'up'"
    )


def feature_shape(input_shape: Sequence[int], layers: Sequence[str], kernel_size: int):
    """(H, W, C) after `layers`, by the output-size rule O = (W - F + 2P) / S + 1."""
    h, w, c = input_shape
    for spec in layers:
        layer = parse_layer(spec)
        if layer[0] == "conv":
            c = layer[1]
            if layer[2] == "VALID":
                h, w = h - kernel_size + 1, w - kernel_size + 1
        elif layer[0] == "pool":
            h, w = -(-h // 2), -(-w // 2)
        else:
            h, w = 2 * h, 2 * w
    return (h, w, c)


def _apply_layers(x, layers, kernel_size, act, dtype):
    """Run the layer language inside a compact module; returns the output and every conv
    activation."""
    hidden = []
    conv_index = 0
    for spec in layers:
        layer = parse_layer(spec)
        if layer[0] == "conv":
            conv = nn.Conv(layer[1], (kernel_size, kernel_size), padding=layer[2],
                           dtype=dtype, name=f"conv_{conv_index}")
            x = act(conv(x))
            hidden.append(x)
            conv_index += 1
        elif layer[0] == "pool":
            x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="SAME")
        else:
            x = jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)  # (B,H,W,C) -> (B,2H,2W,C)
    return x, hidden


class ConvEncoder(nn.Module):
    layers: Sequence[str]
    kernel_size: int = 3
    activation: str = "relu"
    latent_dim: int | None = None
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        h, hidden = _apply_layers(
            x, self.layers, self.kernel_size, get_activation(self.activation), self.dtype
        )
        if self.latent_dim:
            flat = h.reshape((h.shape[0], -1))  # (B, h, w, c) -> (B, h*w*c)
            h = nn.Dense(self.latent_dim, dtype=self.dtype, name="latent")(flat)
            hidden.append(h)
        return h, tuple(hidden)


class ConvDecoder(nn.Module):
    layers: Sequence[str]
    output_shape: Sequence[int]
    code_shape: Sequence[int]  # (h, w, c) of the feature map the decoder starts from
    kernel_size: int = 3
    activation: str = "relu"
    latent_dim: int | None = None
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, z):
        act = get_activation(self.activation)
        if self.latent_dim:
            z = act(nn.Dense(math.prod(self.code_shape), dtype=self.dtype, name="from_latent")(z))
            z = z.reshape((z.shape[0], *self.code_shape))  # (B, h*w*c) -> (B, h, w, c)
        h, _ = _apply_layers(z, self.layers, self.kernel_size, act, self.dtype)
        k = (self.kernel_size, self.kernel_size)
        logits = nn.Conv(self.output_shape[-1], k, padding="SAME", dtype=self.dtype,
                         name="output")(h)
        if logits.shape[1:] != tuple(self.output_shape):
            raise ValueError(
                f"decoder layers {tuple(self.layers)} produce {logits.shape[1:]}, "
                f"not the input shape {tuple(self.output_shape)}"
            )
        return logits


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder; see the module docstring for the layer language."""

    output_shape: Sequence[int]
    encoder_layers: Sequence[str]
    decoder_layers: Sequence[str]
    kernel_size: int = 3
    activation: str = "relu"
    latent_dim: int | None = None
    output_activation: str = "sigmoid"
    dtype: jnp.dtype = jnp.float32  # computation dtype; parameters stay float32

    def setup(self):
        code_shape = feature_shape(self.output_shape, self.encoder_layers, self.kernel_size)
        self.encoder = ConvEncoder(
            self.encoder_layers, self.kernel_size, self.activation, self.latent_dim, self.dtype
        )
        self.decoder = ConvDecoder(
            self.decoder_layers, tuple(self.output_shape), code_shape, self.kernel_size,
            self.activation, self.latent_dim, self.dtype,
        )

    def encode(self, x: jax.Array) -> jax.Array:
        return self.encoder(x)[0]

    def decode(self, z: jax.Array) -> jax.Array:
        return self.decoder(z)

    def __call__(self, x):
        code, hidden = self.encoder(x)
        return self.decoder(code), {"code": code, "hidden": hidden}
