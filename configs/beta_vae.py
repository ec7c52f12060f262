"""beta-VAE (Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts with a
Constrained Variational Framework"): the zoo's VAE (configs/vae.py) with the KL weighted by
beta = 4,

    loss = BCE (summed over pixels) + beta * KL(q(z|x) || N(0, I)),

which trades reconstruction for a posterior closer to the factorised prior. Its test loss is
not a bound on -log p(x) for beta != 1; the `nll` task still gives the importance-sampled
bound of the trained model.

    python train.py --config=configs/beta_vae.py --workdir=runs/beta_vae

Zoo benchmark (`python -m ae_jax.benchmark --models=beta_vae --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 45 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 241.11 +- 0.93 and squared error 16.65 +- 0.32 per image
(decode(encode(x))); -ELBO 258.20 +- 1.55 and -L_1000 249.29 +- 0.41 nats per image (an
upper bound on -log p(x)).
"""

from configs import vae

ZOO = dict(model="beta-VAE (beta = 4)",
           paper="Higgins et al. 2017, beta-VAE: Learning Basic Visual Concepts with a "
                 "Constrained Variational Framework")


def get_config():
    config = vae.get_config()
    config.loss.terms = dict(kl=4.0)
    return config
