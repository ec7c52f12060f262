"""Seed 002's dense denoising autoencoder: 784 -> Dense(32, relu) -> Dense(784, sigmoid),
input x + 0.5 N(0, 1) clipped to [0, 1], target the clean x; Adadelta, MSE, batch 256,
50 epochs.

The seed's Keras 2 Adadelta had learning rate 1.0 (see configs/dense_ae_mse.py); 1.0 is used.

    python train.py --config=configs/denoising_dense_mse.py --workdir=runs/denoising_dense_mse
    python evaluate.py --workdir=runs/denoising_dense_mse --task=denoising

Keras's initialisation (Glorot-uniform kernels, zero biases: `default.keras_initialisation`).

Measured here (Fashion-MNIST, 50 epochs, about 1.7 s per epoch): test MSE 0.0283 (noisy
input, clean target). evaluate.py --task=denoising on the 10,000 test images, gaussian 0.5:
PSNR 9.30 dB for the noisy input -> 15.92 dB for the output (+6.6 dB), SSIM 0.257 -> 0.427.
With Flax's LeCun-normal initialisation: MSE 0.0325, 15.32 dB, SSIM 0.372.
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.name = "fashion_mnist"
    config.model.name = "mlp"
    config.model.latent_dim = 32
    config.loss.reconstruction = "mse"
    config.optimizer.name = "adadelta"
    config.optimizer.learning_rate = 1.0
    config.corruption.name = "gaussian"
    config.corruption.stddev = 0.5
    config.batch_size = 256
    config.num_epochs = 50
    return default.keras_initialisation(config)
