"""Seed 003 (TP5): denoising font autoencoder [35, 25, 17, 5, 17, 25, 35] with bit-flip
noise p = 0.1 (each pixel flipped with probability 0.1; the target stays the clean glyph).

The noise is drawn afresh inside every training step, so every epoch shows each character
with a new noisy copy (the course trained on a fixed set of 4 noisy copies per character).
Evaluation (`python -m projects.fonts.study denoise`) reports the error on 4 fixed noisy
copies of every character, as the course did, and at other noise levels.

    python train.py --config=configs/fonts_denoising.py --workdir=runs/fonts_denoising
"""

from configs import fonts_ae


def get_config():
    config = fonts_ae.get_config()
    config.model.hidden_sizes = (25, 17)
    config.model.latent_dim = 5
    config.corruption.name = "bit_flip"
    config.corruption.probability = 0.1
    config.optimizer.name = "adam"
    config.optimizer.learning_rate = 3e-3
    config.optimizer.momentum = 0.0
    config.optimizer.schedule = "cosine"
    config.num_epochs = 1000
    config.checkpoint_every_epochs = 250
    config.progress_bar = False
    return config
