"""VampPrior VAE (Tomczak & Welling 2018, "VAE with a VampPrior") on Fashion-MNIST: the zoo's
dense VAE (configs/vae.py: encoder 784 -> 512 -> mean / log-variance 10, decoder 10 -> 512
-> 784 Bernoulli logits) with the standard normal prior replaced by the mixture of the
posteriors of K = 500 learned pseudo-inputs u_k (the paper's K),

    p(z) = 1/K sum_k q(z | u_k),
    loss = BCE (summed over pixels) + [log q(z | x) - log p(z)],   z ~ q(z | x),

the single-sample negative ELBO in nats per image (`kl_sampled`: the KL to a mixture has no
closed form); ae_jax/models/vampprior.py. Each step also encodes the 500 pseudo-inputs, so a
step costs several times a plain VAE's on the CPU; `--config.model.num_pseudo_inputs=100`
is a cheaper prior. The paper's MNIST models had a 40-D latent
(`--config.model.latent_dim=40`); 10 keeps the zoo's VAE architecture, so the prior is the
only difference. Adam 1e-3, batch 128, 20 epochs; no KL warm-up (the paper warms up).

    python train.py --config=configs/vampprior.py --workdir=runs/vampprior
    python evaluate.py --workdir=runs/vampprior --task=nll --option=num_examples=1000
"""

from configs import vae_dense_2d

ZOO = dict(model="VampPrior VAE (K = 500)",
           paper="Tomczak & Welling 2018, VAE with a VampPrior")


def get_config():
    config = vae_dense_2d.architecture()  # Fashion-MNIST, BCE summed over pixels, Adam 1e-3
    config.model.name = "vampprior_mlp"
    config.model.latent_dim = 10
    config.model.hidden_sizes = (512,)
    config.model.num_pseudo_inputs = 500
    config.loss.terms = dict(kl_sampled=1.0)
    config.num_epochs = 20
    return config
