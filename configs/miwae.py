"""MIWAE (Rainforth et al. 2018, "Tighter Variational Bounds are Not Necessarily Better"):
the zoo's IWAE (configs/iwae.py) trained on the multiply importance-weighted bound, M groups
of K draws,

    loss = -MIWAE_{M,K}(x) = -1/M sum_m log (1/K sum_k w_{m,k}),
           w_{m,k} = p(x | z_{m,k}) p(z_{m,k}) / q(z_{m,k} | x),   z_{m,k} ~ q(z | x),

with M = 2 (loss.iwae_groups) and K = 4 (loss.iwae_samples): 8 draws per image and step
(term `miwae`, ae_jax/objectives/importance.py). Between the ELBO (M = 8, K = 1) and
IWAE_8 (M = 1): a looser bound than IWAE_8 whose encoder gradient has a higher
signal-to-noise ratio. The paper's MNIST runs split 64 draws (e.g. M = K = 8); 8 keeps the
zoo's CPU runs short (each step decodes M*K codes per image, the IWAE config 5);
`--config.loss.iwae_groups=8 --config.loss.iwae_samples=8` is the paper's split.
Dense 784 -> 512 -> 10 -> 512 -> 784, Bernoulli p(x | z) on the logits (BCE summed over
pixels), Fashion-MNIST, Adam 1e-3, batch 128, 20 epochs. The test loss is -MIWAE_{2,4}
(nats per image); the `nll` task gives the large-K bound comparable across the zoo.

    python train.py --config=configs/miwae.py --workdir=runs/miwae
    python evaluate.py --workdir=runs/miwae --task=nll --option=num_examples=1000

Zoo benchmark (`python -m ae_jax.benchmark --models=miwae --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 228 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 227.77 +- 0.23 and squared error 12.29 +- 0.11 per image
(decode(encode(x))); -ELBO 249.01 +- 0.36 and -L_1000 244.18 +- 0.10 nats per image (an
upper bound on -log p(x)).
"""

from configs import iwae

ZOO = dict(model="MIWAE (M = 2, K = 4)",
           paper="Rainforth et al. 2018, Tighter Variational Bounds are Not Necessarily Better")


def get_config():
    config = iwae.get_config()  # Fashion-MNIST, dense 784-512-10, Bernoulli, no reconstruction
    config.loss.terms = dict(miwae=1.0)
    config.loss.iwae_groups = 2
    config.loss.iwae_samples = 4
    return config
