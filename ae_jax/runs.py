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

from ae_jax.optimizers import set_hyperparams
from ae_jax.state import State, num_runs_of


def create_run_states(family, seeds: Sequence[int]) -> State:
    """R freshly initialised states stacked on a leading axis, run r seeded with seeds[r].

    Run r's state is bitwise `family.init(seeds[r])`.
    """
    return jax.jit(jax.vmap(family.init))(jnp.asarray(seeds, jnp.uint32))


def set_run_hyperparams(state: State, nets=None, **values) -> State:
    """Per-run optimizer hyperparameters, e.g. `learning_rate=[1e-3, 3e-3]` for R = 2 runs,
    in the optimizers of the networks named in `nets` (default: all).

    Each value is a sequence of length R (or a scalar for all runs); names are those of the
    optimizer's injected hyperparameters (learning_rate, momentum, ...).
    """
    nets = list(state.nets) if nets is None else list(nets)
    new = {name: (net.replace(opt_state=set_hyperparams(net.opt_state, **values))
                  if name in nets else net) for name, net in state.nets.items()}
    return state.replace(nets=new)


def set_run_loss_weights(state: State, **values) -> State:
    """Per-run loss-term weights, e.g. `kl=[0.5, 1.0, 4.0]` (beta-VAE sweep)."""
    weights = dict(state.loss_weights)
    for name, value in values.items():
        if name not in weights:
            raise ValueError(f"no loss term {name!r} in this run; terms: {sorted(weights)}")
        weights[name] = jnp.broadcast_to(jnp.asarray(value, jnp.float32), weights[name].shape)
    return state.replace(loss_weights=weights)


def initial_state(family, num_runs: int, seed: int, seeds: Sequence[int] | None = None):
    """One run's state, or `num_runs` stacked states seeded seed, seed + 1, ... (or `seeds`,
    one per run, when given)."""
    if seeds is not None and len(seeds) != num_runs:
        raise ValueError(f"{len(seeds)} seeds given for num_runs = {num_runs}")
    if num_runs > 1:
        seeds = [seed + r for r in range(num_runs)] if seeds is None else list(seeds)
        return create_run_states(family, seeds)
    # jitted: one program (cached on disk like the others) instead of one compiled per
    # operation of the eager forward pass that creates the parameters; the same bits
    # (ae_jax/models/activations.py, affine_draw)
    return jax.jit(family.init)(jnp.uint32(seed if seeds is None else seeds[0]))


def apply_run_hparams(state: State, run_hparams: dict,
                      optimizer_fields: dict | None = None) -> State:
    """Per-run values keyed by config field, one value per run, e.g. for num_runs = 2
    `{"optimizer.learning_rate": [0.05, 0.1], "loss.terms.kl": [1.0, 4.0]}`.

    Fields: "<optimizer field>.<injected hyperparameter>" for the family's optimizer fields
    (`optimizer_fields`: network -> config field, e.g. "optimizer",
    "discriminator_optimizer"; default: the autoencoders' one network "model") and
    "loss.terms.<term>"; "seed" is read by `initial_state` (it fixes the initial
    parameters) and skipped here. A single-run state takes lists of length 1.
    """
    optimizer_fields = optimizer_fields or {"model": "optimizer"}  # one network
    num_runs = num_runs_of(state)
    weights = {}
    for field, values in run_hparams.items():
        if len(values) != num_runs:
            raise ValueError(f"{field}: {len(values)} values for {num_runs} runs")
        value = values if np.ndim(state.step) else values[0]
        head, _, name = field.rpartition(".")
        if head in optimizer_fields.values():
            nets = [n for n, f in optimizer_fields.items() if f == head]
            state = set_run_hyperparams(state, nets, **{name: value})
        elif head == "loss.terms":
            weights[name] = value
        elif field != "seed":
            raise ValueError(
                f"{field!r} cannot differ between vmapped runs; per-run fields are seed, "
                f"{', '.join(sorted(set(optimizer_fields.values())))}.<hyperparameter> and "
                "loss.terms.<term>")
    return set_run_loss_weights(state, **weights)
