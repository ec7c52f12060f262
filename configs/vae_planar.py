"""VAE with a planar-flow posterior (Rezende & Mohamed 2015, "Variational Inference with
Normalizing Flows") on Fashion-MNIST: the zoo's dense VAE (configs/vae.py: encoder 784 ->
512 -> mean / log-variance 10, decoder 10 -> 512 -> 784 Bernoulli logits) with K = 16 planar
steps carrying z0 ~ N(mu(x), sigma^2(x)) to the code z_K,

    f_k(z) = z + u^_k tanh(w_k^T z + b_k),    w_k^T u^_k >= -1 (invertible),
    log q(z_K | x) = log N(z0; mu, sigma^2) - sum_k log |1 + u^_k^T psi_k(z_{k-1})|,
    loss = BCE (summed over pixels) + [log q(z_K | x) - log N(z_K; 0, I)],   one draw,

the single-sample negative ELBO in nats per image (`kl_sampled`); u_k, w_k, b_k are linear
heads on the encoder's 512 hidden features (amortised, as in the paper: 16 * 21 numbers per
image). ae_jax/models/flows.py. Adam 1e-3, batch 128, 20 epochs; no KL annealing (the paper
anneals the KL weight from 0.01 to 1).

    python train.py --config=configs/vae_planar.py --workdir=runs/vae_planar
    python evaluate.py --workdir=runs/vae_planar --task=nll --option=num_examples=1000

Zoo benchmark (`python -m ae_jax.benchmark --models=vae_planar --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 242 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 228.94 +- 0.63 and squared error 12.67 +- 0.23 per image
(decode(encode(x))); -ELBO 247.90 +- 0.53 and -L_1000 244.63 +- 0.23 nats per image (an
upper bound on -log p(x)).
"""

from configs import vae_dense_2d

ZOO = dict(model="VAE + planar flow (K = 16)",
           paper="Rezende & Mohamed 2015, Variational Inference with Normalizing Flows")


def get_config():
    config = vae_dense_2d.architecture()  # Fashion-MNIST, BCE summed over pixels, Adam 1e-3
    config.model.name = "vae_flow"
    config.model.latent_dim = 10
    config.model.hidden_sizes = (512,)
    config.model.flow = "planar"
    config.model.flow_steps = 16
    config.loss.terms = dict(kl_sampled=1.0)
    config.num_epochs = 20
    return config
