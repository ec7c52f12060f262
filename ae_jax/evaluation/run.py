"""A trained run rebuilt from its workdir alone: config, data, model and restored state."""

from __future__ import annotations

import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ae_jax import checkpoints, rng
from ae_jax.data import Dataset, load_dataset, to_float
from ae_jax.forward import forward
from ae_jax.models import build_model
from ae_jax.models.activations import get_activation
from ae_jax.objectives import Objective, make_objective
from ae_jax.optimizers import make_optimizer
from ae_jax.runs import initial_state, run_slice
from ae_jax.train_state import TrainState


@dataclasses.dataclass
class TrainedRun:
    config: ml_collections.ConfigDict
    dataset: Dataset
    model: object
    objective: Objective
    state: TrainState
    epoch: int

    _compiled: dict = dataclasses.field(default_factory=dict, repr=False)

    def _jitted(self, method):
        """One compiled function per model method, reused by every call (a jit built per
        call would recompile each time)."""
        if method not in self._compiled:
            key = rng.stream(self.state.key, "eval")
            self._compiled[method] = jax.jit(
                lambda p, b: self.model.apply({"params": p}, b, method=method,
                                              rngs={"sample": key}))
        return self._compiled[method]

    def _apply(self, x, method=None, batch_size: int = 1000):
        """Apply the model (or one of its methods) to host examples in batches."""
        fn = self._jitted(method)
        outs = [fn(self.state.params, jnp.asarray(x[i:i + batch_size]))
                for i in range(0, len(x), batch_size)]
        return jax.tree_util.tree_map(lambda *a: np.concatenate(a), *outs)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Decoder logits of host codes."""
        return np.asarray(self._apply(np.asarray(z, np.float32), method="decode"))

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Codes of host examples (uint8 or float), flattened to (N, K)."""
        codes = self._apply(to_float(x), method="encode")
        return codes.reshape(len(x), -1)  # (N, ...) -> (N, K)

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """x_hat in the model's output range for host examples."""
        logits, _ = self._apply(to_float(x))
        return np.asarray(get_activation(self.model.output_activation)(logits))

    def per_example_loss(self, x: np.ndarray) -> np.ndarray:
        """The training objective of each example (anomaly score), shape (N,)."""
        if "loss" not in self._compiled:
            weights = self.objective.weights_at(self.state.loss_weights, self.state.step)
            key = rng.stream(self.state.key, "eval")

            @jax.jit
            def loss(params, b):
                xb = to_float(b)
                logits, aux = forward(self.model.apply, params, xb, {"sample": key})
                return self.objective(xb, logits, aux, params, weights)[0]

            self._compiled["loss"] = loss
        loss = self._compiled["loss"]
        return np.concatenate([np.asarray(loss(self.state.params, jnp.asarray(x[i:i + 1000])))
                               for i in range(0, len(x), 1000)])


def load_run(workdir: str, run_index: int = 0) -> TrainedRun:
    """Rebuild the run in `workdir` from its config.json and newest checkpoint; for a workdir
    of several vmapped runs (num_runs > 1), run `run_index` of them."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{workdir} holds no config.json: is it a training workdir?")
    with open(path) as f:
        config = ml_collections.ConfigDict(json.load(f))
    dataset = load_dataset(config.data)
    model = build_model(config.model, dataset.example_shape)
    steps = max(1, len(dataset.train) // config.batch_size)
    objective = make_objective(config.loss, model.output_activation, steps)
    tx = make_optimizer(config.optimizer, steps, max(1, config.num_epochs))
    template = initial_state(config, model, tx, dataset.example_shape)
    mngr = checkpoints.manager(workdir, config.get("keep_checkpoints", 3))
    epoch, state = checkpoints.restore_latest(mngr, template)
    if epoch == 0:
        raise FileNotFoundError(
            f"{workdir} holds no trained checkpoint; train it first with train.py"
        )
    if config.get("num_runs", 1) > 1:
        state = run_slice(state, run_index)
    return TrainedRun(config, dataset, model, objective, state, epoch)
