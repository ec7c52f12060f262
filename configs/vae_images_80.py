"""Seed 003 (TP5, problem 2): a VAE on a folder of images resized to 80x80 grayscale.

Keras shapes: encoder 6400 -> Dense(256, relu) (1,638,656) -> mean Dense(2) (514) and
log-variance Dense(2) (514); decoder 2 -> Dense(256, relu) (768) -> Dense(6400) logits
(1,644,800), sigmoid output; 3,285,252 parameters. BCE summed over pixels + KL (the negative
ELBO in nats per image), Adam 1e-3. The seed trained 50 and 200 epochs on its 426 images,
which are not available: make a folder of 426 rendered shapes first (or point
--config.data.data_dir at any image folder; sub-folders become classes):

    python scripts/make_shapes_folder.py --out=runs/data/shapes
    python train.py --config=configs/vae_images_80.py --workdir=runs/vae_images_80
    python evaluate.py --workdir=runs/vae_images_80 --task=generate   # 5x5 grid + points

Keras's initialisation (Glorot-uniform kernels, zero biases: `default.keras_initialisation`).

Measured on the 426 rendered shapes (383 train / 43 test), 50 epochs, CPU: test negative
ELBO 1,665.4 nats per image = BCE 1,642.4 + KL 23.0 (0.257 nats per pixel); with Flax's
LeCun-normal initialisation 1,601.5 (43 test images: a small, noisy test split).
The 640 + 256 version: configs/vae_images_80_640.py.
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.name = "image_folder"
    config.data.data_dir = "runs/data/shapes"
    config.data.image_size = 80
    config.data.grayscale = True
    config.data.test_fraction = 0.1
    config.model.name = "vae_mlp"
    config.model.latent_dim = 2
    config.model.hidden_sizes = (256,)
    config.loss.reconstruction = "bce"
    config.loss.reduction = "sum"
    config.loss.terms = dict(kl=1.0)
    config.batch_size = 32
    config.num_epochs = 50
    return default.keras_initialisation(config)
