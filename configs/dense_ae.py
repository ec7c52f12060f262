"""Seed 000's dense autoencoder: 784 -> Dense(32, relu) -> Dense(784, sigmoid).

Encoder 25,120 + decoder 25,872 = 50,992 parameters (as the Keras summary). BCE (mean over
pixels), Adam 1e-3, batch 128, 50 epochs, validation on the test split.

    python train.py --config=configs/dense_ae.py --workdir=runs/dense_ae

Measured (Fashion-MNIST, Debian files, 2-core CPU): test BCE 0.2866 per pixel after 50 epochs,
about 0.5 s per epoch. (The seeds report about 0.09 on MNIST, whose BCE floor is lower.)
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.name = "fashion_mnist"
    config.model.name = "mlp"
    config.model.latent_dim = 32
    config.batch_size = 128
    config.num_epochs = 50
    return config
