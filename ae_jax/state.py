"""The train state of every model family: named networks, the step, the run's key and the
loss weights.

    State(step, key, nets={"model": Net(...)}, loss_weights={"kl": 1.0})        autoencoders
    State(step, key, nets={"generator": Net(...), "discriminator": Net(...)})  GANs, the AAE

Each `Net` holds its parameters, its mutable variable collections (batch statistics, an EMA
codebook, an EMA copy of the parameters: whatever the module keeps besides "params") and its
own optimizer state. Everything that differs between two runs of one architecture (seed,
learning rates, loss weights) is an array in this pytree, so R stacked states train under
`jax.vmap` as one compiled program, and Orbax saves and restores the whole of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct


class Net(struct.PyTreeNode):
    """One network: `params`, its other variable collections, its optimizer state; the apply
    function and the optimizer are static."""

    params: Any
    collections: dict  # e.g. {"batch_stats": ...}; {} for a module with parameters only
    opt_state: Any
    apply_fn: Callable = struct.field(pytree_node=False)
    tx: optax.GradientTransformation = struct.field(pytree_node=False)

    @classmethod
    def create(cls, module, tx: optax.GradientTransformation, variables: Mapping) -> Net:
        variables = dict(variables)
        params = variables.pop("params")
        return cls(params=params, collections=variables, opt_state=tx.init(params),
                   apply_fn=module.apply, tx=tx)

    def variables(self, params=None) -> dict:
        """The module's variables with `params` (default: this net's) in place."""
        return {"params": self.params if params is None else params, **self.collections}

    def apply_gradients(self, grads, collections: Mapping | None = None) -> Net:
        """One optimizer step; `collections` replaces the mutable collections (None keeps
        them)."""
        updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
        return self.replace(params=optax.apply_updates(self.params, updates),
                            opt_state=opt_state,
                            collections=self.collections if collections is None
                            else dict(collections))


class State(struct.PyTreeNode):
    step: jax.Array  # int32 scalar: training steps taken
    key: jax.Array  # uint32[2]: the run's root key (see ae_jax.rng)
    nets: dict[str, Net]
    loss_weights: dict[str, jax.Array] = struct.field(default_factory=dict)

    @classmethod
    def create(cls, key: jax.Array, nets: Mapping[str, Net],
               loss_weights: Mapping[str, Any] | None = None) -> State:
        weights = {k: jnp.asarray(v, jnp.float32) for k, v in (loss_weights or {}).items()}
        return cls(step=jnp.zeros((), jnp.int32), key=key, nets=dict(nets),
                   loss_weights=weights)

    def with_net(self, name: str, net: Net) -> State:
        return self.replace(nets={**self.nets, name: net})


def num_runs_of(state: State) -> int:
    """R for a stacked state of R vmapped runs, 1 for a single run."""
    return int(jnp.shape(state.step)[0]) if jnp.ndim(state.step) else 1


def run_slice(state: State, r: int) -> State:
    """Run r of a stacked state, as a single-run state."""
    return jax.tree_util.tree_map(lambda a: a[r], state)
