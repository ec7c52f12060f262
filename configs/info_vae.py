"""InfoVAE (Zhao, Song and Ermon, 2017, "InfoVAE: Information Maximizing Variational
Autoencoders", arXiv:1706.02262; AAAI 2019 as "InfoVAE: Balancing Learning and Inference in
Variational Autoencoders") on Fashion-MNIST with the MMD divergence: a dense VAE whose ELBO
gains a penalty on the aggregate posterior q(z) = E_x q(z | x),

    loss = BCE (summed over pixels) + KL(q(z|x) || N(0, I)) + w * MMD^2_u(q(z), N(0, I)),
    w = 100,

with the MMD of the batch's samples z ~ q(z | x) (aux["z"]) to as many prior draws, a
Gaussian (RBF) kernel exp(-||a - b||^2 / (2 s^2)), s^2 = d_z = 10, as the paper's MMD uses a
Gaussian kernel (ae_jax/objectives/mmd.py: term mmd, loss.mmd_kernel = "rbf"). Encoder
784 -> 512 -> mean / log-variance 10, decoder 10 -> 512 -> 784 logits (Bernoulli), as
configs/vae.py; Adam 1e-3, batch 128; Flax's default initialisation.

The paper's family of objectives, to be minimised,

    L = -E_q log p(x|z) + (1 - alpha) E_x KL(q(z|x) || p(z)) + (alpha + lambda - 1) D(q(z), p(z)),

maps to `loss.terms = dict(kl=1 - alpha, mmd=alpha + lambda - 1)`. Its "MMD-VAE" takes
alpha = 1 (no per-example KL: kl = 0, mmd = lambda); left alone by the KL, the posterior
variances are then free to shrink towards a deterministic code, and the ELBO the zoo
reports (and the likelihood bounds of `--task=nll`) no longer measure what was trained.
This entry keeps the whole ELBO and adds the MMD on top: alpha = 0, lambda = 1 + w = 101,
i.e. kl = 1, mmd = 100, so its loss is the negative ELBO plus w MMD^2 (an upper bound on
-log p(x) plus a penalty that is non-negative in expectation) and its test BCE, KL and
negative ELBO are comparable with configs/vae.py's. w is a choice made here (tried against
w = 1000 in short runs only, not tuned): MMD^2 of this kernel is at most 2, so w must be
large for the penalty to count beside a BCE of hundreds of nats; at w = 100 the weighted MMD
of a plain VAE's aggregate posterior is a few nats, the size of the KL, while w = 1000 gave
up much of the reconstruction for it.

    python train.py --config=configs/info_vae.py --workdir=runs/info_vae
    python evaluate.py --workdir=runs/info_vae --task=nll --option=num_examples=1000
    python evaluate.py --workdir=runs/info_vae --task=generate

The test metrics report `mmd` (the batch estimate over test batches of `eval_batch_size`)
beside `bce` and `kl`.

Zoo benchmark (`python -m ae_jax.benchmark --models=info_vae --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 56 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 229.41 +- 0.70 and squared error 12.80 +- 0.22 per image
(decode(encode(x))); -ELBO 248.73 +- 0.23 and -L_1000 245.46 +- 0.11 nats per image (an
upper bound on -log p(x)).
"""

from configs import vae

ZOO = dict(model="InfoVAE (MMD, RBF kernel)",
           paper="Zhao et al. 2017, InfoVAE: Information Maximizing Variational Autoencoders")


def get_config():
    config = vae.get_config()  # Fashion-MNIST 784-512-10, BCE summed over pixels, Adam 1e-3
    config.loss.terms = dict(kl=1.0, mmd=100.0)  # alpha = 0, lambda = 101 (docstring)
    config.loss.mmd_kernel = "rbf"  # one width (mmd_scales ()): 2 s^2 = 2 d_z
    config.loss.mmd_scale = 1.0
    return config
