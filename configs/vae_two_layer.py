"""A VAE with two stochastic layers (Burda, Grosse & Salakhutdinov 2016, "Importance
Weighted Autoencoders", their 2-layer architecture) on Fashion-MNIST:

    q:  x (784) -> 200 -> 200 -> z1 (100) -> 100 -> 100 -> z2 (50)
    p:  z2 ~ N(0, I) -> 100 -> 100 -> z1 (100) -> 200 -> 200 -> x (784 Bernoulli logits)

tanh hidden units, Gaussian layers with linear mean and log-variance heads
(ae_jax/models/hierarchical.py). Loss: the single-sample negative ELBO of the hierarchy in
nats per image, BCE summed over the pixels + log q(z1|x) + log q(z2|z1) - log p(z1|z2) -
log p(z2) at one draw (`kl_sampled`). The IWAE of the paper trains on -L_k instead:
`--config.loss.terms="{'iwae': 1.0}" --config.loss.reconstruction=none
--config.loss.iwae_samples=5`. Adam 1e-3, batch 128, 20 epochs (the paper: 3,280 epochs
with a decaying rate, on binarised MNIST).

    python train.py --config=configs/vae_two_layer.py --workdir=runs/vae_two_layer
    python evaluate.py --workdir=runs/vae_two_layer --task=nll --option=num_examples=1000

Zoo benchmark (`python -m ae_jax.benchmark --models=vae_two_layer --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 46 s of compiled epochs on the 2-core CPU; mean +- std over the seeds on the first 1,000
test images): reconstruction BCE 242.96 +- 0.36 and squared error 17.67 +- 0.15 per image;
-ELBO 256.70 +- 0.06 and -L_1000 251.36 +- 0.31 nats per image (an upper bound on -log
p(x)).
"""

from configs import vae_dense_2d

ZOO = dict(model="two stochastic layers (Burda et al. 2016)",
           paper="Burda, Grosse & Salakhutdinov 2016, Importance Weighted Autoencoders")


def get_config():
    config = vae_dense_2d.architecture()  # Fashion-MNIST, BCE summed over pixels, Adam 1e-3
    config.model.name = "vae_two_layer"
    config.model.hidden_sizes = (200, 200)
    config.model.latent_dim = 100
    config.model.second_hidden_sizes = (100, 100)
    config.model.second_latent_dim = 50
    config.model.activation = "tanh"
    config.loss.terms = dict(kl_sampled=1.0)
    config.num_epochs = 20
    return config
