"""Several runs of one architecture as one pytree with a leading run axis.

Seeds, learning rates and loss weights are arrays in the train state, so R runs are one
stacked state and train under `jax.vmap` in one compiled program (`EpochRunner(runs=True)`):
the course's "mean of 5 runs" is one call, not five.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ae_jax.optimizers import is_injected_state
from ae_jax.train_state import TrainState, create_train_state


def create_run_states(model, tx, example_shape, seeds: Sequence[int],
                      loss_weights: dict) -> TrainState:
    """R freshly initialised states stacked on a leading axis, run r seeded with seeds[r].

    Run r's parameters are bitwise those of `create_train_state(..., seeds[r], ...)`.
    """
    def one(seed):
        return create_train_state(model, tx, example_shape, seed, loss_weights)

    return jax.vmap(one)(jnp.asarray(seeds, jnp.uint32))


def set_run_hyperparams(state: TrainState, **values) -> TrainState:
    """Per-run optimizer hyperparameters, e.g. `learning_rate=[1e-3, 3e-3]` for R = 2 runs.

    Each value is a sequence of length R (or a scalar for all runs); names are those of the
    optimizer's injected hyperparameters (learning_rate, momentum, ...).
    """
    def fix(node):
        if not is_injected_state(node):
            return node
        hp = dict(node.hyperparams)
        for name, value in values.items():
            if name not in hp:
                raise ValueError(f"the optimizer has no hyperparameter {name!r}; it has "
                                 f"{sorted(hp)}")
            hp[name] = jnp.broadcast_to(jnp.asarray(value, hp[name].dtype), hp[name].shape)
        return node._replace(hyperparams=hp)

    opt_state = jax.tree_util.tree_map(fix, state.opt_state, is_leaf=is_injected_state)
    return state.replace(opt_state=opt_state)


def set_run_loss_weights(state: TrainState, **values) -> TrainState:
    """Per-run loss-term weights, e.g. `kl=[0.5, 1.0, 4.0]` (beta-VAE sweep)."""
    weights = dict(state.loss_weights)
    for name, value in values.items():
        if name not in weights:
            raise ValueError(f"no loss term {name!r} in this run; terms: {sorted(weights)}")
        weights[name] = jnp.broadcast_to(jnp.asarray(value, jnp.float32), weights[name].shape)
    return state.replace(loss_weights=weights)


def run_slice(state: TrainState, r: int) -> TrainState:
    """Run r of a stacked state, as a single-run state."""
    return jax.tree_util.tree_map(lambda a: a[r], state)


def initial_state(config, model, tx, example_shape, seeds: Sequence[int] | None = None):
    """One run's state, or `num_runs` stacked states seeded seed, seed + 1, ... (or `seeds`,
    one per run, when given)."""
    weights = dict(config.loss.get("terms", {}))
    num_runs = config.get("num_runs", 1)
    if seeds is not None and len(seeds) != num_runs:
        raise ValueError(f"{len(seeds)} seeds given for num_runs = {num_runs}")
    if num_runs > 1:
        seeds = [config.seed + r for r in range(num_runs)] if seeds is None else list(seeds)
        return create_run_states(model, tx, example_shape, seeds, weights)
    seed = config.seed if seeds is None else int(seeds[0])
    return create_train_state(model, tx, example_shape, seed, weights)


def apply_run_hparams(state: TrainState, run_hparams: dict) -> TrainState:
    """Per-run values keyed by config field, one value per run, e.g. for num_runs = 2
    `{"optimizer.learning_rate": [0.05, 0.1], "loss.terms.kl": [1.0, 4.0]}`.

    Fields: "optimizer.<injected hyperparameter>" and "loss.terms.<term>"; "seed" is read by
    `initial_state` (it fixes the initial parameters) and skipped here. A single-run state
    takes lists of length 1.
    """
    num_runs = int(np.shape(state.step)[0]) if np.ndim(state.step) else 1
    opt, weights = {}, {}
    for field, values in run_hparams.items():
        if len(values) != num_runs:
            raise ValueError(f"{field}: {len(values)} values for {num_runs} runs")
        value = values if np.ndim(state.step) else values[0]
        if field.startswith("optimizer."):
            opt[field.removeprefix("optimizer.")] = value
        elif field.startswith("loss.terms."):
            weights[field.removeprefix("loss.terms.")] = value
        elif field != "seed":
            raise ValueError(f"{field!r} cannot differ between vmapped runs; per-run fields are "
                             "seed, optimizer.<hyperparameter> and loss.terms.<term>")
    return set_run_loss_weights(set_run_hyperparams(state, **opt), **weights)
