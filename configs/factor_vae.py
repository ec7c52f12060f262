"""FactorVAE (Kim & Mnih 2018, "Disentangling by Factorising") on Fashion-MNIST: the zoo's
VAE (configs/vae.py) with the total correlation of the aggregate posterior weighted by
gamma = 5,

    loss = BCE (summed over pixels) + KL(q(z|x) || N(0, I)) + gamma * TC(z),
    TC(z) ~= E_q(z) [log D(z) / (1 - D(z))],

TC estimated by a discriminator D on codes that tells z ~ q(z) from codes whose dimensions
were permuted across the batch (family "factor_vae", ae_jax/families/factor_vae.py).

VAE: encoder 784 -> 512 -> mean / log-variance 10, decoder 10 -> 512 -> 784 logits; Adam
1e-3, batch 128, 20 epochs (the zoo's settings; the paper trains with Adam 1e-4 for far
more steps). Discriminator: 10 -> 4 x 256 leaky ReLU (slope 0.2) -> 1 logit (the paper's D
has 6 layers of 1000 units, 17x the VAE's step time on the CPU; 4 x 256 adds about one VAE
step), Adam with the paper's beta1 0.5, beta2 0.9 at the VAE's rate 1e-3 (the paper trains
both at 1e-4: the same ratio). With D at 1e-4 beside a VAE at 1e-3, D lagged: in 2-epoch
trials the VAE fooled it (its TC estimate near 0) while the TC of the batch estimator below
stayed as high as a plain VAE's. Each step trains the VAE on the whole batch, then D on the
batch's codes: the first half as they are, the second half permuted.

gamma = 5 puts the same total weight on TC as configs/beta_tcvae.py (beta = 6): there the
KL's own TC plus 5 TC; here the KL's TC plus gamma TC. The paper's dSprites gamma (35-40)
weights a BCE summed over 4,096 pixels; Fashion-MNIST has 784. The test metrics report the
discriminator's TC estimate `tc` beside `bce`, `kl` and D's `d_loss` / `d_accuracy`;
`loss.terms.total_correlation=0.0` adds the batch estimate of beta-TCVAE, independent of D.

    python train.py --config=configs/factor_vae.py --workdir=runs/factor_vae
    python -m ae_jax.sweeps --config=configs/factor_vae.py --workdir=runs/factor_vae_gamma \
        --axes='{"loss.terms.tc": [0.0, 5.0, 20.0]}'        # one vmapped program

Zoo benchmark (`python -m ae_jax.benchmark --models=factor_vae --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 97 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 234.04 +- 0.54 and squared error 14.22 +- 0.21 per image
(decode(encode(x))); -ELBO 251.73 +- 0.50 and -L_1000 246.95 +- 0.27 nats per image (an
upper bound on -log p(x)).
"""

from configs import vae

ZOO = dict(model="FactorVAE (gamma = 5)",
           paper="Kim & Mnih 2018, Disentangling by Factorising")


def get_config():
    config = vae.get_config()  # Fashion-MNIST 784-512-10, BCE summed over pixels, Adam 1e-3
    config.family = "factor_vae"
    config.loss.terms = dict(kl=1.0, tc=5.0)  # tc: gamma, the discriminator's TC weight
    config.model.discriminator_hidden_sizes = (256, 256, 256, 256)
    config.model.leaky_slope = 0.2
    d = config.discriminator_optimizer
    d.learning_rate, d.beta1, d.beta2 = 1e-3, 0.5, 0.9
    return config
