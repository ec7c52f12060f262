"""The VAE of the zoo (Kingma & Welling 2014, "Auto-Encoding Variational Bayes"; Rezende,
Mohamed & Wierstra 2014): the reference every other zoo model is compared with. A dense
encoder 784 -> 512 -> mean / log-variance 10 and decoder 10 -> 512 -> 784 logits
(Bernoulli) on Fashion-MNIST; loss the negative ELBO in nats per image, BCE summed over the
pixels + KL(q(z|x) || N(0, I)) in closed form; Adam 1e-3, batch 128, 20 epochs.

    python train.py --config=configs/vae.py --workdir=runs/vae
    python evaluate.py --workdir=runs/vae --task=nll --option=num_examples=1000

The zoo table in the README gives its measured numbers and the command that made them.

Zoo benchmark (`python -m ae_jax.benchmark --models=vae --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 42 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 228.47 +- 0.16 and squared error 12.46 +- 0.12 per image
(decode(encode(x))); -ELBO 248.36 +- 0.28 and -L_1000 245.37 +- 0.20 nats per image (an
upper bound on -log p(x)).
"""

from configs import vae_dense_2d

ZOO = dict(model="VAE", paper="Kingma & Welling 2014, Auto-Encoding Variational Bayes")


def get_config():
    config = vae_dense_2d.architecture()  # Fashion-MNIST, BCE summed over pixels, Adam 1e-3
    config.model.latent_dim = 10
    config.model.hidden_sizes = (512,)
    config.loss.terms = dict(kl=1.0)
    config.num_epochs = 20
    return config
