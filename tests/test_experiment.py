"""train_and_evaluate end to end: the workdir contract, exact resume, clear errors."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from ae_jax.checkpoints import CheckpointError
from ae_jax.engine import NonFiniteLossError, train_and_evaluate
from tests.conftest import ROOT, digits_config


def _leaves(state):
    """Every network's parameters and optimizer state."""
    nets = {name: (net.params, net.opt_state) for name, net in state.nets.items()}
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(nets)]


def _assert_bitwise_equal(a, b):
    for x, y in zip(_leaves(a), _leaves(b), strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)


def test_workdir_contract(tmp_path):
    state = train_and_evaluate(digits_config(), str(tmp_path))
    for name in ("config.json", "summary.txt", "metrics.jsonl", "plots/reconstructions.png",
                 "plots/loss_curves.png"):
        assert os.path.exists(tmp_path / name), name
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["1", "2", "3"]
    rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert [(r["epoch"], r["split"]) for r in rows] == [
        (e, s) for e in (1, 2, 3) for s in ("train", "test")]
    test_loss = [r["loss"] for r in rows if r["split"] == "test"]
    assert test_loss[-1] < test_loss[0]
    # 64-32-8: 2,080 + 264; 8-32-64: 288 + 2,112
    assert "total params: 4,744" in open(tmp_path / "summary.txt").read()
    assert int(state.step) == 3 * (1438 // 64)


def test_zero_epochs_only_builds_and_summarises(tmp_path):
    assert train_and_evaluate(digits_config(num_epochs=0), str(tmp_path)) is None
    assert sorted(os.listdir(tmp_path)) == ["config.json", "summary.txt"]


def test_resume_is_bitwise_identical(tmp_path):
    full = train_and_evaluate(digits_config(num_epochs=4), str(tmp_path / "full"))
    train_and_evaluate(digits_config(num_epochs=2), str(tmp_path / "split"))
    resumed = train_and_evaluate(digits_config(num_epochs=4), str(tmp_path / "split"))
    _assert_bitwise_equal(full, resumed)
    rows = [json.loads(line) for line in open(tmp_path / "split" / "metrics.jsonl")]
    assert [r["epoch"] for r in rows] == [1, 1, 2, 2, 3, 3, 4, 4]


def test_other_model_in_workdir_is_refused(tmp_path):
    train_and_evaluate(digits_config(num_epochs=1), str(tmp_path))
    with pytest.raises(ValueError, match=r"different model: model.latent_dim: 8 \(workdir\) "
                                         r"vs 4 \(this command\)"):
        train_and_evaluate(digits_config(num_epochs=2, **{"model.latent_dim": 4}), str(tmp_path))


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    train_and_evaluate(digits_config(num_epochs=2), str(tmp_path))
    bad = digits_config(num_epochs=4, **{"optimizer.learning_rate": 1e38})
    with pytest.raises(NonFiniteLossError, match=r"at epoch 3: .*bce=.*epoch 2\) is kept"):
        train_and_evaluate(bad, str(tmp_path))
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["1", "2"]
    rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert max(r["epoch"] for r in rows) == 2


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    train_and_evaluate(digits_config(num_epochs=2), str(tmp_path))
    state_dir = tmp_path / "checkpoints" / "2" / "state"
    for root, _, files in os.walk(state_dir):
        for f in files:
            with open(os.path.join(root, f), "wb") as fh:
                fh.write(b"garbage")
    with pytest.raises(CheckpointError, match=r"checkpoints/2 could not be restored.*epoch 1"):
        train_and_evaluate(digits_config(num_epochs=3), str(tmp_path))
    assert (tmp_path / "checkpoints" / "1").exists()  # nothing deleted


@pytest.mark.parametrize("flag, message", [
    ("--config.modle.latent_dim=3", "modle"),
    ("--config.model.name=mpl", "unknown model 'mpl'"),
    ("--config.optimizer.name=adma", "unknown optimizer 'adma'"),
    ("--config.loss.reconstruction=bse", "unknown reconstruction loss 'bse'"),
    ("--config.data.name=image_folder", "image folder '' does not exist"),
])
@pytest.mark.slow
def test_cli_errors_are_clear(tmp_path, flag, message):
    cmd = [sys.executable, "train.py", "--config=configs/quickstart.py",
           f"--workdir={tmp_path}", flag]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert message in out.stderr


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/usr/share/datasets/fashion-mnist"),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_dense_ae_one_epoch_on_fashion_mnist(tmp_path):
    cmd = [sys.executable, "train.py", "--config=configs/dense_ae.py", f"--workdir={tmp_path}",
           "--config.num_epochs=1", "--config.data.name=fashion_mnist"]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=300)
    rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    test = [r for r in rows if r["split"] == "test"][0]
    assert test["loss"] < 0.40  # from ln 2 = 0.693 at the start
    assert "total params: 50,992" in open(tmp_path / "summary.txt").read()
    assert "idx:/usr/share/datasets/fashion-mnist" in open(tmp_path / "summary.txt").read()


def test_vmapped_runs_equal_separate_runs(tmp_path):
    """num_runs=3 trains seeds 0, 1, 2 in one program; run r equals a lone run of seed r."""
    many = train_and_evaluate(digits_config(num_epochs=2, num_runs=3), str(tmp_path / "many"))
    lone = train_and_evaluate(digits_config(num_epochs=2, seed=2), str(tmp_path / "lone"))
    for a, b in zip(jax.tree_util.tree_leaves(many.nets["model"].params),
                    jax.tree_util.tree_leaves(lone.nets["model"].params), strict=True):
        np.testing.assert_allclose(a[2], b, rtol=1e-4, atol=1e-6)
    rows = [json.loads(line) for line in open(tmp_path / "many" / "metrics.jsonl")]
    assert len(rows[-1]["loss_per_run"]) == 3
    assert rows[-1]["loss"] == pytest.approx(np.mean(rows[-1]["loss_per_run"]))


def test_an_unrolled_scan_trains_the_same_steps(tmp_path):
    """config.scan_unroll runs k steps per loop iteration: the same steps in the same order
    (here 5 steps an epoch, so a remainder of 1 after the unrolled iteration)."""
    fields = {"num_epochs": 2, "loop": "scan", "data.train_limit": 320}  # 320 / 64 = 5
    plain = train_and_evaluate(digits_config(**fields), str(tmp_path / "plain"))
    unrolled = train_and_evaluate(digits_config(**fields, scan_unroll=4),
                                  str(tmp_path / "unrolled"))
    a, b = (jax.tree_util.tree_leaves(s.nets) for s in (plain, unrolled))
    assert len(a) == len(b) > 0
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
