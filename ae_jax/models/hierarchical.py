"""A VAE with two stochastic layers (Burda, Grosse & Salakhutdinov, 2016, "Importance
Weighted Autoencoders", ICLR; their 2-layer architecture).

    generative  p(z2) = N(0, I),  p(z1 | z2) = N(mu_p(z2), diag e^v_p(z2)),  p(x | z1)
    inference   q(z1 | x) = N(mu_1(x), diag e^v_1(x)),  q(z2 | z1) = N(mu_2(z1), diag e^v_2(z1))

Burda et al.'s sizes: x -> 200 -> 200 -> z1 (100) -> 100 -> 100 -> z2 (50) for q, and
z2 -> 100 -> 100 -> z1, z1 -> 200 -> 200 -> x (Bernoulli logits) for p, tanh units; every
Gaussian has a linear mean head and a linear log-variance head.

The code is z = concat(z1, z2) along the last axis, (..., latent_dim + second_latent_dim),
for the DENSITY ability (ae_jax/models/abilities.py):

    posterior_samples(x, k)  z1 ~ q(z1 | x), then z2 ~ q(z2 | z1) for each draw, both
                             reparameterised with the "sample" rng; log q = log q(z1 | x) +
                             log q(z2 | z1), (k, B)
    log_prior(z)             log N(z2; 0, I) + log p(z1 | z2), any leading shape
    decode(z)                p(x | z1): the z1 part of z
    sample_prior(key, n)     ancestral: z2 ~ N(0, I), then z1 ~ p(z1 | z2)
    encode(x)                the deterministic code concat(m1, mu_2(m1)), m1 = mu_1(x): the mean
                             of q(z1 | x) and the mean of q(z2 | z1) at that mean (not the
                             mean of z2 under q, which has no closed form)

The model has no POSTERIOR ability: q(z | x) is not one diagonal Gaussian over z.

__call__ draws one (z1, z2) ~ q and returns aux["log_q"], aux["log_p"] at it, so
`loss.terms = dict(kl_sampled=1.0)` with BCE summed over the pixels is the single-sample
negative ELBO of the hierarchy,

    -ELBO(x) ~= -log p(x | z1) + log q(z1 | x) + log q(z2 | z1) - log p(z1 | z2) - log p(z2).

The IWAE variant trains on -L_k instead: `loss.terms = dict(iwae=1.0)`,
`loss.reconstruction = "none"` (and `loss.iwae_samples = k`; the iwae term draws from
`posterior_samples` and scores with `log_prior`). Without a "sample" rng (init, summaries)
z1 and z2 are the means, as in ae_jax/models/vae.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ae_jax.distributions import log_normal, log_standard_normal, reparameterize
from ae_jax.models.abilities import DECODE, DENSITY, ENCODE, PRIOR
from ae_jax.models.activations import get_activation
from ae_jax.models.build import MODELS, module_from_config
from ae_jax.models.mlp import MLPDecoder


class GaussianLayer(nn.Module):
    """h (..., F) -> dense hidden layers -> (mean, logvar) (..., L), over the last axis."""

    latent_dim: int
    hidden_sizes: Sequence[int] = ()
    activation: str = "tanh"

    @nn.compact
    def __call__(self, h):
        act = get_activation(self.activation)
        hidden = []
        for i, size in enumerate(self.hidden_sizes):
            h = act(nn.Dense(size, name=f"dense_{i}")(h))
            hidden.append(h)
        return (nn.Dense(self.latent_dim, name="mean")(h),
                nn.Dense(self.latent_dim, name="logvar")(h), tuple(hidden))


class TwoLayerVAE(nn.Module):
    """Two stochastic layers z1, z2 (module docstring).

    Attributes:
      output_shape: (H, W, C) of one example.
      latent_dim: units of z1, the layer next to x (Burda et al.: 100).
      second_latent_dim: units of z2, the top layer (50).
      hidden_sizes: dense layers of q(z1 | x), input side first ((200, 200)).
      decoder_hidden_sizes: dense layers of p(x | z1), z1 side first; None mirrors
        hidden_sizes.
      second_hidden_sizes: dense layers of q(z2 | z1), z1 side first ((100, 100));
        p(z1 | z2) uses them reversed.
      activation: hidden-layer activation (tanh in the paper).
      output_activation: logits -> x_hat.
    """

    ABILITIES: ClassVar[frozenset[str]] = frozenset({ENCODE, DECODE, PRIOR, DENSITY})
    learn_output_variance: ClassVar[bool] = False  # Bernoulli (or fixed-sigma) decoder only

    output_shape: Sequence[int]
    latent_dim: int
    second_latent_dim: int
    hidden_sizes: Sequence[int] = (200, 200)
    decoder_hidden_sizes: Sequence[int] | None = None
    second_hidden_sizes: Sequence[int] = (100, 100)
    activation: str = "tanh"
    output_activation: str = "sigmoid"

    def setup(self):
        second = tuple(self.second_hidden_sizes)
        self.q_z1 = GaussianLayer(self.latent_dim, tuple(self.hidden_sizes), self.activation)
        self.q_z2 = GaussianLayer(self.second_latent_dim, second, self.activation)
        self.p_z1 = GaussianLayer(self.latent_dim, tuple(reversed(second)), self.activation)
        dec = self.decoder_hidden_sizes
        dec = tuple(reversed(self.hidden_sizes)) if dec is None else tuple(dec)
        self.decoder = MLPDecoder(dec, tuple(self.output_shape), self.activation)

    def _split(self, z):
        """z (..., L1 + L2) -> (z1 (..., L1), z2 (..., L2))."""
        return z[..., :self.latent_dim], z[..., self.latent_dim:]

    def _sample(self, mean, logvar, num_samples: int | None = None):
        """Reparameterised draws with the "sample" rng; the mean (K times) without one."""
        if not self.has_rng("sample"):
            return mean if num_samples is None else jnp.broadcast_to(
                mean, (num_samples, *mean.shape))
        return reparameterize(self.make_rng("sample"), mean, logvar, num_samples)

    def _q_z1(self, x):
        """(mean, logvar, hidden) of q(z1 | x), (B, L1) each."""
        return self.q_z1(x.reshape((x.shape[0], -1)))  # (B, H, W, C) -> (B, D)

    def _draw(self, x, num_samples: int | None = None):
        """(z (..., B, L1 + L2), log q(z1|x) + log q(z2|z1) (..., B), encoder hidden) of
        z1 ~ q(z1 | x), z2 ~ q(z2 | z1); leading axis K when num_samples is given."""
        m1, v1, hidden = self._q_z1(x)
        z1 = self._sample(m1, v1, num_samples)
        m2, v2, _ = self.q_z2(z1)
        z2 = self._sample(m2, v2)
        log_q = log_normal(z1, m1, v1) + log_normal(z2, m2, v2)
        return jnp.concatenate([z1, z2], axis=-1), log_q, hidden

    def posterior_samples(self, x, num_samples: int):
        """(z (K, B, L1 + L2) ~ q(z1 | x) q(z2 | z1), log q (K, B))."""
        z, log_q, _ = self._draw(x, num_samples)
        return z, log_q

    def log_prior(self, z):
        """log p(z1, z2) = log N(z2; 0, I) + log p(z1 | z2) over the last axis."""
        z1, z2 = self._split(z)
        mean, logvar, _ = self.p_z1(z2)
        return log_standard_normal(z2) + log_normal(z1, mean, logvar)

    def sample_prior(self, key, num: int):
        """Ancestral z2 ~ N(0, I), z1 ~ p(z1 | z2): (num, L1 + L2) float32 from `key`."""
        k2, k1 = jax.random.split(key)
        z2 = jax.random.normal(k2, (num, self.second_latent_dim), jnp.float32)
        mean, logvar, _ = self.p_z1(z2)
        return jnp.concatenate([reparameterize(k1, mean, logvar), z2], axis=-1)

    def encode(self, x):
        """concat(m1, mu_2(m1)), m1 the mean of q(z1 | x): (B, L1 + L2)."""
        m1, _, _ = self._q_z1(x)
        return jnp.concatenate([m1, self.q_z2(m1)[0]], axis=-1)

    def decode(self, z):
        """Logits of p(x | z1), (B, *output_shape), for codes z (B, L1 + L2)."""
        return self.decoder(self._split(z)[0])

    def __call__(self, x):
        z, log_q, hidden = self._draw(x)
        logits = self.decode(z)
        aux = {"code": self.encode(x), "z": z, "hidden": hidden, "log_q": log_q,
               "log_p": self.log_prior(z),
               "output_mean": get_activation(self.output_activation)(logits)}
        return logits, aux


@MODELS.register("vae_two_layer")
def build_vae_two_layer(model_config, example_shape) -> TwoLayerVAE:
    """model.name="vae_two_layer": TwoLayerVAE from hidden_sizes, latent_dim,
    second_hidden_sizes, second_latent_dim (and decoder_hidden_sizes, activation)."""
    return module_from_config(TwoLayerVAE, model_config, output_shape=example_shape)
