"""A VAE with a 2-D latent on 28x28 images (Fashion-MNIST): the seed-003 architecture at
MNIST size. Encoder 784 -> Dense(256, relu) -> mean 2, log-variance 2; decoder 2 -> 256 ->
784 logits (Bernoulli). Loss: the negative ELBO in nats per example, BCE summed over pixels
+ KL(q(z|x) || N(0, I)) in closed form (`reconstruction="bce"`, `reduction="sum"`,
`terms=dict(kl=1.0)`); Adam 1e-3, batch 128.

    python train.py --config=configs/vae_dense_2d.py --workdir=runs/vae_dense_2d
    python evaluate.py --workdir=runs/vae_dense_2d --task=nll
    python evaluate.py --workdir=runs/vae_dense_2d --task=latent_map   # also generate,
                                                 # interpolate, arithmetic

Keras's initialisation (Glorot-uniform kernels, zero biases: `default.keras_initialisation`),
as the seed's Keras model; `architecture()` is the same model with Flax's initialisation,
which the zoo's VAEs (configs/vae.py and others) build on.

Measured (Fashion-MNIST, 30 epochs, CPU): test negative ELBO 263.66 nats per image = BCE
257.09 + KL 6.58 (train 261.99). `--task=nll --option=num_examples=1000` (the first 1,000
test images, 123 s on the loaded CPU): the exact -log p(x) by quadrature over the 2-D latent
is 260.92 nats (801^2 grid; halving the points moves it by at most 0.017 nats per image).
The importance-sampled bound -L_5000 is 261.68 (+- 2.48, the standard error over the
images), 0.76 nats above it on average and up to 118 nats on single images, where q(z|x)
misses posterior mass; the gap (-L_1) - (-L_5000) has median 0.56, 99th percentile 14.6 and
maximum 32.0 nats. Negative ELBO 262.93 on the same images (-L_k: 262.19 at k = 10, 261.89
at 100, 261.75 at 1,000); reconstruction 0.327 nats per pixel; 2 of 2 active units.
(With Flax's LeCun-normal initialisation, before: -ELBO 262.69, exact 260.17, bound 261.09.)
"""

from configs import default


def get_config():
    return default.keras_initialisation(architecture())


def architecture():
    """The model, data and loss with Flax's initialisation: the zoo's VAEs start here."""
    config = default.get_config()
    config.data.name = "fashion_mnist"
    config.model.name = "vae_mlp"
    config.model.latent_dim = 2
    config.model.hidden_sizes = (256,)
    config.loss.reconstruction = "bce"
    config.loss.reduction = "sum"
    config.loss.terms = dict(kl=1.0)
    config.batch_size = 128
    config.num_epochs = 30
    return config
