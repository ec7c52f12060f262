"""Seed 003 (TP5): the course's best font autoencoder, [35, 25, 17, 2, 17, 25, 35], with the
course's training: 150 epochs of SGD, learning rate 0.05, momentum 0.9, on all 96 glyphs.

Activations (the report does not name them; it trains by gradient descent with and without
momentum): tanh hidden layers, a linear 2-D code and a sigmoid output with binary
cross-entropy (mean over the 35 pixels). Mini-batches of 4: with lr 0.05 this trained every
architecture of the study stably, with and without momentum (momentum 0.9 with
single-example steps made the deeper nets diverge). This is also the base config of the
architecture sweep (`python -m projects.fonts.study sweep`).

    python train.py --config=configs/fonts_ae.py --workdir=runs/fonts_ae

150 epochs leave about 5 wrong pixels per character after thresholding at 0.5; for a model
that reconstructs (nearly) every glyph, see configs/fonts_ae_long.py.
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.name = "fonts"
    config.data.fonts = (0, 1, 2)
    config.data.test_fraction = 0.0  # the course trains and reports on all characters
    config.model.name = "mlp"
    config.model.hidden_sizes = (25, 17)
    config.model.latent_dim = 2
    config.model.activation = "tanh"
    config.model.latent_activation = "linear"
    config.model.output_activation = "sigmoid"
    config.loss.reconstruction = "bce"
    config.loss.reduction = "mean"
    config.optimizer.name = "sgd"
    config.optimizer.learning_rate = 0.05
    config.optimizer.momentum = 0.9
    config.batch_size = 4
    config.num_epochs = 150
    config.checkpoint_every_epochs = 50
    config.keep_checkpoints = 1
    config.num_plot_images = 32
    config.tensorboard = False
    return config
