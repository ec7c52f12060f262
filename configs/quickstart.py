"""Quick start: the seeds' dense autoencoder on scikit-learn's bundled 8x8 digits.

No network and no data files needed; 64 -> 64 -> 16 -> 64 -> 64 (relu, sigmoid output), BCE,
Adam, batch 32.

    python train.py --config=configs/quickstart.py --workdir=runs/quickstart

Measured (digits, 2-core CPU): test BCE 0.2639 per pixel after 60 epochs, 20 s whole process.
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.name = "digits"
    config.model.latent_dim = 16
    config.model.hidden_sizes = (64,)
    config.batch_size = 32
    config.num_epochs = 60
    config.plot_every_epochs = 20
    return config
