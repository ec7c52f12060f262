"""Post-hoc samplers: how codes are drawn for a trained model's decoder, chosen by name.

    python evaluate.py --workdir=DIR --task=generate --option=sampler=gmm
    python evaluate.py --workdir=DIR --task=frechet --option=sampler=two_stage ...

A sampler is registered as `fit(run, options, key) -> CodeSampler` with
`@SAMPLERS.register("name")` in any module of this package; `fit` may learn from the
training split (a Gaussian mixture on the codes, a second-stage VAE, an autoregressive prior
over VQ indices), and the CodeSampler it returns draws `codes = sampler(key, n)` of shape
(n, *run.code_shape()) for `run.decode`. Each `fit` says in its docstring what it fits and
which options it reads.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np

from ae_jax.registry import Registry

CodeSampler = Callable[[jax.Array, int], np.ndarray]  # (key, n) -> codes (n, *code_shape)

SAMPLERS: Registry[Callable[..., CodeSampler]] = Registry(
    "sampler", field="--option=sampler", package="ae_jax.evaluation.samplers")


def fit_sampler(run, options: dict, key: jax.Array) -> tuple[str, CodeSampler]:
    """(name, sampler) of `--option=sampler=<name>` (default "prior"), fitted to `run`."""
    name = str(options.get("sampler", "prior"))
    run.require("decode", f"sampler {name!r}")
    return name, SAMPLERS.get(name)(run, options, key)


def training_codes(run, options: dict) -> np.ndarray:
    """Codes of the first `fit_examples` (option, 10,000; 0: all) training examples, (N, K)
    float64: what the fitted samplers learn from."""
    n = int(options.get("fit_examples", 10000)) or len(run.dataset.train)
    return np.asarray(run.encode(run.dataset.train[:n]), np.float64)


def as_codes(run, flat: np.ndarray) -> np.ndarray:
    """(n, K) rows -> (n, *code_shape) float32 codes for `run.decode`."""
    return np.asarray(flat, np.float32).reshape((len(flat), *run.code_shape()))
