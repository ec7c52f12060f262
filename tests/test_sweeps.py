"""Sweeps: grouping, vmapped runs equal separate runs, resume, the results table."""

import json
import os

import jax
import numpy as np
import pytest

from ae_jax import sweeps
from ae_jax.engine import train_and_evaluate
from ae_jax.families import build_family
from ae_jax.runs import apply_run_hparams
from configs import default


def tiny_fonts_config(**overrides):
    """A 35-4-2-4-35 tanh AE on the fonts, SGD with momentum, batch 16 (6 steps an epoch).

    Every test here and in projects/fonts/tests/test_fonts_study.py uses this architecture
    and 1 or 4 runs, so that the eager (op-by-op) compilations of parameter initialisation
    are shared."""
    config = default.get_config()
    config.data.name = "fonts"
    config.data.test_fraction = 0.0
    config.model.hidden_sizes = (4,)
    config.model.latent_dim = 2
    config.model.activation = "tanh"
    config.model.latent_activation = "linear"
    config.optimizer.name = "sgd"
    config.optimizer.learning_rate = 0.05
    config.optimizer.momentum = 0.9
    config.batch_size = 16
    config.num_epochs = 2
    config.checkpoint_every_epochs = 100  # the last epoch is always saved
    config.progress_bar = False
    config.tensorboard = False
    for key, value in overrides.items():
        sweeps.set_field(config, key, value)
    return config


def test_grid_and_groups():
    axes = {"model.hidden_sizes": [(4,), (6,)], "optimizer.learning_rate": [0.1, 0.2],
            "seed": [0, 1]}
    points = sweeps.grid(axes)
    assert len(points) == 8 and points[1] == {"model.hidden_sizes": (4,),
                                              "optimizer.learning_rate": 0.1, "seed": 1}
    groups = sweeps.group_points(points, ["optimizer.learning_rate", "seed"])
    assert [g[0] for g in groups] == [{"model.hidden_sizes": (4,)}, {"model.hidden_sizes": (6,)}]
    assert [len(g[1]) for g in groups] == [4, 4]
    names = [sweeps.group_dir_name(*g) for g in groups]
    assert names[0].startswith("hidden_sizes=4") and len(set(names)) == 2
    assert names == [sweeps.group_dir_name(*g) for g in groups]  # stable
    config, hp = sweeps.group_config(tiny_fonts_config(), *groups[1])
    assert config.num_runs == 4 and config.model.hidden_sizes == (6,)
    assert hp == {"optimizer.learning_rate": [0.1, 0.1, 0.2, 0.2], "seed": [0, 1, 0, 1]}
    with pytest.raises(ValueError, match="cannot be vmapped"):
        sweeps.run_sweep(tiny_fonts_config(), axes, "/nonexistent", ["model.hidden_sizes"])


def test_without_seed_axis_every_run_takes_the_config_seed():
    groups = sweeps.group_points(sweeps.grid({"optimizer.learning_rate": [0.1, 0.2]}),
                                 sweeps.DEFAULT_VMAPPED)
    _, hp = sweeps.group_config(tiny_fonts_config(seed=7), *groups[0])
    assert hp["seed"] == [7, 7]


@pytest.mark.slow
def test_vmapped_sweep_equals_separate_runs_and_resumes(tmp_path):
    """Seeds x per-run learning rates in one program give each lone run's parameters, also
    after an interruption: the resumed runs keep their own learning rates."""
    axes = {"optimizer.learning_rate": [0.05, 0.2], "seed": [0, 3]}
    states = []

    def keep(state, config, workdir):
        states.append(state)
        return {"step": [float(s) for s in state.step]}

    sweeps.run_sweep(tiny_fonts_config(num_epochs=1), axes, str(tmp_path / "sweep"),
                     evaluate=keep)
    out = sweeps.run_sweep(tiny_fonts_config(num_epochs=3), axes, str(tmp_path / "sweep"),
                           evaluate=keep)
    (group,) = out["groups"]
    rows = json.loads(open(tmp_path / "sweep" / group["dir"] / "metrics.jsonl").readline())
    assert rows["epoch"] == 1  # the second call resumed at epoch 2
    many = states[-1]
    points = sweeps.grid(axes)
    assert [(r["optimizer.learning_rate"], r["seed"]) for r in out["runs"]] == [
        (p["optimizer.learning_rate"], p["seed"]) for p in points]
    assert all(r["step"] == 3 * 6 for r in out["runs"])
    for r in (1, 2):  # (lr 0.05, seed 3) and (lr 0.2, seed 0): an order mix-up would show
        lone = train_and_evaluate(tiny_fonts_config(num_epochs=3, **points[r]),
                                  str(tmp_path / f"lone{r}"))
        for a, b in zip(jax.tree_util.tree_leaves(many.nets["model"].params),
                        jax.tree_util.tree_leaves(lone.nets["model"].params), strict=True):
            np.testing.assert_allclose(a[r], b, rtol=1e-4, atol=1e-6)
    fields = build_family(tiny_fonts_config(), (7, 5, 1), 6).optimizer_fields
    with pytest.raises(ValueError, match="cannot differ between vmapped runs"):
        apply_run_hparams(many, {"model.latent_dim": [2] * 4}, fields)
    with pytest.raises(ValueError, match="3 values for 4 runs"):
        apply_run_hparams(many, {"optimizer.learning_rate": [0.1] * 3}, fields)
    assert len(out["summary"]) == 2 and out["summary"][0]["n"] == 2


def test_interrupted_sweep_runs_only_the_missing_groups(tmp_path, monkeypatch):
    axes = {"batch_size": [16, 32], "seed": [0, 1, 2, 3]}
    trained = []

    def interrupt_second(config, workdir, run_hparams=None):
        if trained:
            raise KeyboardInterrupt
        trained.append(config.batch_size)
        return train_and_evaluate(config, workdir, run_hparams)

    monkeypatch.setattr(sweeps, "train_and_evaluate", interrupt_second)
    with pytest.raises(KeyboardInterrupt):
        sweeps.run_sweep(tiny_fonts_config(num_epochs=1), axes, str(tmp_path))
    assert trained == [16]

    def count(config, workdir, run_hparams=None):
        trained.append(config.batch_size)
        return train_and_evaluate(config, workdir, run_hparams)

    monkeypatch.setattr(sweeps, "train_and_evaluate", count)
    out = sweeps.run_sweep(tiny_fonts_config(num_epochs=1), axes, str(tmp_path))
    assert trained == [16, 32]
    assert [r["batch_size"] for r in out["runs"]] == [16] * 4 + [32] * 4
    assert all("test_loss" in r and "train_loss" in r for r in out["runs"])
    table = open(tmp_path / "results.md").read()
    assert table.startswith("| rank | batch_size | n | test_loss")
    assert len(table.strip().splitlines()) == 4
    saved = json.load(open(tmp_path / "sweep.json"))
    assert len(saved["runs"]) == 8 and saved["summary"][0]["n"] == 4
    assert all(os.path.exists(tmp_path / g["dir"] / "checkpoints") for g in saved["groups"])


def test_summary_and_markdown_table():
    rows = [{"lr": 0.1, "seed": s, "loss": v} for s, v in ((0, 1.0), (1, 3.0))]
    rows += [{"lr": 0.2, "seed": s, "loss": v} for s, v in ((0, 0.5), (1, 0.5))]
    summary = sweeps.summarize(rows, ["lr", "seed"], ["loss"])
    assert summary[0] == {"lr": 0.1, "n": 2, "loss_mean": 2.0, "loss_std": 1.0,
                          "loss_min": 1.0, "loss_max": 3.0}
    table = sweeps.markdown_table(summary, ["lr"], ["loss"], sort_by="loss")
    assert table.splitlines()[2] == "| 1 | 0.2 | 2 | 0.5 ± 0 |"
