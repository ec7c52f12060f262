"""VQ-VAE with an exponential-moving-average codebook (van den Oord, Vinyals & Kavukcuoglu
2017, "Neural Discrete Representation Learning", appendix A.1; Sonnet's
VectorQuantizerEMA) on Fashion-MNIST.

The network of configs/vq_vae.py (7x7 grid of D = 16, K = 128 codes); the codebook is no
parameter: each training step moves it to the moving averages of the encoder outputs
assigned to each code, N_k <- 0.99 N_k + 0.01 n_k, m_k <- 0.99 m_k + 0.01 sum z_e,
e_k = m_k / N~_k with Laplace-smoothed cluster sizes N~ (ae_jax/models/vq.py; the averages
live in the model's "vq" collection and are checkpointed with it). Loss, per image, BCE
summed over pixels (nats) + 0.25 ||z_e - sg(z_q)||^2 summed over the 7x7x16 values: no
codebook term. Adam 1e-3, batch 128, 20 epochs. Unlike the paper, codes used by fewer
than one position per batch (in EMA, `model.dead_code_threshold=1`) are re-initialised to
encoder outputs: in 3-epoch runs on 10,000 images this raised the test perplexity from about
10 to 62 of 128 codes and lowered the BCE by about 10 nats (`=0` gives the paper's VQ-VAE).

    python train.py --config=configs/vq_vae_ema.py --workdir=runs/vq_vae_ema
    python evaluate.py --workdir=runs/vq_vae_ema --task=generate --option=sampler=vq_pixelcnn

Zoo benchmark (`python -m ae_jax.benchmark --models=vq_vae_ema --epochs=3 --seeds=3
--workdir=runs/zoo3vq`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together in
264 s of compiled epochs (2026-12-03, the scanned conv epoch) on the 2-core CPU; mean +- std
over the seeds on the first 1,000 test images): reconstruction BCE 214.80 +- 0.31 and squared
error 7.90 +- 0.08 per image (before the scanned epoch: 214.86 +- 0.23 and 7.92 +- 0.05, 432 s);
no density, so no ELBO or bound.
"""

from configs import vq_vae

ZOO = dict(model="VQ-VAE (EMA codebook, decay 0.99)",
           paper="van den Oord, Vinyals & Kavukcuoglu 2017, Neural Discrete Representation "
                 "Learning")


def get_config():
    config = vq_vae.get_config()
    config.model.codebook_update = "ema"
    config.model.codebook_decay = 0.99
    config.model.dead_code_threshold = 1.0
    config.loss.terms = dict(vq_commitment=0.25)
    return config
