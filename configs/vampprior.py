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

Zoo benchmark (`python -m ae_jax.benchmark --models=vampprior --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together in
80 s of compiled epochs (2026-12-03) on the 2-core CPU; mean +- std over the seeds on the first
1,000 test images): reconstruction BCE 228.48 +- 0.78 and squared error 12.57 +- 0.26 per
image; -ELBO 243.97 +- 0.61 and -L_1000 241.42 +- 0.29 nats per image (an upper bound on -log
p(x)).
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
