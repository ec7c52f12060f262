"""The train state: parameters, optimizer state, the run's root key and the loss weights.

Everything that differs between two runs of the same architecture (seed, learning rate,
loss weights) is an array in this pytree, so a stack of states with a leading run axis
trains under `jax.vmap` as one compiled program.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct
from flax.training import train_state

from ae_jax import rng


class TrainState(train_state.TrainState):
    """flax's TrainState plus `key` (uint32[2], the run's root key) and `loss_weights`."""

    key: jax.Array
    loss_weights: dict[str, jax.Array] = struct.field(default_factory=dict)


def create_train_state(
    model, tx: optax.GradientTransformation, example_shape, seed, loss_weights: dict[str, Any]
) -> TrainState:
    """Initialise the parameters from `fold_in(PRNGKey(seed), "init")` and wrap them."""
    key = jax.random.PRNGKey(seed)
    x = jnp.zeros((1, *example_shape), jnp.float32)
    init_keys = {"params": rng.stream(key, "init"), "sample": rng.stream(key, "sample")}
    params = model.init(init_keys, x)["params"]
    return TrainState.create(
        apply_fn=model.apply, params=params, tx=tx, key=key,
        loss_weights={k: jnp.asarray(v, jnp.float32) for k, v in loss_weights.items()},
    )
