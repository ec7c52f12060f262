"""RAE-GP (Ghosh et al., ICLR 2020, "From Variational to Deterministic Autoencoders") on
Fashion-MNIST: a deterministic dense autoencoder with a penalty on the code's norm and on the
decoder's Jacobian at the code,

    loss = ||x - x_hat||^2 (summed over pixels) + beta * 1/2 ||z||^2
           + lambda * ||d D(z) / d z||_F^2,        beta = 1e-2,   lambda = 1e-3,

(ae_jax/objectives/rae.py: terms code_l2, decoder_gradient_penalty; D is the decoder's
logits, the penalty exact: 16 Jacobian-vector products per batch). Encoder 784 -> 512 ->
linear code 16 (the paper's MNIST latent size), decoder 16 -> 512 -> 784 sigmoid outputs;
Adam 1e-3, batch 128; Flax's default initialisation.

beta is the authors' released MNIST embedding weight 1e-4 in this loss's units (see
configs/rae_l2.py). Their released gradient penalty is not this one (it squares the gradient
of sum_i x_hat_i^2 with respect to z, weight 0.5e-7), so its weight does not carry over:
lambda = 1e-3 is a choice made here (untuned), so that the weighted penalty stays small
next to the reconstruction error instead of dominating it.

    python train.py --config=configs/rae_gp.py --workdir=runs/rae_gp
    python evaluate.py --workdir=runs/rae_gp --task=generate --option=sampler=gmm

Zoo benchmark (`python -m ae_jax.benchmark --models=rae_gp --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 452 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 225.05 +- 0.08 and squared error 10.28 +- 0.09 per image
(decode(encode(x))).
"""

from configs import rae_l2

ZOO = dict(model="RAE-GP", paper="Ghosh et al. 2020, From Variational to Deterministic "
                                 "Autoencoders")


def get_config():
    config = rae_l2.get_config()  # Fashion-MNIST, dense 784-512-16, squared error summed
    config.loss.terms = dict(code_l2=1e-2, decoder_gradient_penalty=1e-3)
    return config
