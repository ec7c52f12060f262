"""A GAN with dense networks on Fashion-MNIST (seed 000's costs, non-saturating generator).

G: z ~ N(0, I_100) -> Dense 256 -> BN -> lReLU -> Dense 512 -> BN -> lReLU -> Dense 784 logits;
D: x -> 2x - 1 -> Dense 512 -> lReLU -> Dense 256 -> lReLU -> Dense 1 logit. Adam 2e-4,
beta1 0.5 for both (Radford et al., 2016), batch 64.

    python train.py --config=configs/gan_mlp.py --workdir=runs/gan_mlp

Writes plots/samples_epoch_<epoch>.png (fixed z) and D(x), D(G(z)) per epoch in
metrics.jsonl; ae_jax/evaluation/frechet.py scores the samples.
"""

import ml_collections

from configs import default


def get_config():
    config = default.get_config()
    config.family = "gan"
    config.data.name = "fashion_mnist"
    config.model.update(dict(
        name="mlp_gan",
        latent_dim=100,
        generator_hidden_sizes=(256, 512),
        generator_batch_norm=True,
        discriminator_hidden_sizes=(512, 256),
        leaky_slope=0.2,
        bn_momentum=0.9,  # running = 0.9 * running + 0.1 * batch (PyTorch's 0.1)
    ))
    config.optimizer.learning_rate = 2e-4
    config.optimizer.beta1 = 0.5
    config.discriminator_optimizer = ml_collections.ConfigDict(config.optimizer.to_dict())
    config.plot_every_epochs = 1  # a grid of samples from fixed z after every epoch
    config.batch_size = 64
    config.num_epochs = 30
    return config
