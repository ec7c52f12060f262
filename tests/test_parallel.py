"""Data parallelism, many processes, streaming and profiling give the single-device results.

Forced CPU devices (XLA_FLAGS) and `jax.distributed` need a fresh process each, so those tests
run scripts in subprocesses and compare the workdirs' checkpoints here.
"""

import os
import socket
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ae_jax
from ae_jax.engine import train_and_evaluate
from ae_jax.engine.workdir import choose_placement
from ae_jax.loops import EpochRunner, make_evaluator
from tests.conftest import ROOT, digits_config, family_setup


def _net_params(state) -> list:
    """The parameters of every network of a state, in the order of its nets."""
    return jax.tree_util.tree_leaves({name: net.params for name, net in state.nets.items()})


def _params(workdir, num_runs: int = 1) -> list[np.ndarray]:
    """The newest checkpoint's parameters, restored by this (single, one-device) process
    whatever the mesh that wrote it."""
    return [np.asarray(x) for r in range(num_runs)
            for x in _net_params(ae_jax.load(str(workdir), r).state)]


def _assert_close(a, b, rtol=2e-5, atol=2e-6):
    assert len(a) == len(b) > 0
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


def _run(code: str, env: dict | None = None, timeout=300) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


FOUR_DEVICES = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}


@pytest.mark.parametrize("overrides", [
    {},                                                   # MLP, scanned epoch
    pytest.param({"num_runs": 2}, marks=pytest.mark.slow),  # vmapped runs on the mesh
    pytest.param({"model.name": "conv", "model.latent_dim": 0, "loop": "steps",  # conv, a call
                  "model.encoder_layers": ("conv4", "pool"),                  # per step
                  "model.decoder_layers": ("conv4", "up")}, marks=pytest.mark.slow),
], ids=["mlp-scan", "runs", "conv-steps"])
def test_four_devices_equal_one(tmp_path, overrides):
    """The same config on a 4-device mesh and on one device: equal parameters (to float
    tolerance: the batch mean is summed in another order) after 2 epochs."""
    _run(f"""
        import jax
        assert jax.device_count() == 4
        from ae_jax.engine import train_and_evaluate
        from tests.conftest import digits_config
        for n in (1, 4):
            config = digits_config(num_epochs=2, num_devices=n, num_plot_images=0,
                                   **{overrides!r})
            state = train_and_evaluate(config, {str(tmp_path)!r} + f"/d{{n}}")
            leaf = jax.tree_util.tree_leaves(state.nets["model"].params)[0]
            assert len(leaf.sharding.device_set) == n  # replicated over the mesh
    """, FOUR_DEVICES)
    runs = overrides.get("num_runs", 1)
    _assert_close(_params(tmp_path / "d1", runs), _params(tmp_path / "d4", runs))


@pytest.mark.slow
def test_batch_not_divisible_by_devices_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "train.py", "--config=configs/quickstart.py",
                           f"--workdir={tmp_path}", "--config.num_devices=3",
                           "--config.batch_size=32"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **FOUR_DEVICES}, timeout=120)
    assert proc.returncode != 0
    assert "batch_size=32 not divisible by the 3 devices" in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _train_cmd(workdir, *extra):
    return [sys.executable, "train.py", "--config=configs/quickstart.py", f"--workdir={workdir}",
            "--config.num_epochs=2", "--config.progress_bar=False", "--config.tensorboard=False",
            "--config.num_plot_images=0", "--config.plot_every_epochs=0", *extra]


@pytest.mark.slow
def test_two_processes_equal_one_and_one_process_restores(tmp_path):
    """Two processes on localhost (one CPU device each, gloo all-reduce) train the quick-start
    model as one data-parallel job; their results equal one process's, and the Orbax
    checkpoint they wrote together is restored here, by one process."""
    port = _free_port()
    procs = [subprocess.Popen(
        _train_cmd(tmp_path / "two", "--config.num_devices=0",
                   "--config.distributed.num_processes=2", f"--config.distributed.process_id={i}",
                   f"--config.distributed.coordinator_address=localhost:{port}"),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-4000:]
    assert "process 1 of 2: 1 local / 2 global devices" in err
    subprocess.run(_train_cmd(tmp_path / "one"), cwd=ROOT, check=True, capture_output=True,
                   timeout=300)
    _assert_close(_params(tmp_path / "one"), _params(tmp_path / "two"))
    rows = open(tmp_path / "two" / "metrics.jsonl").read().splitlines()
    assert len(rows) == 4  # written once (process 0), not once per process


@pytest.mark.parametrize("loop", ["scan", "steps"])
def test_streamed_epoch_equals_on_device_epoch(loop):
    """Host batches prefetched in groups of 5 (22 steps: 5+5+5+5+2) give the on-device
    epoch's parameters bit for bit, and streamed evaluation its means."""
    ds, family, state, _ = family_setup(digits_config())
    flat = ds.train.reshape(len(ds.train), -1)  # (N, 64) host numpy
    runner = EpochRunner(family.train_step, len(flat), 64, loop, steps_per_call=3,
                         stream_batches=5)
    copy = jax.tree_util.tree_map(jnp.copy, state)  # the runner donates the state it gets
    on_device, m_dev = runner(state, jax.device_put(flat), 1)
    streamed, m_host = runner(copy, flat, 1)
    for a, b in zip(_net_params(on_device), _net_params(streamed), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_allclose(float(m_dev["loss"]), float(m_host["loss"]), rtol=1e-6)
    means = make_evaluator(family.eval_step, 50, stream_batches=2)

    def evaluate(state, data):
        return family.finalize(means(state, data))

    state = streamed
    test = ds.test.reshape(len(ds.test), -1)  # 359 examples: groups of 100 + the rest
    np.testing.assert_allclose(float(evaluate(state, test)["loss"]),
                               float(evaluate(state, jax.device_put(test))["loss"]), rtol=1e-6)


def test_streaming_run_matches_on_device_run(tmp_path):
    host = train_and_evaluate(digits_config(**{"data.placement": "host", "stream_batches": 4}),
                              str(tmp_path / "host"))
    device = train_and_evaluate(digits_config(**{"data.placement": "device"}),
                                str(tmp_path / "device"))
    _assert_close(_net_params(host), _net_params(device), rtol=0, atol=0)


class _Device:
    def __init__(self, limit):
        self.limit = limit

    def memory_stats(self):
        return None if self.limit is None else {"bytes_limit": self.limit}


def test_placement_auto_streams_only_what_does_not_fit():
    assert choose_placement("auto", 10 << 30, _Device(16 << 30)) == "host"
    assert choose_placement("auto", 1 << 30, _Device(16 << 30)) == "device"
    assert choose_placement("auto", 10 << 30, _Device(None)) == "device"  # CPU: host memory
    assert choose_placement("host", 1, _Device(16 << 30)) == "host"
    with pytest.raises(ValueError, match="unknown data.placement 'disk'"):
        choose_placement("disk", 1)


def test_profile_writes_a_trace(tmp_path):
    train_and_evaluate(digits_config(num_epochs=2, profile=True, num_plot_images=0),
                       str(tmp_path))
    traces = [f for _, _, fs in os.walk(tmp_path / "profile") for f in fs
              if f.endswith(".xplane.pb")]
    assert len(traces) == 1


@pytest.mark.slow
def test_gan_on_four_devices_equals_one(tmp_path, mnist_like_npz):
    """DCGAN (batch-norm statistics over the split batch) on a 4-device mesh and on one."""
    _run(f"""
        import jax, numpy as np
        from ae_jax.engine import train_and_evaluate
        from configs import dcgan
        from tests.test_gan import _tiny
        states = [train_and_evaluate(_tiny(dcgan, {mnist_like_npz!r}, num_devices=n,
                                           num_epochs=1), {str(tmp_path)!r} + f"/d{{n}}")
                  for n in (1, 4)]
        leaves = [jax.tree_util.tree_leaves(s.nets["generator"].params) for s in states]
        for a, b in zip(*leaves, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=2e-5)
    """, FOUR_DEVICES)


def test_mesh_and_distributed_misconfiguration_are_clear_errors():
    from ae_jax.parallel import initialize_distributed, make_mesh
    from configs import default

    with pytest.raises(ValueError, match=r"num_devices=99, but 1 devices are visible"):
        make_mesh(99)
    cfg = default.get_config().distributed
    cfg.num_processes = 2
    with pytest.raises(ValueError, match="needs distributed.coordinator_address"):
        initialize_distributed(cfg)
