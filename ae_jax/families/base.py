"""The contract between the engine and a model family.

A family is built once per command from the config, the example shape and the number of
steps per epoch, and then offers pure functions of the train state (`ae_jax.state.State`).
The engine jits, vmaps (runs), shards (mesh), streams, checkpoints and evaluates them
without knowing what they compute; `ae_jax.run.Run` jits the optional ones once each.

Required:
  networks          {name: flax module}: the networks of the state, for the summary table
                    and for their declared abilities (ae_jax/models/abilities.py)
  optimizer_fields  {network name: config field of its optimizer}, e.g. {"model":
                    "optimizer"}: the per-run hyperparameters "optimizer.learning_rate" go
                    to the networks trained by that field
  init(seed)        a fresh State; vmappable over a uint32 seed array (several runs)
  train_step(state, batch) -> (state, metrics)   batch: (B, D) flat rows, uint8 or float
                    ((B, D + 1) with the class label last when `uses_labels()`)
  eval_step(state, batch, key, mask) -> {name: (B, ...)}   per-example values; the engine
                    takes their means over the test split (padding masked out), then
                    `finalize(means)` turns them into the epoch's test metrics

Optional abilities (`abilities()` says which exist; ae_jax.run.Run calls them):
  encode(state, x) -> codes         decode(state, z) -> outputs in the data's range
  reconstruct(state, x) -> x_hat    score(state, x, key) -> (B,) per-example objective
  sample_codes(state, key, n) -> z  (decode them for samples; n is static)
  posterior(state, x) -> (mean, logvar)
  posterior_samples(state, x, k, key) -> (z, log q(z|x)) and log_prior(state, z): DENSITY
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import flax.linen as nn
import jax

from ae_jax.models.abilities import CONDITIONAL, abilities_of, xla_conv_gradients
from ae_jax.models.summary import summarize
from ae_jax.state import State

# Abilities of a family beyond its networks' (see ae_jax/models/abilities.py for those).
RECONSTRUCT = "reconstruct"  # reconstruct(state, x)
SAMPLE = "sample"            # sample_codes(state, key, n) and decode(state, z)
SCORE = "score"              # score(state, x, key): the per-example training objective


def prefers_steps_on_cpu(networks: Mapping[str, nn.Module]) -> bool:
    """True when any network's gradients use XLA's convolutions (slow inside a while loop
    on XLA:CPU; see ae_jax/loops.py)."""
    return any(xla_conv_gradients(m) for m in networks.values())


class Family:
    """Base class: the shared parts of the contract (see the module docstring)."""

    name: ClassVar[str] = ""
    main: ClassVar[str] = "model"  # the network whose abilities the family offers
    progress_keys: ClassVar[tuple[str, ...]] = ("loss",)  # progress-bar fields (train)
    curve_groups: ClassVar[dict[str, tuple[str, ...]]] = {"loss_curves.png": ("loss",)}

    networks: dict[str, nn.Module]
    optimizer_fields: dict[str, str]
    input_shapes: dict[str, tuple]  # per network, the shape of one input (summaries)

    def __init__(self, config, example_shape: tuple, steps_per_epoch: int):
        self.config = config
        self.example_shape = tuple(example_shape)
        self.steps_per_epoch = steps_per_epoch

    # -- required ------------------------------------------------------------------------
    def init(self, seed) -> State:
        raise NotImplementedError

    def train_step(self, state: State, batch: jax.Array) -> tuple[State, dict]:
        raise NotImplementedError

    def eval_step(self, state: State, batch, key, mask) -> dict[str, jax.Array]:
        raise NotImplementedError

    def finalize(self, means: Mapping[str, Any]) -> dict[str, Any]:
        """Test metrics from the means of `eval_step`'s values; names that start with "_"
        are intermediate and dropped."""
        return {k: v for k, v in means.items() if not k.startswith("_")}

    # -- declared, not guessed -----------------------------------------------------------
    def abilities(self) -> frozenset[str]:
        return abilities_of(self.networks[self.main])

    def uses_labels(self) -> bool:
        """True when the main network is CONDITIONAL: batches then carry the class label as
        their last column (ae_jax/forward.py split_labels)."""
        return CONDITIONAL in abilities_of(self.networks[self.main])

    def prefers_steps_on_cpu(self) -> bool:
        return prefers_steps_on_cpu(self.networks)

    def example_rows(self, state: State, x, key) -> dict:
        """Rows of the reconstruction figure (needs RECONSTRUCT): inputs, reconstructions."""
        return {"input": x, "reconstruction": self.reconstruct(state, x, key)}

    def summary(self) -> str:
        """The Keras-style table of every network."""
        parts = []
        for name, module in self.networks.items():
            text, _ = summarize(module, self.input_shapes[name])
            parts.append(text if len(self.networks) == 1 else f"{name}\n{text}")
        return "\n".join(parts)
