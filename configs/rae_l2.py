"""RAE-L2 (Ghosh et al., ICLR 2020, "From Variational to Deterministic Autoencoders") on
Fashion-MNIST: a deterministic dense autoencoder with a penalty on the code's norm and weight
decay on the decoder only,

    loss = ||x - x_hat||^2 (summed over pixels) + beta * 1/2 ||z||^2 + lambda * ||theta_D||^2,
    beta = 1e-2,   lambda = 1e-4,

(ae_jax/objectives/rae.py: terms code_l2, decoder_l2_weights). Encoder 784 -> 512 ->
linear code 16 (the paper's MNIST latent size), decoder 16 -> 512 -> 784 sigmoid outputs;
Adam 1e-3, batch 128; Flax's default initialisation (the paper's MNIST nets are
convolutional with batch norm).

The weights are the authors' released MNIST settings (configurations/config.py of
github.com/ParthaEth/Regularized_autoencoders-RAE-: RAE-L2 with embedding weight 1e-4 and
decoder L2 weight 1e-7, batch 100) moved to this loss's units: their reconstruction is the
squared error averaged over the 784 pixels and their code loss mean_k z_k^2 over the 16
units, so multiplying their loss by 784 gives beta = 1e-4 * 784 * 2 / 16 = 0.0098 ~ 1e-2 and
lambda = 1e-7 * 784 = 7.8e-5 ~ 1e-4.

Generation is ex post: a 10-component full-covariance Gaussian mixture fitted to the
training codes,

    python train.py --config=configs/rae_l2.py --workdir=runs/rae_l2
    python evaluate.py --workdir=runs/rae_l2 --task=generate --option=sampler=gmm

Zoo benchmark (`python -m ae_jax.benchmark --models=rae_l2 --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 43 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 222.27 +- 0.05 and squared error 9.92 +- 0.01 per image
(decode(encode(x))).
"""

from configs import default

ZOO = dict(model="RAE-L2", paper="Ghosh et al. 2020, From Variational to Deterministic "
                                 "Autoencoders")


def get_config():
    config = default.get_config()
    config.data.name = "fashion_mnist"
    config.model.name = "mlp"
    config.model.latent_dim = 16
    config.model.hidden_sizes = (512,)
    config.model.latent_activation = "linear"
    config.loss.reconstruction = "mse"  # ||x - x_hat||^2 on the sigmoid outputs ...
    config.loss.reduction = "sum"       # ... summed over the pixels
    config.loss.terms = dict(code_l2=1e-2, decoder_l2_weights=1e-4)
    config.batch_size = 128
    config.num_epochs = 20
    return config
