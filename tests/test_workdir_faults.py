"""Faults at exact moments (ae_jax/faults.py) and a disk that fills: a kill while rotation
deletes an old checkpoint, a checkpoint write that fails, a save with no room, and loss terms
added on the command line."""

import os
import shutil
import signal
import subprocess
import sys

import pytest

import ae_jax
from ae_jax.checkpoints import CheckpointError
from ae_jax.cli import CommandLineError, add_table_entries, take_table_entries
from ae_jax.engine import train_and_evaluate
from ae_jax.files import read_jsonl
from tests.conftest import ROOT, digits_config


def _train_command(workdir, epochs, *extra):
    return [sys.executable, "train.py", "--config=configs/quickstart.py",
            f"--workdir={workdir}", f"--config.num_epochs={epochs}",
            "--config.progress_bar=False", "--config.tensorboard=False", *extra]


def _steps(workdir) -> list[int]:
    return sorted(int(p) for p in os.listdir(os.path.join(workdir, "checkpoints")) if p.isdigit())


def _epochs_logged(workdir) -> list[tuple[int, str]]:
    return [(r["epoch"], r["split"]) for r in read_jsonl(os.path.join(workdir, "metrics.jsonl"))]


def _every_epoch(epochs: int) -> list[tuple[int, str]]:
    return [(e, s) for e in range(1, epochs + 1) for s in ("train", "test")]


@pytest.mark.slow
def test_a_kill_while_rotation_deletes_leaves_only_whole_checkpoints(tmp_path):
    """keep_checkpoints=2: the save of epoch 3 moves checkpoint 1 to checkpoints/.trash, and
    the save of epoch 4 is killed after deleting one of its files. Every listed checkpoint
    restores, none beyond keep, and the rerun finishes and empties the trash."""
    w = tmp_path / "w"
    env = {**os.environ, "AE_JAX_FAULT": "trash:1"}
    killed = subprocess.run(_train_command(w, 4, "--config.keep_checkpoints=2"), cwd=ROOT,
                            env=env, capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert _steps(w) == [2, 3]
    assert os.listdir(w / "checkpoints" / ".trash") == ["1"]  # the half-deleted one
    assert ae_jax.load(str(w)).epoch == 3
    done = subprocess.run(_train_command(w, 4, "--config.keep_checkpoints=2"), cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _steps(w) == [3, 4]
    assert os.listdir(w / "checkpoints" / ".trash") == []
    assert _epochs_logged(w) == _every_epoch(4)


def _with_file_size_limit(kib: int, command: list[str]) -> list[str]:
    """`command` under `ulimit -f kib`, SIGXFSZ ignored: a write past the limit fails (EFBIG)."""
    return ["bash", "-c", f"trap '' XFSZ; ulimit -f {kib}; exec \"$@\"", "bash", *command]


@pytest.mark.slow
def test_a_failed_checkpoint_write_is_one_line_and_the_run_resumes(tmp_path):
    """A file-size limit below the checkpoint's largest file (what a quota or a disk that
    fills during the save does to Orbax's writer threads): exit 2 with one error line (an
    Orbax writer thread may still log its own traceback before it, depending on timing:
    known, not yet silenced in every path); the earlier checkpoint and the metrics stay
    whole, and a rerun finishes."""
    w = tmp_path / "w"
    subprocess.run(_train_command(w, 1), cwd=ROOT, check=True, capture_output=True)
    failed = subprocess.run(_with_file_size_limit(20, _train_command(w, 3)), cwd=ROOT,
                            capture_output=True, text=True)
    assert failed.returncode == 2, failed.stderr[-2000:]
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: could not write a checkpoint in {w / 'checkpoints'} (File too "
                      "large); free disk space and rerun the same command: it resumes from "
                      "epoch 1"]
    assert _steps(w) == [1]
    done = subprocess.run(_train_command(w, 3), cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _steps(w)[-1] == 3 and _epochs_logged(w) == _every_epoch(3)
    assert not [p for p in os.listdir(w / "checkpoints") if "tmp" in p]


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs (root and mount(2) needed; skipped where they are not)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
                            capture_output=True)
    if result.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_refuses_the_save_before_writing_and_nothing_is_lost(small_disk):
    w = small_disk / "w"
    config = digits_config(num_epochs=1, num_plot_images=0, num_sample_images=0)
    train_and_evaluate(config, str(w))
    ballast = small_disk / "ballast"
    free = shutil.disk_usage(small_disk).free
    with open(ballast, "wb") as f:
        f.truncate(0)
        f.write(b"\0" * (free - 200_000))  # tmpfs: written bytes take room; 200 kB stay free
    config.num_epochs = 2
    with pytest.raises(CheckpointError, match=r"no room for a checkpoint in .*MiB free, about "
                                              r".*MiB needed; .*resumes from epoch 1"):
        train_and_evaluate(config, str(w))
    assert _steps(w) == [1] and ae_jax.load(str(w)).epoch == 1
    ballast.unlink()
    train_and_evaluate(config, str(w))
    assert _steps(w)[-1] == 2 and _epochs_logged(w) == _every_epoch(2)


def test_table_entries_leave_argv_and_join_the_config():
    argv, entries = take_table_entries(["train.py", "--config.loss.terms.l1_activity=2e-5",
                                        "--config.seed=3", "--config.loss.warmup_epochs.kl=4"])
    assert argv == ["train.py", "--config.seed=3"]
    assert entries == [("loss.terms", "l1_activity", 2e-5), ("loss.warmup_epochs", "kl", 4.0)]
    config = digits_config()
    config.lock()
    add_table_entries(config, entries)
    assert config.loss.terms.l1_activity == 2e-5 and config.loss.warmup_epochs.kl == 4.0
    with pytest.raises(AttributeError):
        config.loss.terms.other = 1.0  # still locked
    with pytest.raises(CommandLineError, match="'x' is not a number"):
        take_table_entries(["--config.loss.terms.kl=x"])


@pytest.mark.slow
def test_a_loss_term_is_added_on_the_command_line(tmp_path):
    w = tmp_path / "w"
    proc = subprocess.run(_train_command(w, 1, "--config.loss.terms.l1_activity=1e-3"),
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ae_jax.load(str(w)).config.loss.terms.l1_activity == 1e-3
    row = read_jsonl(str(w / "metrics.jsonl"))[0]
    assert row["l1_activity"] > 0 and row["loss"] > row["bce"]


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.3, 2.0])
def test_ctrl_c_during_start_up_is_never_lost(tmp_path, delay):
    """A SIGINT while the libraries import or the model compiles (where a KeyboardInterrupt
    used to land in a JAX callback and be swallowed): the first epoch ends, is saved, and
    the run exits 130 instead of training on."""
    import time

    w = tmp_path / "w"
    proc = subprocess.Popen(_train_command(w, 100_000), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "stopped by SIGINT after epoch 1" in err
    assert _steps(w) == [1] and _epochs_logged(w) == _every_epoch(1)
