"""VAE-GAN (Larsen, Sonderby, Larochelle & Winther 2016, "Autoencoding beyond pixels using a
learned similarity metric") on Fashion-MNIST: a VAE whose reconstruction error is the
squared error of a GAN discriminator's features, and whose decoder is the GAN's generator
(family "vae_gan", ae_jax/families/vae_gan.py, which gives the losses and the gradient
routing of Algorithm 1).

Encoder 784 -> 512 -> 256 -> mean / log-variance 32, decoder 32 -> 256 -> 512 -> 784
logits (ReLU); discriminator 784 -> 512 -> 256 -> 1 (leaky ReLU 0.2), the reconstruction
measured in its 256-unit layer (gan.feature_layer = -1). Per step the encoder follows
KL + L_llike, the decoder gamma L_llike + the non-saturating GAN cost on reconstructions and
prior samples, the discriminator the cross-entropy of real vs both kinds of fakes. No pixel
term (gan.pixel_weight = 0: the pixel BCE is reported only). The paper's networks are
convolutional, on 64x64 CelebA; these dense ones fit 28x28 images on a CPU.

Optimizers: Adam, learning rate 3e-4 (the paper's rate; it used RMSprop) with beta1 = 0.5
(Radford et al. 2016's choice for adversarial training), for both the VAE and the
discriminator; batch 64 as in the paper. gamma = gan.llike_weight = 1 weighs the feature
error against the GAN cost in the decoder's loss (a choice, not tuned).

    python train.py --config=configs/vae_gan.py --workdir=runs/vae_gan

Writes plots/samples_epoch_<epoch>.png (decoded prior samples from fixed z), the test
reconstructions, and kl, llike, bce, d_loss, g_loss, d_real, d_recon, d_fake per epoch.

Zoo benchmark (`python -m ae_jax.benchmark --models=vae_gan --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 364 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 287.70 +- 2.10 and squared error 29.57 +- 0.65 per image
(decode(encode(x))).
"""

import ml_collections

from configs import default

ZOO = dict(model="VAE-GAN (dense, features of D's 256 layer)",
           paper="Larsen et al. 2016, Autoencoding beyond pixels using a learned similarity "
                 "metric")


def get_config():
    config = default.get_config()
    config.family = "vae_gan"
    config.data.name = "fashion_mnist"
    config.model.update(dict(
        name="vae_gan_mlp",
        latent_dim=32,
        hidden_sizes=(512, 256),
        activation="relu",
        discriminator_hidden_sizes=(512, 256),
        leaky_slope=0.2,
    ))
    config.gan.update(dict(
        feature_layer=-1,   # Dis_l = the 256-unit layer
        llike_weight=1.0,   # gamma
        pixel_weight=0.0,   # no pixel term
    ))
    config.optimizer.update(dict(name="adam", learning_rate=3e-4, beta1=0.5))
    config.discriminator_optimizer = ml_collections.ConfigDict(config.optimizer.to_dict())
    config.plot_every_epochs = 1  # a grid of samples from fixed z after every epoch
    config.batch_size = 64
    config.num_epochs = 20
    return config
