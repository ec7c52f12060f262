"""The Frechet distance (closed forms, scipy's sqrtm) and the project-trained feature
classifier (training, caching, scoring a sampler and a GAN workdir)."""

import json

import jax
import numpy as np
import pytest
import scipy.linalg

from ae_jax.data import load_dataset
from ae_jax.evaluation import frechet
from configs import default


def _random_psd(rng, n):
    a = rng.normal(size=(n, n))
    return a @ a.T / n + 0.1 * np.eye(n)


def test_diagonal_gaussians_closed_form():
    # For diagonal covariances (S1 S2)^{1/2} = diag(sqrt(a b)), so
    # d^2 = |m1 - m2|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2 = (1 + 4) + (1 + 1) = 7
    m1, m2 = np.array([0.0, 0.0]), np.array([1.0, 2.0])
    a, b = np.array([1.0, 4.0]), np.array([4.0, 1.0])
    assert frechet.frechet_distance(m1, np.diag(a), m2, np.diag(b)) == pytest.approx(7.0)


def test_matches_scipy_sqrtm_and_is_symmetric():
    rng = np.random.default_rng(0)
    s1, s2 = _random_psd(rng, 6), _random_psd(rng, 6)
    m1, m2 = rng.normal(size=6), rng.normal(size=6)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    assert frechet.frechet_distance(m1, s1, m2, s2) == pytest.approx(expected, rel=1e-8)
    assert frechet.frechet_distance(m2, s2, m1, s1) == pytest.approx(expected, rel=1e-8)
    assert frechet.frechet_distance(m1, s1, m1, s1) == pytest.approx(0.0, abs=1e-9)


def test_feature_statistics():
    f = np.random.default_rng(1).normal(size=(500, 3))
    mu, sigma = frechet.feature_statistics(f)
    np.testing.assert_allclose(mu, f.mean(0))
    np.testing.assert_allclose(sigma, np.cov(f.T))


@pytest.fixture(scope="module")
def digits():
    return load_dataset(default.get_config().data)  # digits


def test_classifier_trains_caches_and_scores(tmp_path, digits):
    extractor = frechet.load_or_train_classifier(digits, str(tmp_path), epochs=3)
    info = json.load(open(tmp_path / "classifier.json"))
    assert info["dataset"] == "digits" and info["test_accuracy"] > 0.8
    cached = frechet.load_or_train_classifier(digits, str(tmp_path), epochs=3)
    np.testing.assert_array_equal(cached.features(digits.test[:50]),
                                  extractor.features(digits.test[:50]))
    with pytest.raises(ValueError, match="epochs: 3 .cached. vs 4"):
        frechet.load_or_train_classifier(digits, str(tmp_path), epochs=4)

    reference = frechet.feature_statistics(extractor.features(digits.test))

    def real(n, key):  # training images: close to the test split
        idx = jax.random.choice(key, len(digits.train), (n,), replace=False)
        return digits.train[np.asarray(idx)] / 255.0

    def noise(n, key):
        return np.asarray(jax.random.uniform(key, (n, *digits.example_shape)))

    key = jax.random.PRNGKey(0)
    d_real = frechet.frechet_of_sampler(real, extractor, reference, 300, key)
    d_noise = frechet.frechet_of_sampler(noise, extractor, reference, 300, key)
    assert 0 <= d_real < d_noise / 10


@pytest.mark.slow
def test_score_a_gan_workdir(tmp_path, mnist_like_npz):
    from ae_jax.engine import train_and_evaluate
    from configs import gan_mlp
    from tests.test_gan import _tiny

    work = str(tmp_path / "gan")
    train_and_evaluate(_tiny(gan_mlp, mnist_like_npz, num_epochs=1), work)
    result = frechet.score_workdirs([work], str(tmp_path / "clf"), num_samples=32, epochs=1)
    assert "not the standard Inception FID" in result["note"]
    assert result["runs"][work]["model"] == "mlp_gan"
    assert np.isfinite(result["runs"][work]["frechet"]) and result["real_train_vs_test"] >= 0
    saved = json.load(open(tmp_path / "gan" / "eval" / "frechet.json"))
    assert saved["frechet"] == result["runs"][work]["frechet"]
