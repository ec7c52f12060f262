"""Seed 003 (TP5): the best font architecture [35, 25, 17, 2, 17, 25, 35] trained to
(near) convergence, for generating new characters from its 2-D latent space.

Adam 3e-3 with cosine decay, 2,000 epochs of mini-batches of 4 (configs/fonts_ae.py has
the course's 150 epochs of SGD). Used by `python -m projects.fonts.study generate`.

    python train.py --config=configs/fonts_ae_long.py --workdir=runs/fonts_ae_long
"""

from configs import fonts_ae


def get_config():
    config = fonts_ae.get_config()
    config.optimizer.name = "adam"
    config.optimizer.learning_rate = 3e-3
    config.optimizer.momentum = 0.0
    config.optimizer.schedule = "cosine"
    config.num_epochs = 2000
    config.checkpoint_every_epochs = 500
    config.progress_bar = False
    return config
