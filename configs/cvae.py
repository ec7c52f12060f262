"""The conditional VAE (Sohn, Lee & Yan 2015) on Fashion-MNIST: the zoo's VAE
(configs/vae.py: 784 -> 512 -> 10, BCE summed over pixels + KL, Adam 1e-3, batch 128) with
the class label fed to the encoder and the decoder as a one-hot vector
(ae_jax/models/cvae.py). Its loss is the negative conditional ELBO, a bound on
-log p(x | y), so it is not comparable with the unconditional models' -log p(x).

    python train.py --config=configs/cvae.py --workdir=runs/cvae
    python evaluate.py --workdir=runs/cvae --task=conditional

`conditional` generates 100 images of each class and reports the fraction that the project's
own Fashion-MNIST classifier assigns to the requested class, beside that classifier's
accuracy on the real test images.

Zoo benchmark (`python -m ae_jax.benchmark --models=cvae --epochs=3 --seeds=3
--workdir=runs/zoo3`; Fashion-MNIST, 3 epochs, not the default's, 3 seeds trained together
in 74 s on the 2-core CPU; mean +- std over the seeds on the first 1,000 test images): test
loss 246.34 nats per image (the training objective, mean over the seeds).
"""

from configs import vae

ZOO = dict(model="conditional VAE",
           paper="Sohn, Lee & Yan 2015, Learning Structured Output Representation using "
                 "Deep Conditional Generative Models")


def get_config():
    config = vae.get_config()
    config.model.name = "cvae_mlp"
    config.model.num_classes = 10
    return config
