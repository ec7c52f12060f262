"""Precision / recall (Kynkaanniemi et al. 2019) and density / coverage (Naeem et al. 2020)
against a plain float64 implementation of the definitions, and their limiting cases."""

import numpy as np
import pytest

from ae_jax.evaluation import sample_quality as sq


def _brute_force(real, fake, k):
    """The definitions with full float64 distance matrices, written out."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    d_rr = np.sqrt(((real[:, None, :] - real[None, :, :]) ** 2).sum(-1))  # (N, N)
    d_ff = np.sqrt(((fake[:, None, :] - fake[None, :, :]) ** 2).sum(-1))  # (M, M)
    d_rf = np.sqrt(((real[:, None, :] - fake[None, :, :]) ** 2).sum(-1))  # (N, M)
    r = np.array([np.sort(np.delete(row, i))[k - 1] for i, row in enumerate(d_rr)])
    s = np.array([np.sort(np.delete(row, j))[k - 1] for j, row in enumerate(d_ff)])
    n, m = len(real), len(fake)
    precision = np.mean([any(d_rf[i, j] < r[i] for i in range(n)) for j in range(m)])
    recall = np.mean([any(d_rf[i, j] < s[j] for j in range(m)) for i in range(n)])
    density = sum(d_rf[i, j] < r[i] for i in range(n) for j in range(m)) / (k * m)
    coverage = np.mean([d_rf[i].min() < r[i] for i in range(n)])
    return {"precision": precision, "recall": recall, "density": density,
            "coverage": coverage}, r


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(200, 8))
    fake = 0.8 * rng.normal(size=(150, 8)) + 0.3  # overlapping, neither contains the other
    return real, fake


@pytest.mark.parametrize("k", [3, 5])
def test_matches_the_definitions(features, k):
    real, fake = features
    want, radii = _brute_force(real, fake, k)
    np.testing.assert_allclose(sq.knn_radii(real, k, chunk_size=64), radii, rtol=1e-10)
    got = sq.prdc(real, fake, k, chunk_size=64)  # several blocks
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-6), key
    assert 0 < got["precision"] < 1 and 0 < got["recall"] < 1
    assert sq.prdc(real, fake, k, chunk_size=1000) == got  # blocks change nothing
    single = sq.prdc(real.astype(np.float32), fake.astype(np.float32), k)
    for key in want:  # float32: the same up to a point sitting on a ball's edge
        assert single[key] == pytest.approx(want[key], abs=0.01), key


def test_the_papers_defaults(features):
    real, fake = features
    pr, dc = sq.precision_recall(real, fake), sq.density_coverage(real, fake)
    want3, want5 = _brute_force(real, fake, 3)[0], _brute_force(real, fake, 5)[0]
    assert pr == pytest.approx({"precision": want3["precision"], "recall": want3["recall"]})
    assert dc == pytest.approx({"density": want5["density"], "coverage": want5["coverage"]})


def test_identical_and_disjoint_sets(features):
    real, _ = features
    same = sq.prdc(real, real.copy(), k=5)
    # every fake sits on a real centre (distance 0 < radius); each real ball holds itself
    # and its k - 1 nearer neighbours (strict <: not the k-th), so density is exactly 1
    assert same == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}
    far = sq.prdc(real, real + 100.0, k=5)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_bad_inputs():
    with pytest.raises(ValueError, match="features must be"):
        sq.prdc(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(ValueError, match="k = 5 needs"):
        sq.knn_radii(np.zeros((5, 2)), 5)
