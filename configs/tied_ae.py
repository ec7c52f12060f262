"""Seed 001's tied-weight autoencoder: h = sigmoid(x W + b), x_hat = sigmoid(h W^T + c).

784 -> 32 (sigmoid) -> 784 (sigmoid) with one kernel W (784 x 32) and two biases:
25,904 parameters instead of the untied model's 50,992. BCE, Adam 1e-3, batch 128, 50 epochs.

    python train.py --config=configs/tied_ae.py --workdir=runs/tied_ae

Measured here (Fashion-MNIST, 50 epochs): test BCE 0.3166 (the untied 784-32-784 relu
model of configs/sparse_l1.py without its penalty reaches 0.2835 in 100 epochs, with Keras's
initialisation). Not a Keras model: Flax's initialisation.
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.name = "fashion_mnist"
    config.model.name = "tied"
    config.model.latent_dim = 32
    config.model.latent_activation = "sigmoid"
    config.batch_size = 128
    config.num_epochs = 50
    return config
