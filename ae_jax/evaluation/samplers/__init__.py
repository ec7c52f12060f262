"""Post-hoc samplers: how codes are drawn for a trained model's decoder, chosen by name.

    python evaluate.py --workdir=DIR --task=generate --option=sampler=gmm
    python evaluate.py --workdir=DIR --task=frechet --option=sampler=two_stage ...

A sampler is registered as `fit(run, options, key) -> CodeSampler` with
`@sampler("name", Option(...), ...)` in any module of this package, declaring every option
it reads (ae_jax/evaluation/options.py); `fit` may learn from the training split (a Gaussian
mixture on the codes, a second-stage VAE, an autoregressive prior over VQ indices), and the
CodeSampler it returns draws `codes = sampler(key, n)` of shape (n, *run.code_shape()) for
`run.decode`. A task that uses a sampler declares `SAMPLER`: its value brings the chosen
sampler's options with it (`--option=sampler=gmm --option=components=5`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np

from ae_jax.evaluation.options import Option, Sampler
from ae_jax.registry import Registry

CodeSampler = Callable[[jax.Array, int], np.ndarray]  # (key, n) -> codes (n, *code_shape)

SAMPLERS: Registry[Sampler] = Registry(
    "sampler", field="--option=sampler", package="ae_jax.evaluation.samplers")


def sampler(name: str, *options: Option) -> Callable[[Callable], Sampler]:
    """Decorator: register `fit(run, options, key) -> CodeSampler` as sampler `name` with
    the options it reads."""

    def wrap(fn: Callable) -> Sampler:
        registered = Sampler("sampler", name, fn, tuple(options))
        SAMPLERS.add(name, registered)
        return registered

    return wrap


SAMPLER = Option("sampler", "prior", "how codes are drawn for the decoder (prior: the model's "
                 "own; ae_jax/evaluation/samplers); brings that sampler's options", kind="str",
                 sub_options=lambda name: SAMPLERS.get(str(name)).options)
FIT_EXAMPLES = Option("fit_examples", 10000,
                      "first N training examples whose codes the sampler is fitted to (0: all)")


def fit_sampler(run, options: dict, key: jax.Array) -> tuple[str, CodeSampler]:
    """(name, sampler) of option `sampler` (SAMPLER: "prior" by default), fitted to `run`.
    `options` are a task's resolved options, or a partial dict (the sampler fills in its
    own defaults)."""
    name = str(options.get("sampler", SAMPLER.default))
    run.require("decode", f"sampler {name!r}")
    return name, SAMPLERS.get(name)(run, options, key)


def training_codes(run, options: dict) -> np.ndarray:
    """Codes of the first `options["fit_examples"]` (FIT_EXAMPLES; 0: all) training
    examples, (N, K) float64: what the fitted samplers learn from."""
    n = options["fit_examples"] or len(run.dataset.train)
    return np.asarray(run.encode(run.dataset.train[:n]), np.float64)


def as_codes(run, flat: np.ndarray) -> np.ndarray:
    """(n, K) rows -> (n, *code_shape) float32 codes for `run.decode`."""
    return np.asarray(flat, np.float32).reshape((len(flat), *run.code_shape()))
