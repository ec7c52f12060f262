"""Which checkpoints a run writes: every `checkpoint_every_epochs` by Orbax's save
interval, plus the last; `config.keep_best`: the checkpoint of the epoch with the lowest
test metric, kept by Orbax's best_fn beside the newest ones, across a resume;
`ae_jax.load(best=True)`; a keep_best metric the model does not report is refused before
anything is written."""

import json
import os

import jax
import numpy as np
import pytest

import ae_jax
from ae_jax.engine import train_and_evaluate
from tests.conftest import digits_config


def _test_losses(workdir):
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    return {r["epoch"]: r["loss"] for r in rows if r["split"] == "test"}


@pytest.mark.slow
def test_keep_best_keeps_the_lowest_test_loss_across_a_resume(tmp_path):
    workdir = str(tmp_path / "w")
    # a large learning rate, so that the test loss does not fall at every epoch
    config = digits_config(num_epochs=4, keep_best="loss", keep_checkpoints=10)
    config.optimizer.learning_rate = 0.2
    train_and_evaluate(config, workdir)
    config.num_epochs = 8
    train_and_evaluate(config, workdir)
    losses = _test_losses(workdir)
    assert sorted(losses) == list(range(1, 9))
    best_epoch = min(losses, key=losses.get)
    assert 4 < best_epoch < 8  # after the resume, and not simply the last epoch
    folder = os.path.join(workdir, "checkpoints_best", "loss")
    assert sorted(p for p in os.listdir(folder) if p.isdigit()) == [str(best_epoch)]
    best, last = ae_jax.load(workdir, best=True), ae_jax.load(workdir)
    assert best.epoch == best_epoch and last.epoch == 8
    # its arrays are those of the regular checkpoint of the same epoch
    from ae_jax import checkpoints
    from ae_jax.runs import initial_state

    mngr = checkpoints.manager(workdir, read_only=True)
    template = initial_state(best.family, 1, config.seed)
    same = checkpoints._restore_verified(
        mngr, best_epoch, jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(
            x.shape, x.dtype), template))
    for a, b in zip(jax.tree_util.tree_leaves(same), jax.tree_util.tree_leaves(best.state),
                    strict=True):
        np.testing.assert_array_equal(a, b)


def test_keep_best_refuses_an_unknown_metric_before_writing(tmp_path):
    workdir = str(tmp_path / "w")
    config = digits_config(num_epochs=1, keep_best="accuracy")
    with pytest.raises(ValueError, match=r"keep_best: 'accuracy' is not a test metric .*bce"):
        train_and_evaluate(config, workdir)
    assert not os.path.exists(os.path.join(workdir, "config.json"))
    assert not os.path.exists(os.path.join(workdir, "checkpoints", "1"))


def test_load_best_of_a_run_without_keep_best_says_how(tmp_path):
    workdir = str(tmp_path / "w")
    train_and_evaluate(digits_config(num_epochs=1), workdir)
    with pytest.raises(ValueError, match="--config.keep_best=loss"):
        ae_jax.load(workdir, best=True)


def test_checkpoint_interval_is_orbaxs_plus_the_last_epoch(tmp_path):
    workdir = str(tmp_path / "w")
    config = digits_config(num_epochs=7, checkpoint_every_epochs=3, keep_checkpoints=10)
    train_and_evaluate(config, workdir)
    saved = sorted(int(p) for p in os.listdir(os.path.join(workdir, "checkpoints"))
                   if p.isdigit())
    assert saved == [1, 3, 6, 7]  # Orbax saves the first epoch of an empty workdir too
    config.num_epochs = 11
    train_and_evaluate(config, workdir)  # resumed: the interval goes on, 9, then the last
    saved = sorted(int(p) for p in os.listdir(os.path.join(workdir, "checkpoints"))
                   if p.isdigit())
    assert saved == [1, 3, 6, 7, 9, 11]
