"""Objectives as data: a reconstruction loss plus named, weighted regulariser terms.

A config says, e.g.::

    loss = dict(reconstruction="bce", reduction="mean", terms=dict(l1_activity=1e-5))

and the trainer minimises the batch mean of

    loss(x) = L(x, x_hat) + sum_i weight_i * term_i(x)

Every function here returns one value per example (shape (B,)), so the same code gives the
training loss, evaluation means and per-example anomaly scores. Term weights live in the
train state as arrays (not Python floats), so several weights can be trained side by side
under `jax.vmap` and a weight can follow a schedule inside the compiled step.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from ae_jax import rng
from ae_jax.models.activations import get_activation
from ae_jax.objectives.reconstruction import (
    PerExample,
    bce_with_logits,
    reduce_per_example,
    squared_error,
)
from ae_jax.objectives.terms import TERMS, TermInputs, model_term_inputs

__all__ = ["TERMS", "Objective", "TermInputs", "bce_with_logits", "make_objective",
           "model_term_inputs"]

@dataclasses.dataclass(frozen=True)
class Objective:
    """`L(x, x_hat) + sum_i w_i term_i`, per example.

    Attributes:
      reconstruction: "bce" (on logits; needs a sigmoid output) or "mse" (on the activated
        output).
      reduction: "mean" or "sum" of the elementwise loss over the dimensions of one example.
        The seeds' Keras numbers (about 0.09 for the dense AE) are means over pixels; a VAE's
        ELBO needs sums (nats per example).
      term_names: the regulariser terms, in the order they are reported.
      output_activation: the model's output activation, applied to logits for "mse".
      config: the loss ConfigDict, handed to each term for its own options.
      warmup_steps: term name -> steps over which its weight rises linearly from 0 to its
        value (KL warm-up); terms not named keep their weight from the first step.
    """

    reconstruction: str
    reduction: str
    term_names: tuple[str, ...]
    output_activation: str
    config: Mapping | None = None
    warmup_steps: Mapping[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.reconstruction not in ("bce", "mse", "none"):
            raise ValueError(
                f"unknown reconstruction loss {self.reconstruction!r}: use 'bce', 'mse' or "
                "'none' (a term is the whole likelihood: iwae, gaussian_nll)"
            )
        if self.reconstruction == "bce" and self.output_activation != "sigmoid":
            raise ValueError(
                "reconstruction 'bce' needs a model with output_activation='sigmoid' "
                f"(got {self.output_activation!r}); use 'mse' for other outputs"
            )
        for name in self.term_names:
            TERMS.get(name)  # an unknown name fails here, listing the known terms
        reduce_per_example(jnp.zeros((1, 1)), self.reduction)  # validates the name

    def weights_at(self, weights: Mapping[str, jax.Array], step) -> dict[str, jax.Array]:
        """The term weights at a (traced) step: w * min(1, step / warmup_steps)."""
        out = dict(weights)
        for name, steps in self.warmup_steps.items():
            if steps > 0:
                out[name] = weights[name] * jnp.minimum(1.0, step / steps)
        return out

    def reconstruction_loss(self, x: jax.Array, logits: jax.Array) -> PerExample:
        # (B, H, W, C) -> (B, D): on XLA:CPU, elementwise maths and reductions over images
        # with a trailing channel axis of 1 ran about 4x slower than over flat rows.
        x = x.reshape((x.shape[0], -1))
        logits = logits.reshape((logits.shape[0], -1)).astype(jnp.float32)  # bf16 -> f32
        if self.reconstruction == "bce":
            return reduce_per_example(bce_with_logits(logits, x), self.reduction)
        x_hat = get_activation(self.output_activation)(logits)
        return reduce_per_example(squared_error(x_hat, x), self.reduction)

    def __call__(
        self, t: TermInputs, weights: Mapping[str, jax.Array]
    ) -> tuple[PerExample, dict[str, PerExample]]:
        """Per-example total loss and every component by name (unweighted terms).

        Each term gets `t` with the loss config and a key of its own, the stream named after
        the term of `t.key`.
        """
        x, logits = t.x, t.logits
        if self.reconstruction == "none":  # a term is the whole likelihood (iwae, gaussian_nll)
            parts, total = {}, jnp.zeros((x.shape[0],), jnp.float32)
        else:
            parts = {self.reconstruction: self.reconstruction_loss(x, logits)}
            total = parts[self.reconstruction]
            if self.reduction == "sum":  # nats per example; also report the per-pixel mean
                parts[f"{self.reconstruction}_per_pixel"] = total / math.prod(x.shape[1:])
        for name in self.term_names:
            key = None if t.key is None else rng.stream(t.key, name)
            parts[name] = TERMS.get(name)(dataclasses.replace(t, key=key, config=self.config))
            total = total + weights[name] * parts[name]
        return total, parts


def make_objective(loss_config, output_activation: str, steps_per_epoch: int = 1) -> Objective:
    """Objective from a config's `loss` field and the model's output activation.

    `loss.warmup_epochs` (term name -> epochs) becomes warm-up steps via `steps_per_epoch`.
    """
    terms = dict(loss_config.terms)
    warmup = dict(loss_config.warmup_epochs)
    unknown = sorted(set(warmup) - set(terms))
    if unknown:
        raise ValueError(f"loss.warmup_epochs names {unknown}, which are not in loss.terms")
    return Objective(
        reconstruction=loss_config.reconstruction,
        reduction=loss_config.reduction,
        term_names=tuple(terms),
        output_activation=output_activation,
        config=loss_config,
        warmup_steps={k: int(round(v * steps_per_epoch)) for k, v in warmup.items()},
    )


def initial_weights(loss_config) -> dict[str, jax.Array]:
    """The term weights as float32 arrays, to be stored in the train state."""
    return {k: jnp.asarray(v, jnp.float32) for k, v in dict(loss_config.terms).items()}
