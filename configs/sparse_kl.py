"""Sparse autoencoder with the KL sparsity penalty (seed 004):
784 -> Dense(32, sigmoid) -> Dense(784, sigmoid),

    loss = BCE(x, x_hat) + beta * sum_j KL(rho || rho_hat_j),   rho = 0.05,
    rho_hat_j = mean activation of code unit j over the batch.

Adam 1e-3, batch 256, 50 epochs. The code must be a sigmoid layer (values in (0, 1)).

    python train.py --config=configs/sparse_kl.py --workdir=runs/sparse_kl

Measured here (Fashion-MNIST, 50 epochs, about 0.6 s per epoch on a 2-core CPU): test BCE
0.2954, kl_sparsity 0.316, mean code activation 0.086 (per-unit means 0.069 to 0.107, for
rho = 0.05); the same run with --config.loss.terms.kl_sparsity=0: test BCE 0.2876, mean code
activation 0.497, kl_sparsity 16.1.
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.name = "fashion_mnist"
    config.model.name = "mlp"
    config.model.latent_dim = 32
    config.model.latent_activation = "sigmoid"
    config.loss.terms.kl_sparsity = 1e-2
    config.loss.sparsity_target = 0.05
    config.batch_size = 256
    config.num_epochs = 50
    return config
