"""Latent tools: the seed-003 grid, interpolation, attribute vectors, and the four tasks on a
tiny trained 2-D VAE."""

import json

import numpy as np
import pytest

import ae_jax
from ae_jax import viz_latent
from ae_jax.evaluation import get_task
from ae_jax.evaluation.latent import (
    attribute_vector,
    grid_values,
    interpolate_codes,
    latent_grid,
    project_2d,
)
from tests.test_vae import trained_vae_2d


def test_grid_values_are_the_seeds():
    np.testing.assert_allclose(grid_values(5), [-1.6448536, -0.5977601, 0.0, 0.5977601,
                                                1.6448536], rtol=1e-6)
    grid = latent_grid(3)
    assert grid.shape == (9, 2)
    np.testing.assert_allclose(grid[0], [grid_values(3)[0], grid_values(3)[-1]])  # top left
    np.testing.assert_allclose(grid[-1], [grid_values(3)[-1], grid_values(3)[0]])


def test_interpolations_end_at_the_codes_and_slerp_keeps_the_norm():
    z0, z1 = np.array([2.0, 0.0]), np.array([0.0, 2.0])
    for mode in ("linear", "spherical"):
        path = interpolate_codes(z0, z1, 5, mode)
        np.testing.assert_allclose(path[[0, -1]], [z0, z1], atol=1e-6)
    np.testing.assert_allclose(interpolate_codes(z0, z1, 3, "linear")[1], [1.0, 1.0])
    np.testing.assert_allclose(np.linalg.norm(interpolate_codes(z0, z1, 7, "spherical"), axis=1),
                               2.0, rtol=1e-6)
    np.testing.assert_allclose(interpolate_codes(z0, 3 * z0, 3, "spherical")[1], 2 * z0)
    with pytest.raises(ValueError, match="unknown interpolation"):
        interpolate_codes(z0, z1, 3, "cubic")


def test_attribute_vector_and_projection():
    codes = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 1.0], [0.0, 3.0], [5.0, 5.0]])
    labels = np.array([0, 0, 1, 1, 2])
    np.testing.assert_allclose(attribute_vector(codes, labels, 1, 0), [-2.0, 2.0])
    np.testing.assert_allclose(attribute_vector(codes, labels, 2), [5 - 4 / 4, 5 - 4 / 4])
    with pytest.raises(ValueError, match="label 7"):
        attribute_vector(codes, labels, 7)
    points, axis = project_2d(np.random.default_rng(0).normal(size=(50, 5)))
    assert points.shape == (50, 2) and axis == "principal component"
    fig = viz_latent.latent_scatter(points, np.arange(50) % 3, ("a", "b", "c"), axis, "t")
    assert len(fig.axes) == 1


@pytest.fixture(scope="module")
def run_2d():
    return ae_jax.load(trained_vae_2d())


@pytest.mark.parametrize("task, options, files", [
    ("latent_map", {}, ["latent_map.png"]),
    ("generate", {"n": 5, "points": [[2.5, -2]], "num_samples": 4},
     ["generate_prior.png", "generate_grid.png", "generate_points.png"]),
    ("interpolate", {"num_steps": 6}, ["interpolate.png"]),
    ("arithmetic", {"from_label": 3, "to_label": 8, "num_examples": 4}, ["arithmetic.png"]),
])
def test_latent_tasks_write_numbers_and_figures(run_2d, tmp_path, task, options, files):
    result = get_task(task)(run_2d, str(tmp_path), options)
    json.dumps(result)
    for name in files:
        assert (tmp_path / name).stat().st_size > 1000, name
    if task == "generate":
        np.testing.assert_allclose(result["grid_values"], grid_values(5))
        assert result["points"] == [[2.5, -2.0]]
    if task == "interpolate":
        assert run_2d.dataset.test_labels[result["i"]] != run_2d.dataset.test_labels[result["j"]]
    if task == "arithmetic":
        assert result["from"] == "3" and result["to"] == "8" and len(result["vector"]) == 2
