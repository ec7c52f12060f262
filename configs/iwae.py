"""IWAE (Burda, Grosse & Salakhutdinov 2016, "Importance Weighted Autoencoders"): the zoo's
VAE (configs/vae.py) trained on the K-sample importance-weighted bound instead of the ELBO,

    loss = -IWAE_K(x) = -log (1/K sum_k w_k),   w_k = p(x | z_k) p(z_k) / q(z_k | x),
                                                z_k ~ q(z | x),  K = 5 (loss.iwae_samples)

(term `iwae`, ae_jax/objectives/vae.py; it is the whole likelihood, so
`loss.reconstruction="none"`). Bernoulli p(x | z) on the decoder's logits
(`loss.likelihood="bernoulli"`, BCE summed over the pixels), nats per image. A dense
encoder 784 -> 512 -> mean / log-variance 10 and decoder 10 -> 512 -> 784 logits on
Fashion-MNIST (grey levels, not binarised, as the zoo's VAE); Adam 1e-3, batch 128, 20
epochs. The test loss is -IWAE_5 of the test images, a tighter bound than the VAE's negative
ELBO; the `nll` task gives the same large-K bound for every zoo model.

    python train.py --config=configs/iwae.py --workdir=runs/iwae
    python evaluate.py --workdir=runs/iwae --task=nll --option=num_examples=1000

Zoo benchmark (`python -m ae_jax.benchmark --models=iwae --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 133 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 228.86 +- 0.23 and squared error 12.65 +- 0.02 per image
(decode(encode(x))); -ELBO 250.33 +- 0.56 and -L_1000 244.46 +- 0.02 nats per image (an
upper bound on -log p(x)).
"""

from configs import vae

ZOO = dict(model="IWAE (Burda et al. 2016)",
           paper="Burda, Grosse & Salakhutdinov 2016, Importance Weighted Autoencoders")


def get_config():
    config = vae.get_config()  # Fashion-MNIST, dense 784-512-10, Adam 1e-3, batch 128
    config.loss.reconstruction = "none"  # the bound is the whole likelihood
    config.loss.likelihood = "bernoulli"
    config.loss.terms = dict(iwae=1.0)
    config.loss.iwae_samples = 5
    config.num_epochs = 20
    return config
