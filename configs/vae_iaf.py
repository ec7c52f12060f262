"""VAE with an inverse-autoregressive-flow posterior (Kingma, Salimans, Jozefowicz, Chen,
Sutskever & Welling 2016, "Improved Variational Inference with Inverse Autoregressive Flow")
on Fashion-MNIST: the zoo's dense VAE (configs/vae.py: encoder 784 -> 512 -> mean /
log-variance 10, decoder 10 -> 512 -> 784 Bernoulli logits) with K = 2 IAF steps after
z0 ~ N(mu(x), sigma^2(x)), each a MADE 10 -> 256 -> 256 -> (m, s) 10 + 10 (ReLU, masked
dense layers) with the encoder's 512 hidden features as the context h(x) of its first layer,

    sigma = sigmoid(s),   z_k = sigma * z_{k-1} + (1 - sigma) * m,
    log q(z_K | x) = log N(z0; mu, sigma_0^2) - sum_k sum_i log sigma_k,i,
    loss = BCE (summed over pixels) + [log q(z_K | x) - log N(z_K; 0, I)],   one draw,

the single-sample negative ELBO in nats per image (`kl_sampled`); the order of the
dimensions is reversed in the second step. ae_jax/models/flows.py. Adam 1e-3, batch 128,
20 epochs. `--config.model.flow_steps=4` for a deeper flow.

    python train.py --config=configs/vae_iaf.py --workdir=runs/vae_iaf
    python evaluate.py --workdir=runs/vae_iaf --task=nll --option=num_examples=1000

Zoo benchmark (`python -m ae_jax.benchmark --models=vae_iaf --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 125 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 227.92 +- 0.09 and squared error 12.33 +- 0.07 per image
(decode(encode(x))); -ELBO 246.99 +- 0.07 and -L_1000 244.57 +- 0.02 nats per image (an
upper bound on -log p(x)).
"""

from configs import vae_dense_2d

ZOO = dict(model="VAE + IAF (2 MADE steps)",
           paper="Kingma et al. 2016, Improved Variational Inference with Inverse "
                 "Autoregressive Flow")


def get_config():
    config = vae_dense_2d.architecture()  # Fashion-MNIST, BCE summed over pixels, Adam 1e-3
    config.model.name = "vae_flow"
    config.model.latent_dim = 10
    config.model.hidden_sizes = (512,)
    config.model.flow = "iaf"
    config.model.flow_steps = 2
    config.model.iaf_hidden_sizes = (256, 256)
    config.loss.terms = dict(kl_sampled=1.0)
    config.num_epochs = 20
    return config
