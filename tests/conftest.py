"""Shared fixtures: small configs on real (bundled) or generated data."""

import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # so `configs` imports as in train.py

from ae_jax.sweeps import set_field  # noqa: E402
from configs import default  # noqa: E402


def digits_config(**overrides):
    """The quick-start MLP on sklearn's digits, shrunk for tests."""
    config = default.get_config()
    config.data.name = "digits"
    config.model.latent_dim = 8
    config.model.hidden_sizes = (32,)
    config.batch_size = 64
    config.num_epochs = 3
    config.progress_bar = False
    config.tensorboard = False
    for key, value in overrides.items():
        set_field(config, key, value)
    return config


@pytest.fixture
def mnist_like_npz(tmp_path):
    """A tiny 28x28 dataset with MNIST's shapes (uint8 strokes), as an .npz file."""
    rng = np.random.default_rng(0)
    x = np.zeros((96, 28, 28), np.uint8)
    for i in range(len(x)):
        r, c = rng.integers(4, 20, size=2)
        x[i, r:r + 6, c:c + 3] = 255
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=x[:64], x_test=x[64:], y_train=np.arange(64) % 10,
             y_test=np.arange(32) % 10)
    return str(path)
