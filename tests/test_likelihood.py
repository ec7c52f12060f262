"""The importance-sampled likelihood against probabilistic PCA's exact log p(x); the `nll`
task and active units on a tiny trained VAE."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import multivariate_normal

import ae_jax
from ae_jax.distributions import log_normal, log_standard_normal, reparameterize
from ae_jax.evaluation import get_task
from ae_jax.evaluation.likelihood import (
    DensityFunctions,
    active_units,
    chunk_size,
    importance_sampled_stats,
    iwae_bounds,
)
from ae_jax.loops import make_evaluator
from tests.test_vae import trained_vae_2d

D, L, SIGMA = 6, 2, 0.7


def _ppca(seed=0, n=24):
    """A linear-Gaussian model z ~ N(0, I), x | z ~ N(W z + b, sigma^2 I), data from it, and
    a deliberately imperfect diagonal q(z | x): the exact posterior mean shifted by 0.1 and
    its marginal variances times 1.5 (broader than the posterior, so the weights are bounded)."""
    r = np.random.default_rng(seed)
    w, b = r.normal(size=(D, L)), r.normal(scale=0.5, size=D)
    x = r.normal(size=(n, L)) @ w.T + b + SIGMA * r.normal(size=(n, D))
    exact = multivariate_normal(b, w @ w.T + SIGMA ** 2 * np.eye(D)).logpdf(x)  # (n,)
    m_inv = np.linalg.inv(w.T @ w + SIGMA ** 2 * np.eye(L))
    a, logvar = m_inv @ w.T, np.log(1.5 * SIGMA ** 2 * np.diag(m_inv))
    params = {k: jnp.asarray(v, jnp.float32) for k, v in
              dict(w=w, b=b, a=a, logvar=logvar).items()}

    def posterior(p, xb):
        mean = (xb - p["b"]) @ p["a"].T + 0.1
        return mean, jnp.broadcast_to(p["logvar"], mean.shape)

    def decode(p, z):
        return z @ p["w"].T + p["b"]

    def posterior_samples(p, xb, num, key):
        mean, logvar = posterior(p, xb)
        z = reparameterize(key, mean, logvar, num)
        return z, log_normal(z, mean, logvar)

    fns = DensityFunctions(posterior_samples, lambda p, z: log_standard_normal(z), decode,
                           posterior)
    return fns, params, x.astype(np.float32), exact


def test_importance_sampling_matches_ppca_exact_likelihood_and_bounds_rise_with_k():
    fns, params, x, exact = _ppca()
    stats = importance_sampled_stats(
        fns, params, x, jax.random.PRNGKey(0), 5000, "gaussian",
        2 * math.log(SIGMA), example_batch=12, max_elements=12 * D * 1000)
    np.testing.assert_allclose(stats["log_px"], exact, atol=0.03)  # per example, nats
    assert abs(stats["log_px"].mean() - exact.mean()) < 0.005
    bounds = [stats[f"L_{k}"].mean() for k in (1, 10, 100, 1000, 5000)]
    assert all(a < b for a, b in zip(bounds, bounds[1:], strict=False)), bounds
    assert bounds[0] < exact.mean() - 0.1  # the ELBO of this q is clearly below log p(x)
    # E_q log p(x|z) - KL is the ELBO: L_1 (its Monte Carlo estimate) agrees.
    elbo = stats["log_px_given_z"] - stats["kl"]
    np.testing.assert_allclose(elbo.mean(), bounds[0], atol=0.02)


def test_iwae_bounds_and_chunks():
    log_w = np.log(np.arange(1.0, 9.0))[:, None]  # (K=8, B=1)
    bounds = iwae_bounds(log_w, (1, 2, 8, 16))
    assert sorted(bounds) == [1, 2, 8]
    np.testing.assert_allclose(bounds[8], [math.log(4.5)], rtol=1e-6)  # log mean(1..8)
    np.testing.assert_allclose(bounds[1], [np.log(np.arange(1, 9)).mean()], rtol=1e-6)
    assert chunk_size(5000, 784 * 100, 2 ** 24) == 200
    assert chunk_size(7, 10, 5) == 1


def test_active_units_counts_dimensions_that_vary():
    r = np.random.default_rng(0)
    means = np.stack([r.normal(size=500), 0.05 * r.normal(size=500), np.zeros(500)], axis=1)
    count, variance = active_units(means)
    assert count == 1 and variance.shape == (3,)


def test_nll_task_on_a_trained_vae(tmp_path):
    run = ae_jax.load(trained_vae_2d())
    result = get_task("nll")(run, str(tmp_path), {"num_samples": 200, "num_examples": 50,
                                                  "example_batch": 20})
    json.dumps(result)
    assert result["num_examples"] == 50 and result["num_samples"] == 200
    iwae = [result["iwae_nats"][k] for k in ("1", "10", "100", "200")]
    assert iwae[-1] == result["neg_log_px_bound_nats"] and iwae[-1] < iwae[0]
    assert result["neg_log_px_bound_nats"] <= result["negative_elbo_nats"] + 0.5
    assert "upper bound" in result["neg_log_px_bound_is"]
    # a 2-D latent: the exact value too, below the bound on average (the bound is a bound)
    assert result["neg_log_px_nats"] <= result["neg_log_px_bound_nats"] + 0.05
    assert result["quadrature_max_change_at_half_the_points"] < 1e-3
    assert result["prior_mass_on_grid"] == pytest.approx(1.0, abs=1e-5)  # N(0, I) on [-5, 5]^2
    gap = result["gap_L1_minus_LK_nats"]
    assert 0 <= gap["median"] <= gap["q90"] <= gap["q99"] <= gap["max"]
    np.testing.assert_allclose(result["negative_elbo_nats"],
                               result["reconstruction_nats"] + result["kl_nats"], rtol=1e-5)
    assert 0 <= result["active_units"] <= 2 and (tmp_path / "nll_iwae_bounds.png").exists()

    # The on-device, per-epoch version (the VAE family's test metric) agrees with the
    # task's count.
    data = jnp.asarray(run.dataset.test.reshape(len(run.dataset.test), -1))  # (N, D)
    means = make_evaluator(run.family.eval_step, 128)(run.state, data)
    assert int(run.family.finalize(means)["active_units"]) == result["active_units"]


def _reference_log_px(run, images, radius=6.0, points=1201):
    """A separate quadrature: numpy float64, trapezoid weights, a wider and finer grid than
    the task's, log p(x | z) from the decoder's logits by the plain formula."""
    from scipy.special import log_expit, logsumexp

    axis = np.linspace(-radius, radius, points)
    w = np.full(points, axis[1] - axis[0])
    w[[0, -1]] /= 2  # trapezoid
    zz = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    log_w2 = (np.log(w)[:, None] + np.log(w)[None, :]).ravel()
    logits = np.concatenate([np.asarray(run.map("ref_logits", run.family.decode_logits,
                                                zz[i:i + 100000].astype(np.float32)),
                                        np.float64).reshape(len(zz[i:i + 100000]), -1)
                             for i in range(0, len(zz), 100000)])  # (G, D)
    log_prior = -0.5 * np.sum(np.log(2 * np.pi) + zz ** 2, axis=1)
    x = images.reshape(len(images), -1).astype(np.float64) / 255.0
    out = []
    for xi in x:
        log_lik = (xi * log_expit(logits) + (1 - xi) * log_expit(-logits)).sum(1)
        out.append(logsumexp(log_lik + log_prior + log_w2))
    return np.array(out)


@pytest.mark.slow
def test_quadrature_is_exact_on_a_2d_vae():
    """The task's quadrature agrees with a separate one within 0.05 nats per image."""
    from ae_jax.evaluation.likelihood import model_functions
    from ae_jax.evaluation.quadrature import quadrature_log_px

    run = ae_jax.load(trained_vae_2d())
    images = run.dataset.test[:3]
    fns, logvar = model_functions(run)
    fine, coarse = quadrature_log_px(fns.decode, fns.log_prior, run.state, images, 2,
                                     "bernoulli", logvar)
    np.testing.assert_allclose(fine, _reference_log_px(run, images), atol=0.05)
    assert np.max(np.abs(fine - coarse)) < 1e-3


def test_a_defensive_proposal_keeps_the_estimate_and_bounds_the_weights():
    """alpha = 0.2 of N(0, 2^2 I): the K-sample estimate stays within the sampling noise of
    the exact value on the 2-D VAE."""
    run = ae_jax.load(trained_vae_2d())
    result = get_task("nll")(run, "/tmp", {"num_samples": 2000, "num_examples": 20,
                                           "defensive": 0.2})
    assert result["defensive"] == [0.2, 2.0]
    assert abs(result["neg_log_px_bound_nats"] - result["neg_log_px_nats"]) < 0.1


def test_an_unknown_nll_method_is_refused_before_any_work(tmp_path):
    run = ae_jax.load(trained_vae_2d())
    with pytest.raises(ValueError, match="unknown --option=method='exact'"):
        get_task("nll")(run, str(tmp_path), {"method": "exact"})
