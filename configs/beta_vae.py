"""beta-VAE (Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts with a
Constrained Variational Framework"): the zoo's VAE (configs/vae.py) with the KL weighted by
beta = 4,

    loss = BCE (summed over pixels) + beta * KL(q(z|x) || N(0, I)),

which trades reconstruction for a posterior closer to the factorised prior. Its test loss is
not a bound on -log p(x) for beta != 1; the `nll` task still gives the importance-sampled
bound of the trained model.

    python train.py --config=configs/beta_vae.py --workdir=runs/beta_vae
"""

from configs import vae

ZOO = dict(model="beta-VAE (beta = 4)",
           paper="Higgins et al. 2017, beta-VAE: Learning Basic Visual Concepts with a "
                 "Constrained Variational Framework")


def get_config():
    config = vae.get_config()
    config.loss.terms = dict(kl=4.0)
    return config
