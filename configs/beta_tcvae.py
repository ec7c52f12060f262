"""beta-TCVAE (Chen et al., NeurIPS 2018) on Fashion-MNIST: a dense VAE whose loss weights
the total correlation of the aggregate posterior by beta = 6,

    loss = BCE (summed over pixels) + KL(q(z|x) || N(0, I)) + (beta - 1) * TC(z),

with TC estimated on each batch (ae_jax/objectives/total_correlation.py). Encoder 784 ->
512 -> mean / log-variance 10, decoder 10 -> 512 -> 784 logits; Adam 1e-3, batch 128.
Flax's default initialisation (not a Keras reproduction).

    python train.py --config=configs/beta_tcvae.py --workdir=runs/beta_tcvae
    python evaluate.py --workdir=runs/beta_tcvae --task=nll --option=num_examples=1000

The test metrics report `total_correlation` (nats, the batch estimate over test batches of
`eval_batch_size`) beside `bce` and `kl`. Measured (Fashion-MNIST, 20 epochs, 59 s for the
whole command on the 2-core CPU): test BCE 245.83 + KL 6.52 = negative ELBO 252.35 nats per
image, TC 0.75 nats, 7 of 10 active units. `--task=nll --option=num_examples=1000` (k = 5,000
on the first 1,000 test images): -L_5000 = 244.20 nats (+- 2.38, the standard error over the
images; an upper bound on -log p(x)) against a negative ELBO of 251.78 on the same images.

Zoo benchmark (`python -m ae_jax.benchmark --models=beta_tcvae --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 53 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 242.74 +- 0.90 and squared error 17.27 +- 0.25 per image
(decode(encode(x))); -ELBO 258.99 +- 0.62 and -L_1000 250.43 +- 0.35 nats per image (an
upper bound on -log p(x)).
"""

from configs import vae

ZOO = dict(model="beta-TCVAE (beta = 6)",
           paper="Chen et al. 2018, Isolating Sources of Disentanglement in VAEs")


def get_config():
    config = vae.get_config()  # Fashion-MNIST 784-512-10, BCE summed over pixels, Adam 1e-3
    config.loss.terms = dict(kl=1.0, total_correlation=5.0)
    return config
