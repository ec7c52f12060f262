"""Generator and discriminator pairs, and the adversarial autoencoder's networks.

Images are (B, H, W, C) in [0, 1]. A generator maps a code z of shape (B, K) to pixel logits
of shape (B, H, W, C) (the image is sigmoid(logits), the same convention as the
autoencoders' decoders); a discriminator maps images (or codes, for the AAE) to one logit per
example, shape (B,), with D(x) = sigmoid(logit). Modules that hold batch norm take
`train: bool`: True normalises by the batch's statistics and updates the running averages
(`mutable=["batch_stats"]`), False (the default, used for sampling) uses the running averages.

Layers are named `<kind>_<i>` with i their position in the data flow, so the summary table
lists them in order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ae_jax.models.build import module_from_config
from ae_jax.models.initializers import affine_draw
from ae_jax.models.mlp import MLPAutoencoder
from ae_jax.registry import Registry

# name -> fn(model_config, example_shape) -> (generator, discriminator, generator input
# shape, discriminator input shape)
GAN_MODELS: Registry = Registry("GAN model", field="model.name")  # family "gan"
AAE_MODELS: Registry = Registry("adversarial autoencoder model", field="model.name")  # "aae"

# Radford et al. (2016): "All weights were initialized from a zero-centered Normal
# distribution with standard deviation 0.02"; leaky ReLU slope 0.2 in the discriminator.
DCGAN_INIT = affine_draw(jax.random.normal, 0.02)  # = nn.initializers.normal(0.02)


def _batch_norm(train: bool, momentum: float, name: str) -> nn.BatchNorm:
    return nn.BatchNorm(use_running_average=not train, momentum=momentum, epsilon=1e-5,
                        name=name)


class MLPGenerator(nn.Module):
    """z (B, K) -> [Dense -> (BatchNorm) -> leaky ReLU] x len(hidden_sizes) -> Dense -> logits
    of shape (B, *output_shape)."""

    output_shape: Sequence[int]
    hidden_sizes: Sequence[int] = (256, 512)
    batch_norm: bool = True
    leaky_slope: float = 0.2
    bn_momentum: float = 0.9

    @nn.compact
    def __call__(self, z: jax.Array, train: bool = False) -> jax.Array:
        h, i = z, 0
        for size in self.hidden_sizes:
            h = nn.Dense(size, use_bias=not self.batch_norm, name=f"dense_{i}")(h)
            if self.batch_norm:
                i += 1
                h = _batch_norm(train, self.bn_momentum, f"batchnorm_{i}")(h)
            h = nn.leaky_relu(h, self.leaky_slope)
            i += 1
        logits = nn.Dense(math.prod(self.output_shape), name="output")(h)
        return logits.reshape((z.shape[0], *self.output_shape))  # (B, D) -> (B, H, W, C)


class MLPDiscriminator(nn.Module):
    """x (B, ...) -> flatten -> [Dense -> leaky ReLU] x len(hidden_sizes) -> Dense(1): (B,).

    Image inputs in [0, 1] are centred to 2x - 1 (`center=True`); codes (the AAE) are not.
    """

    hidden_sizes: Sequence[int] = (512, 256)
    leaky_slope: float = 0.2
    center: bool = True

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        h = x.reshape((x.shape[0], -1))  # (B, H, W, C) -> (B, H*W*C)
        if self.center:
            h = 2.0 * h - 1.0
        for i, size in enumerate(self.hidden_sizes):
            h = nn.leaky_relu(nn.Dense(size, name=f"dense_{i}")(h), self.leaky_slope)
        return nn.Dense(1, name="output")(h)[:, 0]  # (B, 1) -> (B,)


class DCGANGenerator(nn.Module):
    """DCGAN generator (Radford et al., 2016) for H x W images, H and W divisible by 2^L with
    L = len(features). For 28x28 and features (128, 64):

        z (B, K) -> Dense 7*7*128 -> BN -> ReLU -> (B, 7, 7, 128)
          -> ConvT 64, 4x4, stride 2 -> BN -> ReLU   (B, 14, 14, 64)
          -> ConvT C, 4x4, stride 2                   (B, 28, 28, C) logits

    Batch norm everywhere but the output layer; no biases before batch norm (its shift
    replaces them); weights from N(0, 0.02^2) as in the paper.
    """

    xla_conv_gradients: ClassVar[bool] = True

    output_shape: Sequence[int]
    features: Sequence[int] = (128, 64)
    kernel_size: int = 4
    bn_momentum: float = 0.9

    @nn.compact
    def __call__(self, z: jax.Array, train: bool = False) -> jax.Array:
        height, width, channels = self.output_shape
        scale = 2 ** len(self.features)
        if height % scale or width % scale:
            raise ValueError(f"DCGAN generator: image {height}x{width} is not divisible by "
                             f"2^{len(self.features)} (one doubling per feature size)")
        h0, w0 = height // scale, width // scale
        k = (self.kernel_size, self.kernel_size)
        h = nn.Dense(h0 * w0 * self.features[0], use_bias=False, kernel_init=DCGAN_INIT,
                     name="dense_0")(z)
        h = h.reshape((z.shape[0], h0, w0, self.features[0]))  # (B, h0*w0*F) -> (B, h0, w0, F)
        h = nn.relu(_batch_norm(train, self.bn_momentum, "batchnorm_1")(h))  # per channel
        i = 2
        for feat in self.features[1:]:
            h = nn.ConvTranspose(feat, k, strides=(2, 2), padding="SAME", use_bias=False,
                                 kernel_init=DCGAN_INIT, name=f"convT_{i}")(h)  # size x2
            h = nn.relu(_batch_norm(train, self.bn_momentum, f"batchnorm_{i + 1}")(h))
            i += 2
        return nn.ConvTranspose(channels, k, strides=(2, 2), padding="SAME",
                                kernel_init=DCGAN_INIT, name="output")(h)  # (B, H, W, C)


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator: strided convolutions (no pooling), leaky ReLU (slope 0.2), batch
    norm on every layer but the first. For 28x28 and features (64, 128):

        x (B, 28, 28, C) -> 2x - 1 -> Conv 64, 4x4, stride 2 -> lReLU     (B, 14, 14, 64)
          -> Conv 128, 4x4, stride 2 -> BN -> lReLU                        (B, 7, 7, 128)
          -> flatten -> Dense 1                                            (B,) logits
    """

    xla_conv_gradients: ClassVar[bool] = True

    features: Sequence[int] = (64, 128)
    kernel_size: int = 4
    leaky_slope: float = 0.2
    batch_norm: bool = True
    bn_momentum: float = 0.9

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        h = 2.0 * x - 1.0
        k = (self.kernel_size, self.kernel_size)
        i = 0
        for j, feat in enumerate(self.features):
            norm = self.batch_norm and j > 0
            h = nn.Conv(feat, k, strides=(2, 2), padding="SAME", use_bias=not norm,
                        kernel_init=DCGAN_INIT, name=f"conv_{i}")(h)  # size / 2
            if norm:
                i += 1
                h = _batch_norm(train, self.bn_momentum, f"batchnorm_{i}")(h)
            h = nn.leaky_relu(h, self.leaky_slope)
            i += 1
        h = h.reshape((x.shape[0], -1))  # (B, h, w, F) -> (B, h*w*F)
        return nn.Dense(1, kernel_init=DCGAN_INIT, name="output")(h)[:, 0]  # (B,)


@GAN_MODELS.register("mlp_gan")
def build_mlp_gan(cfg, example_shape):
    """MLPGenerator / MLPDiscriminator on images (model.generator_* / discriminator_*)."""
    shape = tuple(example_shape)
    gen = module_from_config(MLPGenerator, cfg, prefix="generator_", output_shape=shape)
    disc = module_from_config(MLPDiscriminator, cfg, prefix="discriminator_", center=True)
    return gen, disc, (cfg.latent_dim,), shape


@GAN_MODELS.register("dcgan")
def build_dcgan(cfg, example_shape):
    """DCGANGenerator / DCGANDiscriminator on images (model.generator_features, ...)."""
    shape = tuple(example_shape)
    gen = module_from_config(DCGANGenerator, cfg, prefix="generator_", output_shape=shape)
    disc = module_from_config(DCGANDiscriminator, cfg, prefix="discriminator_")
    return gen, disc, (cfg.latent_dim,), shape


@AAE_MODELS.register("aae")
def build_aae(cfg, example_shape):
    """A dense autoencoder with a linear code (its encoder generates codes, its decoder maps
    prior samples to images) and an MLP discriminator on codes."""
    shape = tuple(example_shape)
    ae = module_from_config(MLPAutoencoder, cfg, output_shape=shape,
                            latent_activation="linear", output_activation="sigmoid")
    disc = module_from_config(MLPDiscriminator, cfg, prefix="discriminator_", center=False)
    return ae, disc, shape, (cfg.latent_dim,)


def build_networks(cfg, example_shape, models: Registry = GAN_MODELS):
    """(generator, discriminator, generator input shape, discriminator input shape) for
    `config.model`, from `models`: GAN_MODELS (mlp_gan, dcgan: networks on images) or
    AAE_MODELS (aae: the "generator" is a dense autoencoder, whose encoder generates codes
    and whose decoder maps prior samples to images; the discriminator is an MLP on codes)."""
    return models.get(cfg.name)(cfg, example_shape)


def images_from_logits(logits: jax.Array) -> jax.Array:
    """Pixels in [0, 1] from a generator's logits."""
    return jax.nn.sigmoid(logits)


def standard_normal_codes(key: jax.Array, n: int, latent_dim: int) -> jax.Array:
    """The prior p(z) = N(0, I) of every model here: (n, K) draws."""
    return jax.random.normal(key, (n, latent_dim), jnp.float32)
