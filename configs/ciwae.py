"""CIWAE (Rainforth et al. 2018, "Tighter Variational Bounds are Not Necessarily Better"):
the combination importance-weighted autoencoder, a convex combination of the ELBO and the
IWAE bound of the same K draws,

    loss = -CIWAE_beta(x) = -[beta * 1/K sum_k log w_k + (1 - beta) * log (1/K sum_k w_k)],
           w_k = p(x | z_k) p(z_k) / q(z_k | x),   z_k ~ q(z | x),

with beta = 0.5 (loss.ciwae_beta) and K = 8 (loss.iwae_samples: the draws per image of
configs/miwae.py and configs/piwae.py). Term `ciwae` (ae_jax/objectives/importance.py); the
ELBO part keeps the encoder's gradient signal from vanishing as K grows. Dense 784 -> 512 ->
10 -> 512 -> 784, Bernoulli p(x | z) on the logits (BCE summed over pixels), Fashion-MNIST,
Adam 1e-3, batch 128, 20 epochs. The test loss is -CIWAE_0.5 (nats per image); the `nll`
task gives the large-K bound comparable across the zoo.

    python train.py --config=configs/ciwae.py --workdir=runs/ciwae
    python evaluate.py --workdir=runs/ciwae --task=nll --option=num_examples=1000

Zoo benchmark (`python -m ae_jax.benchmark --models=ciwae --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 235 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 227.33 +- 0.32 and squared error 12.15 +- 0.09 per image
(decode(encode(x))); -ELBO 247.46 +- 0.29 and -L_1000 244.36 +- 0.03 nats per image (an
upper bound on -log p(x)).
"""

from configs import iwae

ZOO = dict(model="CIWAE (beta = 0.5, K = 8)",
           paper="Rainforth et al. 2018, Tighter Variational Bounds are Not Necessarily Better")


def get_config():
    config = iwae.get_config()  # Fashion-MNIST, dense 784-512-10, Bernoulli, no reconstruction
    config.loss.terms = dict(ciwae=1.0)
    config.loss.iwae_samples = 8
    config.loss.ciwae_beta = 0.5
    return config
