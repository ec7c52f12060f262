"""Seed 002's dense autoencoder with MSE: 784 -> Dense(32, relu) -> Dense(784, relu),
Adadelta, mean squared error, batch 256, 50 epochs.

The seed's Keras 2 Adadelta had learning rate 1.0 (Keras 3 changed the default to 0.001, at
which this model barely moves in 50 epochs); 1.0 is used here.

    python train.py --config=configs/dense_ae_mse.py --workdir=runs/dense_ae_mse

Keras's initialisation (Glorot-uniform kernels, zero biases: `default.keras_initialisation`).

Measured (Fashion-MNIST, 2-core CPU): test MSE 0.0379 per pixel after 50 epochs (0.0516 with
Flax's LeCun-normal initialisation).
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.name = "fashion_mnist"
    config.model.name = "mlp"
    config.model.latent_dim = 32
    config.model.output_activation = "relu"
    config.loss.reconstruction = "mse"
    config.optimizer.name = "adadelta"
    config.optimizer.learning_rate = 1.0
    config.batch_size = 256
    config.num_epochs = 50
    return default.keras_initialisation(config)
