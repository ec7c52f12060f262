"""Inpainting (seed 004 lists it among the applications) with the denoising conv model of
seed 000: Conv32 - pool - Conv32 - pool -> Conv32 - up - Conv32 - up - Conv1 sigmoid.

The corruption zeroes one random square hole of side round(0.25 * 28) = 7 pixels per image
(`block`); the target is the clean image. BCE, Adam 1e-3, batch 128, 100 epochs (the seeds
give no numbers for inpainting; the settings follow the denoising run).

    python train.py --config=configs/inpainting_conv_ae.py --workdir=runs/inpainting_conv_ae
    python evaluate.py --workdir=runs/inpainting_conv_ae --task=denoising --option=noise=block

Keras's initialisation (Glorot-uniform kernels, zero biases: `default.keras_initialisation`).

Measured here, on a shortened run only (5 epochs on the first 10,000 training images,
scored on the whole 10,000-image test split; the 100-epoch run is beyond this 2-core CPU):

    python train.py --config=configs/inpainting_conv_ae.py --workdir=runs/inpaint_short \
        --config.num_epochs=5 --config.data.train_limit=10000
    python evaluate.py --workdir=runs/inpaint_short --task=denoising --option=noise=block

test BCE 0.3009. With the 7x7 hole: PSNR 26.72 dB for the holed input; the output pasted
into the hole (psnr_filled) 30.19 dB (+3.5 dB), SSIM 0.841 -> 0.935. The raw output scores
only 17.81 dB: the autoencoder also blurs the 735 pixels it was given, which is why inpainting
is scored on the filled image.
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.name = "fashion_mnist"
    config.model.name = "conv"
    config.model.latent_dim = 0
    config.model.encoder_layers = ("conv32", "pool", "conv32", "pool")
    config.model.decoder_layers = ("conv32", "up", "conv32", "up")
    config.corruption.name = "block"
    config.corruption.block_fraction = 0.25
    config.batch_size = 128
    config.num_epochs = 100
    return default.keras_initialisation(config)
