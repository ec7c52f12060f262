"""Seed 000's denoising convolutional autoencoder, all 3x3 'same', relu:

Conv32 - pool - Conv32 - pool (code: the 7x7x32 feature map) -> Conv32 - up - Conv32 - up -
Conv1 sigmoid. Input x + 0.5 N(0, 1) clipped to [0, 1], target the clean x; BCE, Adam 1e-3,
batch 128, 100 epochs.

    python train.py --config=configs/denoising_conv_ae.py --workdir=runs/denoising_conv_ae
    python evaluate.py --workdir=runs/denoising_conv_ae --task=denoising

Keras's initialisation (Glorot-uniform kernels, zero biases: `default.keras_initialisation`).

Measured here, on a shortened run only (the 100 epochs of 60,000 images, about an hour at the
speed below, were not run): 5 epochs on the first 10,000 training images, scored on the whole
10,000-image test split (one noise draw),

    python train.py --config=configs/denoising_conv_ae.py --workdir=runs/dcae_short \
        --config.num_epochs=5 --config.data.train_limit=10000
    python evaluate.py --workdir=runs/dcae_short --task=denoising

test BCE 0.3141; gaussian 0.5: PSNR 9.30 dB for the noisy input -> 16.75 dB for the output
(+7.5 dB), SSIM 0.257 -> 0.500; salt-and-pepper (p = 0.3): 9.03 -> 16.52 dB (2026-12-03, the
conv_ops layers with the scanned epoch: about 4.1 s per 10,000-image epoch with its test pass,
42 s for the whole command, on the 2-core CPU; the same run before them gave 0.3137, 16.77 dB
and 0.502 with 12-20 s epochs). With Flax's LeCun-normal initialisation (measured before the
scanned epoch) it gave test BCE 0.3133, 16.81 dB, SSIM 0.510.
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.name = "fashion_mnist"
    config.model.name = "conv"
    config.model.latent_dim = 0  # the code is the 7x7x32 feature map
    config.model.encoder_layers = ("conv32", "pool", "conv32", "pool")
    config.model.decoder_layers = ("conv32", "up", "conv32", "up")
    config.corruption.name = "gaussian"
    config.corruption.stddev = 0.5
    config.batch_size = 128
    config.num_epochs = 100
    return default.keras_initialisation(config)
