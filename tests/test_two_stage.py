"""The two-stage VAE sampler (Dai and Wipf 2019) on codes from a known non-Gaussian 2-D
distribution: a noisy ring, which no Gaussian, N(0, I) or the best-fitting one, matches."""

import types

import jax
import numpy as np
import pytest

from ae_jax.evaluation.samplers import SAMPLERS

CENTRE, RADIUS, NOISE = np.array([3.0, -1.0]), 2.0, 0.1
CODE_SHAPE = (1, 2)  # a code shape that is not flat, to check the reshape


def ring(n, seed) -> np.ndarray:
    """n points (n, 2) at angles U(0, 2 pi) on the circle of RADIUS about CENTRE, plus
    N(0, NOISE^2 I)."""
    rng = np.random.default_rng(seed)
    theta = rng.uniform(0, 2 * np.pi, n)
    circle = np.stack([np.cos(theta), np.sin(theta)], axis=1)  # (n, 2)
    return CENTRE + RADIUS * circle + NOISE * rng.normal(size=(n, 2))


def stub_run(codes):
    """The part of ae_jax.run.Run a sampler uses, for a model whose codes of the training
    split are `codes`: encode(x) -> (N, K) rows, code_shape(), dataset.train."""
    return types.SimpleNamespace(dataset=types.SimpleNamespace(train=codes),
                                 encode=lambda x: np.asarray(x).reshape(len(x), -1),
                                 code_shape=lambda: CODE_SHAPE)


def mmd2(a, b, bandwidth=0.5) -> float:
    """The (biased) squared MMD between samples a, b (n, 2) with a Gaussian kernel."""
    def k(x, y):
        return np.exp(-np.sum((x[:, None] - y[None]) ** 2, axis=-1) / (2 * bandwidth ** 2))
    return float(k(a, a).mean() + k(b, b).mean() - 2 * k(a, b).mean())


def on_ring(points) -> float:
    """The fraction of points within RADIUS / 4 of the ring (the data: all of them)."""
    return float(np.mean(np.abs(np.linalg.norm(points - CENTRE, axis=1) - RADIUS)
                         < RADIUS / 4))


@pytest.fixture(scope="module")
def fitted():
    """(sampler, held-out ring points): fitted once, small and quick (1,500 steps)."""
    options = {"sampler": "two_stage", "steps": 1500, "hidden": 64, "depth": 2,
               "learning_rate": 3e-3, "fit_examples": 0}
    sampler = SAMPLERS.get("two_stage")(stub_run(ring(2000, seed=0)), options,
                                        jax.random.PRNGKey(0))
    return sampler, ring(1000, seed=1)


def test_samples_have_the_code_shape_and_follow_the_key(fitted):
    sampler, _ = fitted
    a, b = sampler(jax.random.PRNGKey(5), 7), sampler(jax.random.PRNGKey(5), 7)
    assert a.shape == (7, *CODE_SHAPE) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, sampler(jax.random.PRNGKey(6), 7))


def test_two_stage_samples_match_a_ring_that_gaussians_miss(fitted):
    """MMD to held-out ring points: two-stage 0.004 when written, the data's own Gaussian fit
    0.06, N(0, I) 0.17; on the ring: 0.93 of the samples against 0.37 of the Gaussian's."""
    sampler, held_out = fitted
    samples = sampler(jax.random.PRNGKey(1), 1000).reshape(1000, 2)  # (n, 1, 2) -> (n, 2)
    rng = np.random.default_rng(2)
    data = ring(2000, seed=0)
    gaussian = rng.multivariate_normal(data.mean(0), np.cov(data.T), 1000)
    normal = rng.normal(size=(1000, 2))
    mmd = {name: mmd2(s, held_out) for name, s in
           (("two_stage", samples), ("gaussian", gaussian), ("normal", normal))}
    assert mmd["two_stage"] < 0.25 * mmd["gaussian"] < 0.25 * mmd["normal"], mmd
    assert on_ring(samples) > 0.8 > 0.5 > on_ring(gaussian)
    np.testing.assert_allclose(samples.mean(0), CENTRE, atol=0.3)
