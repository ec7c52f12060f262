"""Seed 003's second VAE on 80x80 images: 640 + 256 hidden units on each side.

Encoder 6400 -> 640 (4,096,640) -> 256 (164,096) -> mean 2 (514), log-variance 2 (514);
decoder 2 -> 256 (768) -> 640 (164,480) -> 6400 (4,102,400); 8,529,412 parameters. Everything
else as configs/vae_images_80.py (make the image folder first, as described there).

    python train.py --config=configs/vae_images_80_640.py --workdir=runs/vae_images_80_640

Measured on the 426 rendered shapes, 50 epochs, CPU: test negative ELBO 1,461.5 nats per
image = BCE 1,449.2 + KL 12.2 (Keras's initialisation, as configs/vae_images_80.py; 1,485.8
with Flax's).
"""

from configs import vae_images_80


def get_config():
    config = vae_images_80.get_config()
    config.model.hidden_sizes = (640, 256)  # the decoder mirrors: 256, 640
    return config
