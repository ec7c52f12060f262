"""DCGAN (Radford et al., 2016) sized for 28x28 Fashion-MNIST, seed 000's costs.

G: z ~ N(0, I_100) -> Dense 7*7*128 -> BN -> ReLU -> ConvT 64 4x4/2 -> BN -> ReLU
   -> ConvT 1 4x4/2 logits (28x28); D: Conv 64 4x4/2 -> lReLU -> Conv 128 4x4/2 -> BN -> lReLU
   -> Dense 1 logit. Weights N(0, 0.02^2), Adam 2e-4 beta1 0.5, batch 128, as in the paper.

    python train.py --config=configs/dcgan.py --workdir=runs/dcgan

On a CPU an epoch of 60,000 images is slow; `--config.data.train_limit=10000` trains on the
first 10,000 (see README for what was run and the numbers it gave).
"""

import ml_collections

from configs import default


def get_config():
    config = default.get_config()
    config.family = "gan"
    config.data.name = "fashion_mnist"
    config.model.update(dict(
        name="dcgan",
        latent_dim=100,
        generator_features=(128, 64),      # 7x7x128 -> 14x14x64 -> 28x28x1
        discriminator_features=(64, 128),  # 14x14x64 -> 7x7x128 -> 1
        discriminator_batch_norm=True,
        kernel_size=4,
        leaky_slope=0.2,
        bn_momentum=0.9,  # running = 0.9 * running + 0.1 * batch (PyTorch's 0.1)
    ))
    config.optimizer.learning_rate = 2e-4
    config.optimizer.beta1 = 0.5
    config.discriminator_optimizer = ml_collections.ConfigDict(config.optimizer.to_dict())
    config.plot_every_epochs = 1  # a grid of samples from fixed z after every epoch
    config.batch_size = 128
    config.num_epochs = 20
    # loop "auto" is "steps" on CPU (conv gradients in a while loop are slow on XLA:CPU). A
    # chunk of one step is still a while loop (lax.scan of length 1 with unroll=True emits
    # one in JAX 0.10.2): 14.5 s/step vs 2.7 s/step with 4 steps per call, this config on a
    # shared, heavily loaded 2-core CPU. Four unrolled steps per call avoid it.
    config.steps_per_call = 4
    return config
