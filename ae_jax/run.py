"""A trained workdir, loaded once: `run = ae_jax.load("runs/vae_dense_2d")`.

    run.encode(x)        codes (N, K) of host examples (uint8 or floats in [0, 1])
    run.decode(z)        outputs in the data's range for codes (N, K)
    run.reconstruct(x)   x_hat for host examples
    run.sample(n, key)   n generated examples (the family's prior)
    run.score(x)         the training objective of each example (anomaly score)
    run.posterior(x)     (mean, logvar) of q(z | x)

Every evaluation task, the Frechet tool and study code read workdirs through `Run`. Each
function is compiled once per Run and reused (`Run.map`): host arrays go to the device in
batches of equal size (the last one padded by wrap-around rows and cut after), so a task
that calls `run.encode` many times with any number of examples compiles once.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ae_jax import checkpoints, rng
from ae_jax.data import Dataset, load_dataset, to_float
from ae_jax.families import Family, build_family
from ae_jax.models.abilities import MissingAbilityError
from ae_jax.runs import initial_state
from ae_jax.state import State, run_slice


@dataclasses.dataclass
class Run:
    workdir: str
    config: ml_collections.ConfigDict
    dataset: Dataset
    family: Family
    state: State
    epoch: int
    run_index: int = 0  # which of the workdir's num_runs vmapped runs this is
    best: bool = False  # restored from the keep_best checkpoint, not the newest
    batch_size: int = 1000
    _compiled: dict = dataclasses.field(default_factory=dict, repr=False)

    # -- what the run is -------------------------------------------------------------------
    @property
    def model(self):
        """The family's main network (the module whose abilities the run offers)."""
        return self.family.networks[self.family.main]

    def abilities(self) -> frozenset[str]:
        return self.family.abilities()

    def require(self, ability: str, who: str) -> None:
        """Raise MissingAbilityError (one line) unless the run can do `ability`."""
        have = self.abilities()
        if ability not in have:
            raise MissingAbilityError(
                f"{who} needs a model that can {ability!r}; {self.config.family} / "
                f"{self.config.model.name} can: {', '.join(sorted(have)) or 'nothing'}")

    @property
    def eval_key(self) -> jax.Array:
        """The run's fixed "eval" key: what every task draws from unless told otherwise."""
        return rng.stream(self.state.key, "eval")

    # -- the one batched, compile-once apply -----------------------------------------------
    def compiled(self, name: str, fn: Callable) -> Callable:
        """`fn(state, *batches)` jitted once under `name` and kept."""
        if name not in self._compiled:
            self._compiled[name] = jax.jit(fn)
        return self._compiled[name]

    def map(self, name: str, fn: Callable, *arrays, batch_size: int | None = None):
        """fn(state, *batch) over the rows of host arrays, in equal batches; returns fn's
        outputs (a pytree of numpy arrays) for the N rows."""
        jitted = self.compiled(name, fn)
        n = len(arrays[0])
        size = batch_size or self.batch_size  # one size for every call: one compilation
        outs = []
        for start in range(0, n, size):
            rows = np.arange(start, start + size) % n  # the last batch wraps around
            out = jitted(self.state, *(jnp.asarray(a[rows]) for a in arrays))
            outs.append(jax.tree_util.tree_map(np.asarray, out))
        cut = jax.tree_util.tree_map(lambda *a: np.concatenate(a)[:n], *outs)
        return cut

    # -- abilities as host functions -------------------------------------------------------
    def _family_fn(self, ability: str, method: str):
        self.require(ability, f"{method}()")
        return getattr(self.family, method)

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Codes of host examples, flattened to (N, K)."""
        fn = self._family_fn("encode", "encode")
        codes = self.map("encode", lambda s, b: fn(s, to_float(b)), x)
        return codes.reshape(len(x), -1)  # (N, ...) -> (N, K)

    def code_shape(self) -> tuple[int, ...]:
        """The shape of one example's code as `encode` makes it (before flattening)."""
        fn = self._family_fn("encode", "encode")
        x = jnp.zeros((1, *self.dataset.example_shape), jnp.float32)
        return tuple(jax.eval_shape(fn, self.state, x).shape[1:])

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Outputs in the data's range for host codes."""
        fn = self._family_fn("decode", "decode")
        return self.map("decode", fn, np.asarray(z, np.float32))

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        fn = self._family_fn("reconstruct", "reconstruct")
        key = self.eval_key
        return self.map("reconstruct", lambda s, b: fn(s, to_float(b), key), x)

    def score(self, x: np.ndarray) -> np.ndarray:
        """The training objective of each example (anomaly score), shape (N,)."""
        fn = self._family_fn("score", "score")
        key = self.eval_key
        return self.map("score", lambda s, b: fn(s, to_float(b), key), x)

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fn = self._family_fn("posterior", "posterior")
        return self.map("posterior", lambda s, b: fn(s, to_float(b)), x)

    def sample_codes(self, n: int, key: jax.Array | None = None) -> np.ndarray:
        fn = self._family_fn("sample", "sample_codes")
        key = self.eval_key if key is None else key
        jitted = self.compiled(f"sample_codes_{n}", lambda s, k: fn(s, k, n))
        return np.asarray(jitted(self.state, key))

    def sample(self, n: int, key: jax.Array | None = None) -> np.ndarray:
        """n examples decoded from n codes of the family's prior, drawn with `key`."""
        return self.decode(self.sample_codes(n, key))


def read_config(workdir: str) -> ml_collections.ConfigDict:
    """The config saved with the workdir's newest checkpoint (the one trusted), else its
    config.json copy."""
    stored = checkpoints.stored_config(workdir)
    if stored is not None:
        return ml_collections.ConfigDict(stored)
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{workdir} holds no checkpoint and no config.json: is it a "
                                "training workdir?")
    try:
        with open(path) as f:
            return ml_collections.ConfigDict(json.load(f))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e}) and the workdir has no checkpoint "
                         "holding its config; retrain it") from None


def load(workdir: str, run_index: int = 0, best: bool = False) -> Run:
    """The run in `workdir`, rebuilt from its config.json and newest checkpoint (with
    `best`, the keep_best checkpoint: the epoch of the lowest test `config.keep_best`); for
    a workdir of several vmapped runs (num_runs > 1), run `run_index` of them."""
    config = read_config(workdir)
    if best and not config.keep_best:
        raise ValueError(f"{workdir} was trained without keep_best, so it has no best "
                         "checkpoint; train with --config.keep_best=loss")
    dataset = load_dataset(config.data)
    steps = max(1, len(dataset.train) // config.batch_size)
    family = build_family(config, dataset.example_shape, steps)
    template = initial_state(family, config.num_runs, config.seed)
    mngr = (checkpoints.best_manager(workdir, config.keep_best, read_only=True) if best
            else checkpoints.manager(workdir, read_only=True))
    epoch, state = checkpoints.restore_latest(mngr, template)
    if epoch == 0:
        raise FileNotFoundError(
            f"{workdir} holds no trained checkpoint; train it first with train.py")
    if config.num_runs > 1:
        state = run_slice(state, run_index)
    return Run(workdir, config, dataset, family, state, epoch, run_index, best)
