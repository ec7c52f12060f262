"""Variational autoencoders: a Gaussian bottleneck on a dense or a convolutional encoder.

    q(z | x) = N(mean(x), diag(exp(logvar(x))))      the encoder's two heads
    z        = mean + exp(logvar / 2) * eps,   eps ~ N(0, I)   (reparameterisation)
    p(x | z)                                        the decoder's logits (Bernoulli), or the
                                                    mean output_activation(logits) (Gaussian)

eps comes from the explicit "sample" rng (`self.make_rng("sample")`; the trainer passes
`fold_in(key, step)` of the run's "sample" stream). `encode` returns the mean, the code used
at evaluation time; `posterior` returns (mean, logvar). Without a "sample" rng (`init` with one
key, `summarize`, a plain `apply`) z is the mean, so deterministic uses need no key; training
and evaluation always pass one.

Seed 003's Keras VAE on 80x80 images is `VAE(hidden_sizes=(256,), latent_dim=2)`:
encoder 6400 -> 256 (1,638,656) -> mean 2 (514), log-variance 2 (514);
decoder 2 -> 256 (768) -> 6400 (1,644,800).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ae_jax.distributions import log_normal, log_standard_normal, reparameterize
from ae_jax.models.abilities import DECODE, DENSITY, ENCODE, POSTERIOR, PRIOR
from ae_jax.models.activations import get_activation, get_dtype, get_kernel_init
from ae_jax.models.build import MODELS, module_from_config
from ae_jax.models.conv import ConvDecoder, _apply_layers, feature_shape, resolve_impl
from ae_jax.models.mlp import MLPDecoder


class GaussianBottleneck(nn.Module):
    """Features of any shape -> (mean, logvar) of q(z | x), two dense heads."""

    latent_dim: int
    kernel_init: str = "lecun_normal"

    @nn.compact
    def __call__(self, h):
        # float32 heads whatever the compute dtype: exp(logvar) and the KL need the range.
        h = h.reshape((h.shape[0], -1)).astype(jnp.float32)  # (B, h, w, c) or (B, F) -> (B, F)
        init = get_kernel_init(self.kernel_init)
        return (nn.Dense(self.latent_dim, kernel_init=init, name="mean")(h),
                nn.Dense(self.latent_dim, kernel_init=init, name="logvar")(h))


class GaussianEncoder(nn.Module):
    """x -> [conv layers] -> flatten -> [dense layers] -> GaussianBottleneck.

    Returns (mean, logvar, hidden activations). `conv_layers` uses the layer language of
    `ae_jax/models/conv.py`; empty gives a dense encoder.
    """

    latent_dim: int
    hidden_sizes: Sequence[int] = ()
    conv_layers: Sequence[str] = ()
    kernel_size: int = 3
    activation: str = "relu"
    dtype: jnp.dtype = jnp.float32
    conv_impl: str = "auto"
    kernel_init: str = "lecun_normal"

    @nn.compact
    def __call__(self, x):
        act = get_activation(self.activation)
        h, hidden = _apply_layers(x, self.conv_layers, self.kernel_size, self.activation,
                                  self.dtype, resolve_impl(self.conv_impl),
                                  kernel_init=self.kernel_init)
        h = h.reshape((h.shape[0], -1))  # (B, h, w, c) -> (B, h*w*c)
        for i, size in enumerate(self.hidden_sizes):
            h = act(nn.Dense(size, dtype=self.dtype, name=f"dense_{i}",
                             kernel_init=get_kernel_init(self.kernel_init))(h))
            hidden.append(h)
        mean, logvar = GaussianBottleneck(self.latent_dim, self.kernel_init,
                                          name="bottleneck")(h)
        return mean, logvar, tuple(hidden)


class OutputLogVariance(nn.Module):
    """One learned log-variance log(sigma^2) shared by every pixel (Gaussian decoder)."""

    @nn.compact
    def __call__(self):
        return self.param("logvar", nn.initializers.zeros, ())


class VAE(nn.Module):
    """Gaussian-bottleneck VAE with a dense or a convolutional encoder and decoder.

    Attributes:
      output_shape: (H, W, C) of one example.
      latent_dim: size of z.
      hidden_sizes: encoder dense layers (after the conv layers, if any), input side first.
      decoder_hidden_sizes: dense decoder layers, code side first; None mirrors the encoder.
        Dense decoders only.
      encoder_layers, decoder_layers: conv layer language (ae_jax/models/conv.py); both empty
        for a dense VAE. A conv decoder starts with Dense(z -> feature map) and a reshape.
      learn_output_variance: add a learned log-variance for a Gaussian decoder
        (aux["output_logvar"]).
      output_activation: logits -> x_hat; with a Gaussian likelihood, x_hat is the mean.
      compute_dtype: computation dtype of the encoder and decoder layers, "float32" or
        "bfloat16" (mixed precision); parameters, the mean / log-variance heads and z stay
        float32.
      kernel_init: every kernel's initialiser, lecun_normal (Flax) | glorot_uniform (Keras).
    """

    ABILITIES: ClassVar[frozenset[str]] = frozenset({ENCODE, DECODE, POSTERIOR, PRIOR,
                                                      DENSITY})

    output_shape: Sequence[int]
    latent_dim: int
    hidden_sizes: Sequence[int] = ()
    decoder_hidden_sizes: Sequence[int] | None = None
    encoder_layers: Sequence[str] = ()
    decoder_layers: Sequence[str] = ()
    kernel_size: int = 3
    activation: str = "relu"
    learn_output_variance: bool = False
    output_activation: str = "sigmoid"
    compute_dtype: str = "float32"
    conv_impl: str = "auto"  # conv layers: see ae_jax.models.conv.resolve_impl
    kernel_init: str = "lecun_normal"

    @property
    def xla_conv_gradients(self) -> bool:
        return bool(self.encoder_layers or self.decoder_layers) and (
            resolve_impl(self.conv_impl) == "lax")

    def setup(self):
        dtype = get_dtype(self.compute_dtype)
        self.encoder = GaussianEncoder(self.latent_dim, tuple(self.hidden_sizes),
                                       tuple(self.encoder_layers), self.kernel_size,
                                       self.activation, dtype, self.conv_impl,
                                       self.kernel_init)
        if self.decoder_layers:
            if self.decoder_hidden_sizes:
                raise ValueError("decoder_hidden_sizes applies to dense VAE decoders only")
            code_shape = feature_shape(self.output_shape, self.encoder_layers, self.kernel_size)
            self.decoder = ConvDecoder(tuple(self.decoder_layers),
                                       output_shape=tuple(self.output_shape),
                                       code_shape=code_shape, kernel_size=self.kernel_size,
                                       activation=self.activation, latent_dim=self.latent_dim,
                                       dtype=dtype, conv_impl=self.conv_impl,
                                       kernel_init=self.kernel_init)
        else:
            dec = self.decoder_hidden_sizes
            dec = tuple(reversed(self.hidden_sizes)) if dec is None else tuple(dec)
            self.decoder = MLPDecoder(dec, tuple(self.output_shape), self.activation,
                                      dtype=dtype, kernel_init=self.kernel_init)
        if self.learn_output_variance:
            self.output_variance = OutputLogVariance()

    def posterior(self, x):
        """(mean, logvar) of q(z | x), each (B, L)."""
        mean, logvar, _ = self.encoder(x)
        return mean, logvar

    def encode(self, x):
        """The posterior mean: the code at evaluation time."""
        return self.posterior(x)[0]

    def decode(self, z):
        """Logits of shape (B, *output_shape) for codes z of shape (B, L)."""
        return self.decoder(z)

    def decode_mean(self, z):
        """output_activation(decode(z)): the Gaussian decoder's mean, or Bernoulli's p."""
        return get_activation(self.output_activation)(self.decoder(z))

    def output_logvar(self):
        """The Gaussian decoder's learned log(sigma^2) (needs learn_output_variance)."""
        return self.output_variance()

    def sample_posterior(self, mean, logvar, num_samples: int | None = None):
        """z ~ q(z | x) by reparameterisation with the "sample" rng; the mean without one."""
        if not self.has_rng("sample"):
            return mean if num_samples is None else jnp.broadcast_to(
                mean, (num_samples, *mean.shape))
        return reparameterize(self.make_rng("sample"), mean, logvar, num_samples)

    def posterior_samples(self, x, num_samples: int):
        """(z (K, B, L) ~ q(z | x), log q(z | x) (K, B)): reparameterised draws with the
        "sample" rng (the mean, K times, without one)."""
        mean, logvar = self.posterior(x)
        z = self.sample_posterior(mean, logvar, num_samples)
        return z, log_normal(z, mean, logvar)

    def log_prior(self, z):
        """log p(z) = log N(z; 0, I) over the last axis."""
        return log_standard_normal(z)

    def sample_prior(self, key, num: int):
        """z ~ p(z) = N(0, I): (num, latent_dim) float32 draws from `key`."""
        return jax.random.normal(key, (num, self.latent_dim), jnp.float32)

    def __call__(self, x):
        mean, logvar, hidden = self.encoder(x)
        z = self.sample_posterior(mean, logvar)
        logits = self.decoder(z)
        aux = {"code": mean, "mean": mean, "logvar": logvar, "z": z, "hidden": hidden,
               "log_q": log_normal(z, mean, logvar), "log_p": self.log_prior(z),
               "output_mean": get_activation(self.output_activation)(logits)}
        if self.learn_output_variance:
            aux["output_logvar"] = self.output_variance()
        return logits, aux


@MODELS.register("vae_mlp")
def build_vae_mlp(model_config, example_shape) -> VAE:
    """model.name="vae_mlp": dense encoder (hidden_sizes) and decoder; the conv layer fields
    are not read (a dense VAE has none)."""
    return module_from_config(VAE, model_config, output_shape=example_shape,
                              encoder_layers=(), decoder_layers=())


@MODELS.register("vae_conv")
def build_vae_conv(model_config, example_shape) -> VAE:
    """model.name="vae_conv": conv encoder_layers [+ hidden_sizes] and conv decoder_layers."""
    if not model_config.encoder_layers or not model_config.decoder_layers:
        raise ValueError("vae_conv needs model.encoder_layers and model.decoder_layers")
    return module_from_config(VAE, model_config, output_shape=example_shape)
