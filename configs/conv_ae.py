"""Seed 000's convolutional autoencoder, 4,385 parameters:

Conv16 (160) - pool - Conv8 (1,160) - pool - Conv8 (584) - pool 'same' (7 -> 4): code 4x4x8;
Conv8 (584) - up - Conv8 (584) - up - Conv16 'valid' 16 -> 14 (1,168) - up - Conv1 sigmoid (145).
BCE, Adam 1e-3, batch 128, 10 epochs (the seed trains it for its pictures).

    python train.py --config=configs/conv_ae.py --workdir=runs/conv_ae

Keras's initialisation (Glorot-uniform kernels, zero biases: `default.keras_initialisation`).

Measured (Fashion-MNIST, 2-core CPU, 2026-12-03): test BCE 0.2883 per pixel after 10 epochs,
about 12 s per epoch with its test pass and 2 min 24 s for the whole command (the conv_ops
layers, the scanned epoch). Before the scanned epoch: 0.2886 (0.2885 with Flax's LeCun-normal
initialisation), 10.6-13.3 s per epoch on a quiet machine with loop "steps"; about 41 s, on a
busier machine, with nn.Conv / nn.max_pool before the conv_ops layers.
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.name = "fashion_mnist"
    config.model.name = "conv"
    config.model.latent_dim = 0  # the code is the 4x4x8 feature map
    config.model.encoder_layers = ("conv16", "pool", "conv8", "pool", "conv8", "pool")
    config.model.decoder_layers = ("conv8", "up", "conv8", "up", "conv16_valid", "up")
    config.batch_size = 128
    config.num_epochs = 10
    return default.keras_initialisation(config)
