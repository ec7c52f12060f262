"""Loss terms: what a term receives (`TermInputs`) and the registry of named terms.

A term is `fn(t: TermInputs) -> (B,)`: one value per example. Register one with
`@TERMS.register("name")` in any module of `ae_jax.objectives` (the registry imports them
all on its first lookup); its docstring carries the maths.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from ae_jax.registry import Registry

PerExample = jax.Array  # shape (B,)

TERMS: Registry[Callable[..., PerExample]] = Registry(
    "loss term", field="loss.terms", package="ae_jax.objectives")


def _no_model(method, *args):
    raise ValueError(f"this term calls the model's {method!r}, but no model was given")


@dataclasses.dataclass(frozen=True)
class TermInputs:
    """Everything a loss term may need, for a batch of B examples.

    x            the clean examples, (B, H, W, C) in [0, 1]: the reconstruction target
    inputs       what the model saw (corrupted in a denoising run; x otherwise)
    logits       the model's output logits, (B, H, W, C)
    aux          the model's aux dict: "code", "hidden", VAE "mean" / "logvar" / "z", ...
    params       the model's parameters
    collections  its other variable collections (batch statistics, codebooks), read-only
    key          a random key of this term's own (a stochastic term such as MMD draws from
                 it); it differs per term, per step and per evaluation batch
    mask         (B,) float32, 1 for real examples and 0 for evaluation padding: a batch-level
                 term takes its statistics over the real examples only
    config       the loss config (the term's own options, e.g. loss.sparsity_target)
    apply        apply(method, *args, frozen=False): the model's other methods with the same
                 variables and rngs, e.g. apply("encode", x) for a Jacobian,
                 apply("decode", z) for samples; frozen=True stops the gradient to the
                 variables (PIWAE trains its decoder and encoder on different bounds)
    """

    x: jax.Array
    inputs: jax.Array
    logits: jax.Array
    aux: Mapping[str, Any]
    params: Any = None
    collections: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    key: jax.Array | None = None
    mask: jax.Array | None = None
    config: Any = None
    apply: Callable = _no_model

    @property
    def batch_size(self) -> int:
        return self.x.shape[0]

    def real(self) -> jax.Array:
        """The mask, or ones when none was given: (B,) float32."""
        if self.mask is None:
            return jnp.ones((self.batch_size,), jnp.float32)
        return self.mask.astype(jnp.float32)


def model_term_inputs(apply_fn, variables, x, inputs=None, rngs=None, mutable=(),
                      model_kwargs=None, **fields) -> tuple[TermInputs, dict | None]:
    """(TermInputs, updated mutable collections or None) of a model applied to `inputs`
    (default: the clean `x`) with `variables`: its (logits, aux), its parameters and other
    collections, and `apply(method, *args)` with the same variables and rngs. `mutable`
    names the collections the forward pass may update (batch statistics, an EMA codebook);
    `fields` sets the others (key, mask, config)."""
    inputs = x if inputs is None else inputs
    kwargs = model_kwargs or {}
    if mutable:
        (logits, aux), updates = apply_fn(variables, inputs, rngs=rngs, mutable=list(mutable),
                                          **kwargs)
    else:
        (logits, aux), updates = apply_fn(variables, inputs, rngs=rngs, **kwargs), None

    def apply(method, *args, frozen: bool = False):
        """The model's `method`; `frozen` stops the gradient to its variables (the inputs
        still carry theirs), e.g. a decoder trained by another bound than the encoder."""
        used = jax.lax.stop_gradient(variables) if frozen else variables
        return apply_fn(used, *args, method=method, rngs=rngs)

    collections = {k: v for k, v in variables.items() if k != "params"}
    t = TermInputs(x=x, inputs=inputs, logits=logits, aux=aux, params=variables["params"],
                   collections=collections, apply=apply, **fields)
    return t, updates


@TERMS.register("l2_weights")
def l2_weights(t: TermInputs) -> PerExample:
    """Weight decay: sum over every kernel of ||W||_F^2 (biases excluded).

    The value is the same for every example; it is broadcast to (B,) so that the batch mean
    of the total loss adds exactly `weight * sum ||W||^2`.
    """
    leaves = jax.tree_util.tree_leaves_with_path(t.params)
    total = sum(
        jnp.sum(jnp.square(leaf))
        for path, leaf in leaves
        if getattr(path[-1], "key", None) == "kernel"
    )
    return jnp.full((t.batch_size,), total, dtype=jnp.float32)
