"""PIWAE (Rainforth et al. 2018, "Tighter Variational Bounds are Not Necessarily Better"):
the partially importance-weighted autoencoder. The same M*K draws z ~ q(z | x) train the
decoder (theta) on IWAE_{M*K} and the encoder (phi) on MIWAE_{M,K},

    theta <- grad_theta IWAE_{M*K}(x) = grad_theta log (1/(MK) sum_{m,k} w_{m,k})
    phi   <- grad_phi MIWAE_{M,K}(x)  = grad_phi 1/M sum_m log (1/K sum_k w_{m,k})

since IWAE's gradient signal-to-noise ratio grows with the number of draws for theta and
falls for phi. M = 2 (loss.iwae_groups), K = 4 (loss.iwae_samples): 8 draws per image and
step (the paper's MNIST runs use 64, e.g. M = K = 8; see configs/miwae.py). Term `piwae`
(ae_jax/objectives/importance.py: the split by stop_gradient and frozen decoder calls); its
value, the training and test loss, is -IWAE_8 (nats per image). Dense 784 -> 512 -> 10 ->
512 -> 784, Bernoulli p(x | z) on the logits, Fashion-MNIST, Adam 1e-3, batch 128, 20 epochs.

    python train.py --config=configs/piwae.py --workdir=runs/piwae
    python evaluate.py --workdir=runs/piwae --task=nll --option=num_examples=1000

Zoo benchmark (`python -m ae_jax.benchmark --models=piwae --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 256 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images):
reconstruction BCE 228.09 +- 0.24 and squared error 12.42 +- 0.16 per image
(decode(encode(x))); -ELBO 249.86 +- 0.52 and -L_1000 244.12 +- 0.13 nats per image (an
upper bound on -log p(x)).
"""

from configs import miwae

ZOO = dict(model="PIWAE (M = 2, K = 4)",
           paper="Rainforth et al. 2018, Tighter Variational Bounds are Not Necessarily Better")


def get_config():
    config = miwae.get_config()  # M = 2 groups of K = 4 draws, Bernoulli, no reconstruction
    config.loss.terms = dict(piwae=1.0)
    return config
