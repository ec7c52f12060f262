"""Shared fixtures: small configs on real (bundled) or generated data, and the family-level
set-up of tests that drive the compiled steps without the trainer."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# JAX's persistent compilation cache for this process and every subprocess a test starts:
# the suite compiles the same programs many times (seeds trained apart, reruns after a kill,
# one quick-start per subprocess test), and a cache hit is the program itself (bitwise).
# The folder is the user's (~/.cache/ae_jax/jax-tests), not the checkout's, so a fresh clone
# or a CI checkout on the same machine starts warm: a key covers the program (without its
# source locations), the devices, the flags and the versions, never the checkout's path.
# AE_JAX_TEST_CACHE=off runs without it. The test process and its subprocesses share the
# folder: the size limit turns on JAX's file lock around each entry
# (see ae_jax/compilation_cache.py).
if os.environ.get("AE_JAX_TEST_CACHE", "") != "off":
    from ae_jax.compilation_cache import MAX_BYTES, default_dir  # imports no jax

    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", default_dir() + "-tests")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(MAX_BYTES))
    os.environ["AE_JAX_CACHE_DIR"] = os.environ["JAX_COMPILATION_CACHE_DIR"]


def _pin_xdist_worker():
    """Under pytest-xdist (`-n N`), pin worker gwI to one CPU of this process's set, before
    jax starts: XLA:CPU sizes its thread pools by the CPUs a process may run on, so N workers
    on N cores each get one core instead of all fighting over all of them (unpinned, `-n 2`
    on 2 cores was slower than one process). Subprocesses that a test starts inherit it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[int(worker[2:]) % len(cpus)]})


_pin_xdist_worker()

import jax.numpy as jnp  # noqa: E402
import ml_collections  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

sys.path.insert(0, ROOT)  # so `configs` imports as in train.py

from ae_jax.data import load_dataset  # noqa: E402
from ae_jax.families import build_family  # noqa: E402
from ae_jax.objectives import model_term_inputs  # noqa: E402
from ae_jax.sweeps import set_field  # noqa: E402
from configs import default  # noqa: E402


def digits_config(**overrides):
    """The quick-start MLP on sklearn's digits, shrunk for tests."""
    config = default.get_config()
    config.data.name = "digits"
    config.model.latent_dim = 8
    config.model.hidden_sizes = (32,)
    config.batch_size = 64
    config.num_epochs = 3
    config.progress_bar = False
    config.tensorboard = False
    for key, value in overrides.items():
        set_field(config, key, value)
    return config


def loss_config(**fields):
    """configs/default.py's `loss` (BCE, mean over pixels, no terms) with `fields` set, e.g.
    `loss_config(reduction="sum", terms=dict(kl=1.0))`."""
    loss = default.get_config().loss
    for key, value in fields.items():
        loss[key] = ml_collections.ConfigDict(value) if isinstance(value, dict) else value
    return loss


def family_setup(config, steps_per_epoch=None):
    """(dataset, family, state, flat): the config's data, its model family (ae_jax/families)
    built as the trainer builds it, the fresh state of `config.seed`, and the training split
    flattened to (N, D) uint8 on the device (what the EpochRunner trains on)."""
    ds = load_dataset(config.data)
    steps = len(ds.train) // config.batch_size if steps_per_epoch is None else steps_per_epoch
    family = build_family(config, ds.example_shape, steps)
    flat = jnp.asarray(ds.train.reshape(len(ds.train), -1))  # (N, H, W, C) -> (N, D)
    return ds, family, family.init(config.seed), flat


def term_inputs(model, params, x, rngs=None, inputs=None, **fields):
    """The `TermInputs` of a bare module applied to `inputs` (default: x itself) with
    `params`, as the autoencoder family hands them to the loss terms."""
    return model_term_inputs(model.apply, {"params": params}, x, inputs, rngs, **fields)[0]


def assert_kill_9_then_rerun_is_bitwise(command, tmp_path, epochs: int, kill_after: int):
    """Train `command(workdir, epochs)` uninterrupted, and again with a SIGKILL once
    checkpoint `kill_after` exists, then rerun: the final checkpoints' arrays are equal."""
    import signal
    import subprocess
    import time

    import jax
    import orbax.checkpoint as ocp

    subprocess.run(command(tmp_path / "full", epochs), cwd=ROOT, check=True,
                   capture_output=True)
    proc = subprocess.Popen(command(tmp_path / "killed", epochs), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = tmp_path / "killed" / "checkpoints"
    deadline = time.time() + 120
    while time.time() < deadline and not (ckpt.exists() and any(
            p.isdigit() and int(p) >= kill_after for p in os.listdir(ckpt))):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = [int(p) for p in os.listdir(ckpt) if p.isdigit()]
    assert 0 < max(done) < epochs, "the run must be killed mid-way"
    subprocess.run(command(tmp_path / "killed", epochs), cwd=ROOT, check=True,
                   capture_output=True)
    restored = []
    for run in ("full", "killed"):
        with ocp.CheckpointManager(str(tmp_path / run / "checkpoints")) as mngr:
            assert mngr.latest_step() == epochs
            restored.append(mngr.restore(epochs, args=ocp.args.Composite(
                state=ocp.args.StandardRestore()))["state"])
    a, b = (jax.tree_util.tree_leaves(r) for r in restored)
    assert len(a) == len(b) > 0
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture
def mnist_like_npz(tmp_path):
    """A tiny 28x28 dataset with MNIST's shapes (uint8 strokes), as an .npz file."""
    rng = np.random.default_rng(0)
    x = np.zeros((96, 28, 28), np.uint8)
    for i in range(len(x)):
        r, c = rng.integers(4, 20, size=2)
        x[i, r:r + 6, c:c + 3] = 255
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=x[:64], x_test=x[64:], y_train=np.arange(64) % 10,
             y_test=np.arange(32) % 10)
    return str(path)
