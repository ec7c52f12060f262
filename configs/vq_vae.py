"""VQ-VAE with a codebook learned by gradient (van den Oord, Vinyals & Kavukcuoglu 2017,
"Neural Discrete Representation Learning") on Fashion-MNIST.

Encoder Conv16 - pool - Conv32 - pool (28 -> 7x7x32) -> 1x1 projection to D = 16; each of
the 7x7 vectors is replaced by its nearest of K = 128 codebook vectors (straight-through
gradient to the encoder); decoder Conv32 - up - Conv16 - up - Conv1 logits (Bernoulli) on
the quantised 7x7x16 grid (ae_jax/models/vq.py). Loss, per image,

    BCE summed over the 784 pixels (nats) + ||sg(z_e) - z_q||^2 + 0.25 ||z_e - sg(z_q)||^2

with both squared distances summed over the 7x7x16 values (loss.reduction="sum" applies to
every term: ae_jax/objectives/vq.py). The codebook is a parameter trained by the codebook
term alone. Adam 1e-3, batch 128, 20 epochs. The train and test metrics report the codebook
perplexity exp(H(p)) of the mean code usage p (up to K = 128).

    python train.py --config=configs/vq_vae.py --workdir=runs/vq_vae
    python evaluate.py --workdir=runs/vq_vae --task=generate --option=sampler=vq_pixelcnn

Samples need a prior over the 7x7 code indices, fitted after training
(ae_jax/evaluation/samplers/vq.py): `vq_histogram` (independent per-position histograms) or
`vq_pixelcnn` (an autoregressive PixelCNN).

Zoo benchmark (`python -m ae_jax.benchmark --models=vq_vae --epochs=3 --seeds=3
--workdir=runs/zoo3vq`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together in
273 s of compiled epochs (2026-12-03, the scanned conv epoch) on the 2-core CPU; mean +- std
over the seeds on the first 1,000 test images): reconstruction BCE 218.28 +- 0.50 and squared
error 9.08 +- 0.12 per image (before the scanned epoch: 218.06 +- 0.23 and 9.01 +- 0.06, 411 s);
no density, so no ELBO or bound.
"""

from configs import default

ZOO = dict(model="VQ-VAE (codebook by gradient)",
           paper="van den Oord, Vinyals & Kavukcuoglu 2017, Neural Discrete Representation "
                 "Learning")


def get_config():
    config = default.get_config()
    config.data.name = "fashion_mnist"
    config.model.name = "vq_vae"
    config.model.encoder_layers = ("conv16", "pool", "conv32", "pool")
    config.model.decoder_layers = ("conv32", "up", "conv16", "up")
    config.model.num_codes = 128
    config.model.embedding_dim = 16
    config.model.codebook_update = "gradient"
    config.loss.reconstruction = "bce"
    config.loss.reduction = "sum"
    config.loss.terms = dict(vq_codebook=1.0, vq_commitment=0.25)
    config.optimizer.learning_rate = 1e-3
    config.batch_size = 128
    config.num_epochs = 20
    config.steps_per_call = 4  # for loop "steps" (conv_impl=lax on CPU); the default scans
    return config
