"""The conditional VAE (Sohn, Lee & Yan 2015, "Learning Structured Output Representation
using Deep Conditional Generative Models"; Kingma et al. 2014's M2 with observed labels):
encoder and decoder both see the class label y,

    q(z | x, y) = N(mean(x, y), diag exp(logvar(x, y)))    dense encoder on [x, onehot(y)]
    p(x | z, y)                                             dense decoder on [z, onehot(y)]
    -ELBO(x | y) = E_q[-log p(x | z, y)] + KL(q(z | x, y) || N(0, I))

so that the loss terms of a plain VAE (BCE summed over pixels + `kl`) train it unchanged.
The decoder's input c = [z, onehot(y)] (B, L + C) is the model's code: `decode(c)` needs no
label argument, the prior sampler draws z ~ N(0, I) with a uniform class, and
`class_codes(key, labels)` gives codes of chosen classes (the `conditional` evaluation task).
The model declares CONDITIONAL, so the engine hands the family each batch with its labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from ae_jax.distributions import log_normal, log_standard_normal, reparameterize
from ae_jax.models.abilities import CONDITIONAL, DECODE, PRIOR
from ae_jax.models.activations import get_activation
from ae_jax.models.build import MODELS, module_from_config
from ae_jax.models.mlp import MLPDecoder
from ae_jax.models.vae import GaussianEncoder


class CVAE(nn.Module):
    """Dense conditional VAE.

    Attributes:
      output_shape: (H, W, C) of one example.
      latent_dim: size of z (the code adds num_classes one-hot entries).
      num_classes: classes of the label y (labels are 0 .. num_classes - 1).
      hidden_sizes: encoder dense layers, input side first.
      decoder_hidden_sizes: decoder dense layers, code side first; None mirrors the encoder.
    """

    ABILITIES: ClassVar[frozenset[str]] = frozenset({DECODE, PRIOR, CONDITIONAL})

    output_shape: Sequence[int]
    latent_dim: int
    num_classes: int
    hidden_sizes: Sequence[int] = ()
    decoder_hidden_sizes: Sequence[int] | None = None
    activation: str = "relu"
    output_activation: str = "sigmoid"

    def setup(self):
        self.encoder = GaussianEncoder(self.latent_dim, tuple(self.hidden_sizes),
                                       activation=self.activation)
        dec = self.decoder_hidden_sizes
        dec = tuple(reversed(self.hidden_sizes)) if dec is None else tuple(dec)
        self.decoder = MLPDecoder(dec, tuple(self.output_shape), self.activation)

    def with_class(self, z, labels):
        """The code [z, onehot(y)]: (B, L) and (B,) -> (B, L + C)."""
        return jnp.concatenate([z, jax.nn.one_hot(labels, self.num_classes, dtype=z.dtype)], -1)

    def posterior(self, x, labels):
        """(mean, logvar) of q(z | x, y), each (B, L)."""
        h = self.with_class(x.reshape((x.shape[0], -1)), labels)  # (B, H, W, C) -> (B, D + C)
        mean, logvar, _ = self.encoder(h)
        return mean, logvar

    def decode(self, code):
        """Logits (B, *output_shape) of codes [z, onehot(y)] (B, L + C)."""
        return self.decoder(code)

    def class_codes(self, key, labels):
        """Codes of the given classes: [z, onehot(y)] with z ~ N(0, I) from `key`."""
        z = jax.random.normal(key, (labels.shape[0], self.latent_dim), jnp.float32)
        return self.with_class(z, labels)

    def sample_prior(self, key, num: int):
        """Codes of p(z) p(y): z ~ N(0, I) and a class drawn uniformly, (num, L + C)."""
        k_z, k_y = jax.random.split(key)
        return self.class_codes(k_z, jax.random.randint(k_y, (num,), 0, self.num_classes))

    def __call__(self, x, labels):
        mean, logvar = self.posterior(x, labels)
        z = reparameterize(self.make_rng("sample"), mean, logvar) if self.has_rng(
            "sample") else mean
        logits = self.decoder(self.with_class(z, labels))
        aux = {"code": mean, "mean": mean, "logvar": logvar, "z": z,
               "log_q": log_normal(z, mean, logvar), "log_p": log_standard_normal(z),
               "output_mean": get_activation(self.output_activation)(logits)}
        return logits, aux


@MODELS.register("cvae_mlp")
def build_cvae_mlp(model_config, example_shape) -> CVAE:
    """model.name="cvae_mlp": dense encoder (hidden_sizes) and decoder, conditioned on the
    label (model.num_classes)."""
    return module_from_config(CVAE, model_config, output_shape=example_shape)
