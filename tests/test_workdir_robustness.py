"""A workdir under damage and misuse: nothing written before validation, the checkpoint's
config trusted over config.json, a lock, verified checkpoints, a repaired metrics tail,
changes on resume sorted into allowed and refused, and user errors as one line (exit 2)."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

import ae_jax
from ae_jax.checkpoints import CheckpointError
from ae_jax.engine import train_and_evaluate
from ae_jax.engine.lock import WorkdirLockedError, acquire, release
from ae_jax.files import read_jsonl
from tests.conftest import ROOT, digits_config


def small(**overrides):
    return digits_config(**{"num_plot_images": 0, "num_sample_images": 0, **overrides})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2-epoch digits workdir, copied per test that damages it."""
    workdir = tmp_path_factory.mktemp("trained") / "w"
    train_and_evaluate(small(num_epochs=2), str(workdir))
    return workdir


def _copy(src, dst):
    import shutil

    shutil.copytree(src, dst)
    os.remove(os.path.join(dst, "lock")) if os.path.exists(os.path.join(dst, "lock")) else None
    return dst


@pytest.mark.parametrize("field, value, says", [
    ("keep_checkpoints", 0, "keep_checkpoints=0"),
    ("batch_size", 0, "batch_size=0"),
    ("eval_batch_size", 0, "eval_batch_size=0"),
    ("checkpoint_every_epochs", 0, "checkpoint_every_epochs=0"),
    ("num_runs", 0, "num_runs=0"),
    ("scan_unroll", 0, "scan_unroll=0"),
    ("num_epochs", -1, "num_epochs=-1"),
    ("data.train_limit", -5, "data.train_limit=-5"),
    ("optimizer.learning_rate", -1e-3, "optimizer.learning_rate=-0.001"),
    ("data.test_fraction", 1.0, "data.test_fraction=1.0"),
    ("model.latent_dim", 0, "model.latent_dim=0"),
])
def test_bad_values_are_refused_before_anything_is_written(tmp_path, field, value, says):
    workdir = tmp_path / "new"
    with pytest.raises(ValueError, match=f"invalid config: {says}"):
        train_and_evaluate(small(**{field: value}), str(workdir))
    assert not workdir.exists()


def test_an_empty_config_json_does_not_break_resume_or_load(trained, tmp_path):
    w = _copy(trained, tmp_path / "w")
    (w / "config.json").write_text("")
    state = train_and_evaluate(small(num_epochs=3), str(w))  # resumes from epoch 2
    assert int(state.step) == 3 * (len(ae_jax.load(str(w)).dataset.train) // 64)
    assert json.loads((w / "config.json").read_text())["num_epochs"] == 3  # rewritten whole


def test_a_refused_command_leaves_config_json_as_it_was(trained, tmp_path):
    w = _copy(trained, tmp_path / "w")
    before = (w / "config.json").read_bytes()
    with pytest.raises(ValueError, match="unknown reconstruction loss 'bcx'"):
        train_and_evaluate(small(num_epochs=3, **{"loss.reconstruction": "bcx"}), str(w))
    assert (w / "config.json").read_bytes() == before
    ae_jax.load(str(w))  # evaluate.py still reads the workdir


def test_a_torn_metrics_line_is_repaired_on_resume(trained, tmp_path):
    w = _copy(trained, tmp_path / "w")
    with open(w / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 3, "spl')
    train_and_evaluate(small(num_epochs=3), str(w))
    rows = read_jsonl(str(w / "metrics.jsonl"))
    assert [(r["epoch"], r["split"]) for r in rows] == [
        (e, s) for e in (1, 2, 3) for s in ("train", "test")]


def test_loss_weights_may_change_on_resume_but_not_the_optimizer_or_seed(tmp_path):
    base = {"loss.terms": {"l1_activity": 1e-5}}
    train_and_evaluate(small(num_epochs=1, **base), str(tmp_path))
    state = train_and_evaluate(small(num_epochs=2, **{"loss.terms": {"l1_activity": 2e-5}}),
                               str(tmp_path))
    assert float(state.loss_weights["l1_activity"]) == pytest.approx(2e-5)
    with pytest.raises(ValueError, match=r"another optimizer \(optimizer.name: 'adam' "
                                         r"\(workdir\) vs 'sgd'"):
        train_and_evaluate(small(num_epochs=3, **base, **{"optimizer.name": "sgd"}),
                           str(tmp_path))
    with pytest.raises(ValueError, match=r"seed: 0 \(workdir\) vs 1"):
        train_and_evaluate(small(num_epochs=3, seed=1, **base), str(tmp_path))
    with pytest.raises(ValueError, match=r"loss.terms names"):
        train_and_evaluate(small(num_epochs=3, **{"loss.terms": {"l2_weights": 1e-4}}),
                           str(tmp_path))


def test_a_second_writer_is_refused_with_the_owner_named(tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "lock").write_text(json.dumps(
            {"pid": owner.pid, "host": socket.gethostname(), "since": "now"}))
        with pytest.raises(WorkdirLockedError, match=f"in use by pid {owner.pid} on "):
            train_and_evaluate(small(num_epochs=1), str(tmp_path))
        assert not (tmp_path / "checkpoints").exists()
    finally:
        owner.kill()
        owner.wait()
    # the owner is dead now: its lock is stale and taken over
    train_and_evaluate(small(num_epochs=1), str(tmp_path))
    assert not (tmp_path / "lock").exists()  # released at the end


def test_the_lock_is_ours_until_released(tmp_path):
    path = acquire(str(tmp_path))
    with pytest.raises(WorkdirLockedError, match=f"pid {os.getpid()}"):
        acquire(str(tmp_path))
    release(path)
    release(acquire(str(tmp_path)))


def _flip_one_bit(workdir, epoch: int) -> None:
    folder = os.path.join(workdir, "checkpoints", str(epoch), "state", "ocdbt.process_0", "d")
    path = max((os.path.join(folder, f) for f in os.listdir(folder)), key=os.path.getsize)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x10
    open(path, "wb").write(bytes(data))


def test_a_flipped_bit_is_reported_as_corrupt_and_the_good_checkpoint_named(trained, tmp_path):
    w = _copy(trained, tmp_path / "w")
    _flip_one_bit(str(w), 2)
    with pytest.raises(CheckpointError, match=r"checkpoints/2 could not be restored .*"
                                              r"resume from epoch 1 \(checked"):
        ae_jax.load(str(w))


@pytest.mark.slow
def test_a_user_error_is_one_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "train.py", "--config=configs/quickstart.py",
                           f"--workdir={tmp_path / 'w'}", "--config.keep_checkpoints=0"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[-2].startswith("error: invalid config: keep_checkpoints=0")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("x, says", [
    (np.full((40, 4, 4, 1), 200.0, np.float32), r"ranges over \[200, 200\].*/ 255"),
    (np.ones((40, 4, 4, 1), np.int64), "dtype int64: give uint8"),
    (np.where(np.eye(4)[None, :, :, None] > 0, np.nan, 0.5).repeat(40, 0).astype(np.float32),
     "train split holds 128 NaN values"),  # 32 images x 4 diagonal pixels
])
def test_data_out_of_range_is_refused_before_training(tmp_path, x, says):
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=x[:32], x_test=x[32:])
    config = small(**{"data.name": "npz", "data.path": str(path), "model.hidden_sizes": (8,)})
    with pytest.raises(ValueError, match=says):
        train_and_evaluate(config, str(tmp_path / "w"))
    assert not (tmp_path / "w").exists()


def _wait_for_checkpoint(workdir, epoch: int, proc, timeout: float = 120) -> None:
    import time

    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if _latest_checkpoint(workdir) >= epoch:
            return
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint {epoch} in {os.path.join(workdir, 'checkpoints')}")


def _latest_checkpoint(workdir) -> int:
    """The highest epoch saved under `workdir`/checkpoints (0 before the first)."""
    folder = os.path.join(workdir, "checkpoints")
    names = os.listdir(folder) if os.path.isdir(folder) else []
    return max((int(p) for p in names if p.isdigit()), default=0)


def _quickstart(workdir, epochs):
    return [sys.executable, "train.py", "--config=configs/quickstart.py",
            f"--workdir={workdir}", f"--config.num_epochs={epochs}",
            "--config.progress_bar=False", "--config.tensorboard=False"]


@pytest.mark.slow
def test_sigterm_saves_the_epoch_and_exits_143_then_resumes(tmp_path):
    import signal

    w = tmp_path / "w"
    proc = subprocess.Popen(_quickstart(w, 400), cwd=ROOT, stderr=subprocess.PIPE, text=True)
    _wait_for_checkpoint(str(w), 2, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert "stopped by SIGTERM after epoch" in err and "rerun the same command" in err
    steps = sorted(int(p) for p in os.listdir(w / "checkpoints") if p.isdigit())
    rows = read_jsonl(str(w / "metrics.jsonl"))
    assert steps[-1] == rows[-1]["epoch"] < 400  # the stopped epoch: saved, and its lines
    assert not (w / "lock").exists()
    done = subprocess.run(_quickstart(w, steps[-1] + 1), cwd=ROOT, capture_output=True)
    assert done.returncode == 0
    assert read_jsonl(str(w / "metrics.jsonl"))[-1]["epoch"] == steps[-1] + 1


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/usr/share/datasets/fashion-mnist"),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_a_second_ctrl_c_exits_at_once(tmp_path):
    """The second Ctrl-C must land inside an epoch: the digits' epochs (milliseconds) would let
    the first stop finish first, and a signal during Python's shutdown kills with status -2."""
    import signal
    import time

    w = tmp_path / "w"
    long_epochs = [sys.executable, "train.py", "--config=configs/dense_ae.py",
                   f"--workdir={w}", "--config.model.hidden_sizes=(1024,)",  # ~4 s an epoch
                   "--config.progress_bar=False", "--config.tensorboard=False"]
    proc = subprocess.Popen(long_epochs, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    _wait_for_checkpoint(str(w), 1, proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err[-2000:]
    assert "second Ctrl-C" in err
    assert not (w / "checkpoints" / "2").exists()  # it did not wait for the epoch


def _tensorboard_steps(folder, tag: str) -> set[int]:
    """The steps logged for scalar `tag` in every TensorBoard event file under `folder`."""
    import struct

    from tensorboardX.proto import event_pb2

    steps = set()
    for root, _, files in os.walk(folder):
        for name in files:
            data = open(os.path.join(root, name), "rb").read()
            at = 0
            while at + 12 <= len(data):  # record: length (8), crc (4), bytes, crc (4)
                (length,) = struct.unpack("<Q", data[at:at + 8])
                event = event_pb2.Event.FromString(data[at + 12:at + 12 + length])
                steps |= {event.step for v in event.summary.value if v.tag == tag}
                at += 12 + length + 4
    return steps


@pytest.mark.slow
def test_a_kill_campaign_ends_bitwise_with_complete_metrics(tmp_path):
    """Five SIGKILLs of one run: three at exact moments (ae_jax/faults.py: inside the first
    config.json write, inside the third checkpoint save, while rotation empties the trash)
    and two at random moments one to three checkpoints on (a fixed sleep could outlast the
    whole run), a rerun after each, then to the end. The final checkpoint equals an
    uninterrupted run's bitwise; metrics.jsonl holds every epoch and split exactly once, and
    TensorBoard every epoch's scalars."""
    import random
    import signal
    import time

    import jax
    import orbax.checkpoint as ocp

    epochs = 30
    full, killed = tmp_path / "full", tmp_path / "killed"
    command = _quickstart(killed, epochs)[:-1]  # with TensorBoard
    subprocess.run(_quickstart(full, epochs), cwd=ROOT, check=True, capture_output=True)
    rng = random.Random(0)
    for fault in ("write:config.json:1", "checkpoint_save:3", None, "trash:1", None):
        env = {**os.environ, "AE_JAX_FAULT": fault} if fault else None
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if fault is None:  # a random moment a few epochs on, however fast an epoch is
            _wait_for_checkpoint(str(killed), _latest_checkpoint(killed) + rng.randint(1, 3),
                                 proc)
            time.sleep(rng.uniform(0.0, 0.3))
            proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=300) == -signal.SIGKILL, fault
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    rows = read_jsonl(str(killed / "metrics.jsonl"))
    assert [(r["epoch"], r["split"]) for r in rows] == [
        (e, s) for e in range(1, epochs + 1) for s in ("train", "test")]
    for tag in ("train/loss", "test/loss"):
        assert _tensorboard_steps(killed / "tensorboard", tag) == set(range(1, epochs + 1))
    states = []
    for w in (full, killed):
        with ocp.CheckpointManager(str(w / "checkpoints")) as mngr:
            states.append(mngr.restore(epochs, args=ocp.args.Composite(
                state=ocp.args.StandardRestore()))["state"])
    a, b = (jax.tree_util.tree_leaves(s) for s in states)
    assert len(a) == len(b) > 0
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(np.asarray(x), np.asarray(y))
    assert json.loads((killed / "config.json").read_text())["num_epochs"] == epochs


def test_a_corrupt_image_is_named_before_anything_is_written(tmp_path):
    from PIL import Image

    folder = tmp_path / "images" / "a"
    folder.mkdir(parents=True)
    for i in range(4):
        Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(folder / f"{i}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    config = small(**{"data.name": "image_folder", "data.data_dir": str(tmp_path / "images"),
                      "data.image_size": 8})
    with pytest.raises(ValueError, match=r"image .*a/broken.png cannot be read .*remove or "
                                         r"replace it"):
        train_and_evaluate(config, str(tmp_path / "w"))
    assert not (tmp_path / "w").exists()
