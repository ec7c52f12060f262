"""The font study: error measures, novelty, and every part end to end on shrunken settings."""

import json
import os

import numpy as np
import pytest

from ae_jax import sweeps
from configs import fonts_ae
from projects.fonts import course, denoise, errors, fraction, generate, optimizer_study
from projects.fonts.engine_api import train_and_evaluate
from projects.fonts.study import parse_architectures


def tiny(**overrides):
    """configs/fonts_ae.py shrunk: [35, 4, 2, 4, 35], 2 epochs of batches of 16."""
    config = fonts_ae.get_config()
    config.model.hidden_sizes = (4,)
    config.batch_size = 16
    config.num_epochs = 2
    config.checkpoint_every_epochs = 100  # the last epoch is always saved
    config.progress_bar = False
    config.num_plot_images = 4
    for key, value in overrides.items():
        sweeps.set_field(config, key, value)
    return config


def test_wrong_pixels_threshold_at_one_half():
    x = np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    x_hat = np.array([[0.49, 0.5, 0.2, 0.9], [0.6, 0.7, 0.8, 0.9]])
    np.testing.assert_array_equal(errors.wrong_pixels(x, x_hat), [2, 0])
    runs = np.stack([x_hat, x])  # a leading run axis
    np.testing.assert_array_equal(errors.wrong_pixels(x, runs), [[2, 0], [0, 0]])
    images = x.reshape(2, 2, 2, 1)
    np.testing.assert_array_equal(errors.wrong_pixels(images, x_hat.reshape(2, 2, 2, 1)),
                                  [2, 0])
    assert errors.pixel_summary(np.array([0, 1, 3])) == {
        "max_wrong_pixels": 3.0, "mean_wrong_pixels": pytest.approx(4 / 3),
        "frac_at_most_one_wrong": pytest.approx(2 / 3), "all_at_most_one": 0.0}


def test_novelty_is_hamming_distance_to_the_nearest_character():
    training = np.array([[1, 0, 1], [0, 0, 0]], bool)
    bitmaps = np.array([[1, 0, 1], [1, 1, 1], [0, 0, 1]], bool)
    new, distance = generate.novelty(bitmaps, training)
    np.testing.assert_array_equal(new, [False, True, True])
    np.testing.assert_array_equal(distance, [0, 1, 1])


def test_latent_grid_covers_the_codes():
    codes = np.array([[0.0, 0.0], [1.0, 2.0]])
    grid = generate.latent_grid(codes, 3, margin=0.0)
    assert grid.shape == (9, 2)
    np.testing.assert_allclose(grid[0], [0.0, 2.0])   # top left
    np.testing.assert_allclose(grid[-1], [1.0, 0.0])  # bottom right


def test_architecture_flags_and_labels():
    assert parse_architectures("none,25-17") == ((), (25, 17))
    assert course.arch_label((25, 17)) == "[35, 25, 17, 2, 17, 25, 35]"
    assert course.arch_label(()) == "[35, 2, 35]"
    assert len(course.course_axes()["model.hidden_sizes"]) == 6


@pytest.mark.slow
def test_course_study_generation_and_denoising(tmp_path):
    """The sweep part on one architecture (momentum 0 / 0.9 x 2 seeds, one vmapped program),
    then generation and denoising evaluation on its trained runs."""
    table = course.run(tiny(), str(tmp_path), seeds=2, architectures=((4,),))
    for name in ("error_vs_epochs_momentum0.0.png", "error_vs_epochs_momentum0.9.png",
                 "latent_momentum0.0.png", "loss_font.png", "mean_wrong_pixels_font.png",
                 "ranking.md", "results.md", "sweep.json"):
        assert os.path.exists(tmp_path / name), name
    lines = table.strip().splitlines()
    assert len(lines) == 4 and "(best)" in lines[2] and "(worst)" in lines[3]
    ranked = json.load(open(tmp_path / "ranking.json"))
    assert ranked[0]["train_loss_mean"] <= ranked[1]["train_loss_mean"]
    assert {"train_loss_font0_mean", "train_max_wrong_pixels_mean"} <= set(ranked[0])
    group = json.load(open(tmp_path / "sweep.json"))["groups"][0]["dir"]
    codes = np.load(tmp_path / group / "codes.npz")["codes"]
    assert codes.shape == (4, 96, 2)

    config, run_hparams = sweeps.group_config(
        tiny(), {"model.hidden_sizes": (4,)},
        [{"optimizer.momentum": m, "seed": s} for m in (0.0, 0.9) for s in (0, 1)])
    state = sweeps.stacked(train_and_evaluate(config, str(tmp_path / group), run_hparams))
    result = generate.run(state, config, str(tmp_path / "gen"), grid_size=3, steps=3)
    assert result["grid_points"] == 9 and result["interpolation_points"] == 3 * 6
    assert 0 <= result["grid_new"] <= 9
    assert os.path.exists(tmp_path / "gen" / "generate_grid.png")

    denoise_table = denoise.evaluate(state, config, str(tmp_path), copies=2, levels=(0.1,))
    rows = json.load(open(tmp_path / "denoise.json"))
    assert rows[0]["examples"] == 2 * 96 and len(rows[0]["loss_per_run"]) == 4
    assert rows[0]["input_mean_wrong_pixels"] == pytest.approx(3.5, abs=0.7)  # 35 p
    assert "2 x 96" in denoise_table


def test_train_fraction_reports_held_out_error(tmp_path):
    table = fraction.run(tiny(num_epochs=1), str(tmp_path), seeds=4, fractions=(0.5,))
    row = table.strip().splitlines()[2]
    assert row.startswith("| 50% | 48 | 48 | 4 |")
    summary = json.load(open(tmp_path / "sweep.json"))["summary"][0]
    assert summary["test_loss_mean"] > 0 and summary["train_loss_mean"] > 0


def test_optimizer_comparison_on_the_fonts(tmp_path):
    table = optimizer_study.compare(tiny(), str(tmp_path), ("lbfgs", "cg", "powell"),
                                    {"lbfgs": 10, "cg": 10, "powell": 1})
    out = json.load(open(tmp_path / "optimizers.json"))
    assert out["num_params"] == 35 * 4 + 4 + 4 * 2 + 2 + 2 * 4 + 4 + 4 * 35 + 35
    assert all(r["loss"] < out["initial_loss"] for r in out["rows"])
    assert len(table.strip().splitlines()) == 5
    assert os.path.exists(tmp_path / "optimizers.png")
