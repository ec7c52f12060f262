"""DIP-VAE-I (Kumar, Sattigeri and Balakrishnan, ICLR 2018, "Variational Inference of
Disentangled Latent Concepts from Unlabeled Observations") on Fashion-MNIST: a dense VAE whose
loss adds a penalty moving the covariance of the encoder means towards the identity,

    loss = BCE (summed over pixels) + KL(q(z|x) || N(0, I))
           + lambda_od * sum_{i != j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2,
    C = Cov_batch[mu(x)],   lambda_od = 10,   lambda_d = 10 * lambda_od = 100,

(ae_jax/objectives/dip.py). The term's weight is lambda_od, `loss.dip_diagonal_ratio` is
lambda_d / lambda_od: the paper's parametrisation (its Figure 1 varies lambda_od "with
lambda_d set to 10 lambda_od"), so `--config.loss.terms.dip_i=...` or a `num_runs` sweep moves
both lambdas together. lambda_od = 10 is one of the paper's values. The penalty is a batch
quantity (batch 128), added once per batch to the mean negative ELBO.

Encoder 784 -> 512 -> mean / log-variance 10, decoder 10 -> 512 -> 784 logits; Adam 1e-3,
batch 128. Flax's default initialisation (the paper uses convolutional nets on 2D Shapes and
CelebA; this is the zoo's dense VAE).

    python train.py --config=configs/dip_vae_i.py --workdir=runs/dip_vae_i

The test metrics report `dip_i` (the unweighted penalty of the module docstring, on test
batches of `eval_batch_size`) beside `bce` and `kl`.

Zoo benchmark (`python -m ae_jax.benchmark --models=dip_vae_i --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 83 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 235.29 +- 0.32 and squared error 14.78 +- 0.17 per image
(decode(encode(x))); -ELBO 255.62 +- 0.14 and -L_1000 249.53 +- 0.09 nats per image (an
upper bound on -log p(x)).
"""

from configs import vae

ZOO = dict(model="DIP-VAE-I",
           paper="Kumar et al. 2018, Variational Inference of Disentangled Latent Concepts "
                 "from Unlabeled Observations")


def get_config():
    config = vae.get_config()  # Fashion-MNIST 784-512-10, BCE summed over pixels, Adam 1e-3
    config.loss.terms = dict(kl=1.0, dip_i=10.0)  # weight = lambda_od
    config.loss.dip_diagonal_ratio = 10.0  # lambda_d = 10 * lambda_od
    return config
