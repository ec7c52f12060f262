"""Contractive autoencoder (Rifai et al. 2011): 784 -> Dense(32, sigmoid) -> Dense(784, sigmoid),

    loss = BCE(x, x_hat) + lambda * ||d code / d x||_F^2

with the Jacobian computed by JAX through the encoder (ae_jax/objectives/contractive.py;
32 vector-Jacobian products per batch). Adam 1e-3, batch 128, 10 epochs.

    python train.py --config=configs/contractive_ae.py --workdir=runs/contractive_ae

Measured here (Fashion-MNIST, 10 epochs): test BCE 0.3077 with ||J||_F^2 = 0.604; the same
run with --config.loss.terms.contractive=0 ends at test BCE 0.2970 with ||J||_F^2 = 7.93 (the
penalty makes the Jacobian 13x smaller for +0.011 BCE). The Jacobian makes an epoch about
20-27 s on this (busy) 2-core CPU, against about 0.5 s for a dense AE of this size without
it (configs/sparse_l1.py); the term is computed, for the metrics, even at weight 0.
"""

from configs import default


def get_config():
    config = default.get_config()
    config.data.name = "fashion_mnist"
    config.model.name = "mlp"
    config.model.latent_dim = 32
    config.model.latent_activation = "sigmoid"
    config.loss.terms.contractive = 1e-2
    config.batch_size = 128
    config.num_epochs = 10
    return config
