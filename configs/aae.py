"""Adversarial autoencoder (Makhzani et al., 2016): the bridge between the autoencoders and
the GANs. A dense autoencoder 784-512-256-8 (linear code) - 256-512-784 whose code
distribution is pushed toward the prior N(0, I_8) by a discriminator on codes
(8 -> 256 -> 256 -> 1, leaky ReLU). Per step: D learns prior samples (real) vs codes (fake);
then the autoencoder minimises BCE(x, x_hat) + adversarial_weight * C_G(D(code)).
Decoding z ~ N(0, I) then generates images, like a VAE.

    python train.py --config=configs/aae.py --workdir=runs/aae
"""

import ml_collections

from configs import default


def get_config():
    config = default.get_config()
    config.family = "aae"
    config.data.name = "fashion_mnist"
    config.model.update(dict(
        name="aae",
        latent_dim=8,
        hidden_sizes=(512, 256),
        activation="relu",
        discriminator_hidden_sizes=(256, 256),
        leaky_slope=0.2,
    ))
    config.optimizer.learning_rate = 1e-3
    config.discriminator_optimizer = ml_collections.ConfigDict(config.optimizer.to_dict())
    config.discriminator_optimizer.learning_rate = 2e-4
    config.discriminator_optimizer.beta1 = 0.5
    config.gan.update(dict(
        # The BCE is a mean over pixels (0.31 after 3 epochs on Fashion-MNIST) and C_G is
        # ln 2 = 0.69 at balance; 0.05 keeps reconstruction first. A choice, not tuned.
        adversarial_weight=0.05,
    ))
    config.plot_every_epochs = 1  # a grid of samples from fixed z after every epoch
    config.batch_size = 128
    config.num_epochs = 20
    return config
