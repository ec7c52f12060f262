"""VAE-GAN's networks (Larsen, Sonderby, Larochelle & Winther 2016, "Autoencoding beyond
pixels using a learned similarity metric"): the encoder q(z | x) and decoder p(x | z) of a
VAE (ae_jax/models/vae.py, as it is), and a discriminator Dis that returns its logit and the
activations of every hidden layer, so the family can measure reconstructions in Dis_l:

    Dis: x (B, H, W, C) in [0, 1] -> 2x - 1 -> flatten -> [Dense F_i -> leaky ReLU]_{i=1..L}
         -> Dense 1;   returns (logit (B,), (h_1 (B, F_1), ..., h_L (B, F_L)))

with Dis(x) = sigmoid(logit) the probability that x is real. The paper's networks are
convolutional (64x64 CelebA); for 28x28 Fashion-MNIST on a CPU a dense Dis 784-512-256-1
with Dis_l the 256 layer is enough.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax

from ae_jax.models.build import module_from_config
from ae_jax.models.vae import VAE
from ae_jax.registry import Registry

# name -> fn(model_config, example_shape) -> (autoencoder, discriminator, autoencoder input
# shape, discriminator input shape): the same contract as ae_jax/models/gan.py's registries,
# so the adversarial families' construction applies (family "vae_gan").
VAE_GAN_MODELS: Registry = Registry("VAE-GAN model", field="model.name")


class FeatureDiscriminator(nn.Module):
    """x (B, ...) -> (logit (B,), hidden activations): an MLP discriminator that also hands
    out what it computed on the way (Dis_l(x) = hidden[l])."""

    hidden_sizes: Sequence[int] = (512, 256)
    leaky_slope: float = 0.2

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False):
        h = 2.0 * x.reshape((x.shape[0], -1)) - 1.0  # (B, H, W, C) -> (B, H*W*C) in [-1, 1]
        hidden = []
        for i, size in enumerate(self.hidden_sizes):
            h = nn.leaky_relu(nn.Dense(size, name=f"dense_{i}")(h), self.leaky_slope)
            hidden.append(h)
        logit = nn.Dense(1, name="output")(h)[:, 0]  # (B, 1) -> (B,)
        return logit, tuple(hidden)


@VAE_GAN_MODELS.register("vae_gan_mlp")
def build_vae_gan_mlp(cfg, example_shape):
    """A dense VAE (model.hidden_sizes, latent_dim; decoder mirrored unless
    decoder_hidden_sizes) and a FeatureDiscriminator (model.discriminator_hidden_sizes,
    leaky_slope), both on images."""
    shape = tuple(example_shape)
    if cfg.output_activation != "sigmoid" or cfg.learn_output_variance:
        raise ValueError("vae_gan_mlp: the decoder's images are sigmoid(logits) (model."
                         "output_activation='sigmoid', learn_output_variance=False)")
    vae = module_from_config(VAE, cfg, output_shape=shape, encoder_layers=(),
                             decoder_layers=())
    disc = module_from_config(FeatureDiscriminator, cfg, prefix="discriminator_")
    return vae, disc, shape, shape
