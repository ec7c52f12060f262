"""A trained GAN-family run rebuilt from its workdir alone (config.json + newest checkpoint),
for evaluation: `load_gan(workdir).sample(n, key)`."""

from __future__ import annotations

import dataclasses
import json
import os

import jax
import ml_collections
import numpy as np

from ae_jax import checkpoints
from ae_jax.data import Dataset, load_dataset
from ae_jax.gan.models import standard_normal_codes
from ae_jax.gan.state import GANState, initial_gan_state
from ae_jax.gan.step import Adversarial, make_adversarial


@dataclasses.dataclass
class TrainedGAN:
    config: ml_collections.ConfigDict
    dataset: Dataset
    adversarial: Adversarial
    state: GANState
    epoch: int

    def sample(self, n: int, key: jax.Array, batch_size: int = 1000) -> np.ndarray:
        """n images (n, H, W, C) in [0, 1] from z ~ N(0, I) drawn with `key` (the generator
        with its batch-norm running averages; the AAE's decoder)."""
        z = standard_normal_codes(key, n, self.config.model.latent_dim)  # (n, K)
        generate = jax.jit(self.adversarial.generate)
        return np.concatenate([np.asarray(generate(self.state, z[i:i + batch_size]))
                               for i in range(0, n, batch_size)])


def is_gan_workdir(workdir: str) -> bool:
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        return False
    with open(path) as f:
        return json.load(f).get("family") == "gan"


def load_gan(workdir: str) -> TrainedGAN:
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{workdir} holds no config.json: is it a training workdir?")
    with open(path) as f:
        config = ml_collections.ConfigDict(json.load(f))
    if config.get("family") != "gan":
        raise ValueError(f"{workdir} is not a GAN-family run (family={config.get('family')!r})")
    dataset = load_dataset(config.data)
    steps = max(1, len(dataset.train) // config.batch_size)
    template = initial_gan_state(config, dataset.example_shape, steps)[0]
    mngr = checkpoints.manager(workdir, config.get("keep_checkpoints", 3))
    epoch, state = checkpoints.restore_latest(mngr, template)
    if epoch == 0:
        raise FileNotFoundError(f"{workdir} holds no trained checkpoint; train it first")
    return TrainedGAN(config, dataset, make_adversarial(config, dataset.example_shape), state,
                      epoch)
