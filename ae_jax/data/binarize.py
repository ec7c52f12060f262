"""Binarised pixels (`data.binarize`), for the protocol of likelihoods published on
binarised MNIST: a Bernoulli likelihood is a density of {0, 1} data, not of grey levels.

  none       grey levels as stored (the default; -log p(x) is then not a density of the data)
  threshold  x = 1[x > 1/2] on both splits, once, at load time
  dynamic    training pixels redrawn at every step, x ~ Bernoulli(grey level), from the
             step's "binarize" key (Salakhutdinov & Murray 2008; Burda et al. 2016); the
             test split drawn once, with data.split_seed, so evaluations repeat
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ae_jax.data.dataset import Dataset, to_float

MODES = ("none", "threshold", "dynamic")


def _check(ds: Dataset, mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown data.binarize {mode!r}: use one of {', '.join(MODES)}")
    if mode != "none" and ds.train.dtype != np.uint8:
        raise ValueError(f"data.binarize={mode!r} needs image pixels (uint8); {ds.name} holds "
                         f"{ds.train.dtype} values")


def binarize_dataset(ds: Dataset, mode: str, seed: int) -> Dataset:
    """The dataset with pixels in {0, 255} where `mode` binarises at load time."""
    _check(ds, mode)
    if mode == "none":
        return ds
    if mode == "threshold":
        def cut(a):
            return np.where(a > 127, 255, 0).astype(np.uint8)

        return dataclasses.replace(ds, train=cut(ds.train), test=cut(ds.test))
    draw = np.random.default_rng(seed).random(ds.test.shape) < to_float(ds.test)
    return dataclasses.replace(ds, test=(draw * 255).astype(np.uint8))


def dynamic_binarize(key: jax.Array, x: jax.Array) -> jax.Array:
    """x ~ Bernoulli(x) elementwise, for x in [0, 1]: float32 of 0 and 1."""
    return jax.random.bernoulli(key, x).astype(jnp.float32)
