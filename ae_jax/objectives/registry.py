"""The registry of named regulariser terms.

A term is `fn(x, logits, aux, params, loss_config) -> (B,)`: one value per example, computed
from the clean input x, the model's output logits, the model's `aux` dict (code, hidden
activations, VAE mean / logvar, ...), the parameters, and the loss config (for the term's own
options). Register one with `@register_term("name")` in a module of this package and import
that module in `ae_jax/objectives/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

PerExample = jax.Array  # shape (B,)

TermFn = Callable[..., PerExample]
TERMS: dict[str, TermFn] = {}


def register_term(name: str):
    """Decorator: make `fn(x, logits, aux, params, loss_config) -> (B,)` a named loss term."""

    def wrap(fn: TermFn) -> TermFn:
        if name in TERMS:
            raise ValueError(f"loss term {name!r} is registered twice")
        TERMS[name] = fn
        return fn

    return wrap


@register_term("l2_weights")
def l2_weights(x, logits, aux, params, loss_config) -> PerExample:
    """Weight decay: sum over every kernel of ||W||_F^2 (biases excluded).

    The value is the same for every example; it is broadcast to (B,) so that the batch mean
    of the total loss adds exactly `weight * sum ||W||^2`.
    """
    leaves = jax.tree_util.tree_leaves_with_path(params)
    total = sum(
        jnp.sum(jnp.square(leaf))
        for path, leaf in leaves
        if getattr(path[-1], "key", None) == "kernel"
    )
    return jnp.full((x.shape[0],), total, dtype=jnp.float32)
