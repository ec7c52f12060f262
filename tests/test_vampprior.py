"""The VampPrior VAE: log p(z) against a scipy mixture of the pseudo-inputs' posteriors,
prior draws against the mixture's moments, the pseudo-inputs' gradient, and the `nll` task
(importance sampling and quadrature over a 2-D latent) on a briefly trained digits model."""

import atexit
import json
import math
import os
import shutil
import tempfile

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

import ae_jax
from ae_jax.engine import train_and_evaluate
from ae_jax.evaluation import get_task
from ae_jax.evaluation.quadrature import latent_grid
from ae_jax.models import build_model
from ae_jax.models.vampprior import VampPriorVAE
from ae_jax.objectives import make_objective
from configs import default, vampprior
from tests.conftest import digits_config, loss_config, term_inputs

SHAPE = (8, 8, 1)
RNGS = {"params": jax.random.PRNGKey(0), "sample": jax.random.PRNGKey(1)}


def _model(latent=3, k=4, hidden=(16,)):
    cfg = default.get_config().model
    cfg.update(dict(name="vampprior_mlp", latent_dim=latent, hidden_sizes=hidden,
                    num_pseudo_inputs=k))
    model = build_model(cfg, SHAPE)
    return model, jax.jit(model.init)(RNGS, jnp.zeros((1, *SHAPE)))["params"]


def _with_pseudo_inputs(params, u):
    return {**params, "prior": {"pseudo_inputs": jnp.asarray(u, jnp.float32)}}


def _numpy_components(params):
    """(mean, var) (K, L) of q(z | u_k) by a float64 numpy pass of the dense encoder
    (relu hidden layers, linear heads) over the clipped pseudo-inputs."""
    p = jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), params)
    u = np.clip(p["prior"]["pseudo_inputs"], 0.0, 1.0)
    h = u.reshape(len(u), -1)  # (K, 8, 8, 1) -> (K, 64)
    enc = p["encoder"]
    i = 0
    while f"dense_{i}" in enc:
        h = np.maximum(h @ enc[f"dense_{i}"]["kernel"] + enc[f"dense_{i}"]["bias"], 0.0)
        i += 1
    head = enc["bottleneck"]
    mean = h @ head["mean"]["kernel"] + head["mean"]["bias"]
    logvar = h @ head["logvar"]["kernel"] + head["logvar"]["bias"]
    return mean, np.exp(logvar)


def _scipy_log_prior(params, z):
    """log 1/K sum_k N(z; mean_k, diag var_k) with scipy, for z (..., L)."""
    mean, var = _numpy_components(params)
    flat = z.reshape(-1, z.shape[-1]).astype(np.float64)  # (..., L) -> (N, L)
    logs = np.stack([multivariate_normal(m, np.diag(v)).logpdf(flat)
                     for m, v in zip(mean, var, strict=True)], axis=1)  # (N, K)
    return (logsumexp(logs, axis=1) - math.log(len(mean))).reshape(z.shape[:-1])


def test_config_builds_the_paper_prior():
    config = vampprior.get_config()
    model = build_model(config.model, (28, 28, 1))
    assert isinstance(model, VampPriorVAE) and model.num_pseudo_inputs == 500
    assert dict(config.loss.terms) == {"kl_sampled": 1.0} and config.loss.reduction == "sum"
    shapes = jax.eval_shape(lambda: model.init(RNGS, jnp.zeros((1, 28, 28, 1))))
    assert shapes["params"]["prior"]["pseudo_inputs"].shape == (500, 28, 28, 1)


def test_log_prior_is_the_scipy_mixture_of_the_pseudo_inputs_posteriors():
    model, params = _model()
    rng = np.random.default_rng(0)
    # pseudo-inputs partly outside [0, 1]: the clip is part of the prior
    params = _with_pseudo_inputs(params, rng.uniform(
        -0.3, 1.3, size=params["prior"]["pseudo_inputs"].shape))
    for shape in ((5, 7, 3), (11, 3)):  # (S, B, L) draws and a (G, L) grid
        z = rng.normal(scale=1.5, size=shape).astype(np.float32)
        got = model.apply({"params": params}, jnp.asarray(z), method="log_prior")
        assert got.shape == shape[:-1]
        np.testing.assert_allclose(got, _scipy_log_prior(params, z), rtol=1e-5, atol=1e-4)
    # the forward pass's log_p is the same function at its own draw
    x = jnp.asarray(rng.uniform(size=(6, *SHAPE)), jnp.float32)
    _, aux = model.apply({"params": params}, x, rngs={"sample": jax.random.PRNGKey(2)})
    np.testing.assert_allclose(aux["log_p"], _scipy_log_prior(params, np.asarray(aux["z"])),
                               rtol=1e-5, atol=1e-4)


def _two_separated_components(model, params):
    """Pseudo-inputs all 0 and all 1, the mean head scaled up and a fixed variance: two
    components far apart compared with their widths."""
    p = jax.tree_util.tree_map(lambda a: a, params)
    p = _with_pseudo_inputs(p, jnp.stack([jnp.zeros(SHAPE), jnp.ones(SHAPE)]))
    head = p["encoder"]["bottleneck"]
    head["mean"] = {"kernel": 30.0 * head["mean"]["kernel"], "bias": head["mean"]["bias"]}
    head["logvar"] = {"kernel": 0.0 * head["logvar"]["kernel"],
                      "bias": jnp.log(jnp.array([0.04, 0.09]))}
    mean, logvar = model.apply({"params": p}, method="prior_components")
    return p, np.asarray(mean, np.float64), np.exp(np.asarray(logvar, np.float64))


def test_sample_prior_draws_from_the_mixture():
    model, params = _model(latent=2, k=2)
    params, mean, var = _two_separated_components(model, params)
    assert np.linalg.norm(mean[0] - mean[1]) > 10 * np.sqrt(var.max())
    n = 20000
    z = np.asarray(jax.jit(lambda k: model.apply({"params": params}, k, n,
                                                 method="sample_prior"))(
        jax.random.PRNGKey(3)), np.float64)
    assert z.shape == (n, 2)
    # the mixture's moments
    mix_mean = mean.mean(0)
    second = np.mean([np.diag(v) + np.outer(m, m) for m, v in zip(mean, var, strict=True)], 0)
    mix_cov = second - np.outer(mix_mean, mix_mean)
    spread = np.sqrt(np.diag(mix_cov))
    np.testing.assert_allclose(z.mean(0), mix_mean, atol=4 * spread.max() / math.sqrt(n))
    np.testing.assert_allclose(np.cov(z.T), mix_cov, rtol=0.05, atol=0.05 * spread.max())
    # each draw comes from one component: half each, with that component's mean and variance
    nearest = np.argmin(((z[:, None] - mean[None]) ** 2).sum(-1), axis=1)
    assert abs(nearest.mean() - 0.5) < 4 * 0.5 / math.sqrt(n)
    for k in (0, 1):
        part = z[nearest == k]
        np.testing.assert_allclose(part.mean(0), mean[k], atol=4 * math.sqrt(var.max() / len(part)))
        np.testing.assert_allclose(part.var(0), var[k], rtol=0.06)


def test_the_pseudo_inputs_receive_gradient_from_the_elbo():
    model, params = _model(k=5)
    x = jnp.asarray(np.random.default_rng(4).uniform(size=(8, *SHAPE)), jnp.float32)
    objective = make_objective(loss_config(reconstruction="bce", reduction="sum",
                                           terms=dict(kl_sampled=1.0)), "sigmoid")

    def loss(p):
        t = term_inputs(model, p, x, {"sample": jax.random.PRNGKey(5)})
        return objective(t, {"kl_sampled": 1.0})[0].mean()

    g = np.asarray(jax.jit(jax.grad(loss))(params)["prior"]["pseudo_inputs"])
    assert np.all(np.isfinite(g))
    per_input = np.abs(g).reshape(5, -1).sum(1)  # (K, 8, 8, 1) -> (K, 64) -> (K,)
    assert np.all(per_input > 0), per_input  # every component learns

    # and it is the loss's gradient: a central difference along it agrees
    value = jax.jit(loss)
    step = 1e-2 * g / np.linalg.norm(g)
    u = params["prior"]["pseudo_inputs"]
    up, down = _with_pseudo_inputs(params, u + step), _with_pseudo_inputs(params, u - step)
    finite = (float(value(up)) - float(value(down))) / 2
    assert finite == pytest.approx(float(np.sum(g * step)), rel=0.05)


def trained_vampprior_2d() -> str:
    """One tiny VampPrior VAE on digits (latent 2, K = 16, 4 epochs), removed at exit."""
    workdir = os.path.join(tempfile.gettempdir(), f"ae_jax_test_vampprior_{os.getpid()}")
    if not os.path.isdir(os.path.join(workdir, "checkpoints", "4")):
        atexit.register(shutil.rmtree, workdir, True)
        train_and_evaluate(digits_config(num_epochs=4, **{
            "model.name": "vampprior_mlp", "model.latent_dim": 2, "model.hidden_sizes": (32,),
            "model.num_pseudo_inputs": 16, "loss.reduction": "sum",
            "loss.terms": ml_collections.ConfigDict(dict(kl_sampled=1.0))}), workdir)
    return workdir


@pytest.mark.slow
def test_nll_task_on_a_trained_vampprior_agrees_with_quadrature(tmp_path):
    run = ae_jax.load(trained_vampprior_2d())
    rows = [json.loads(line) for line in open(os.path.join(run.workdir, "metrics.jsonl"))]
    test = [r["loss"] for r in rows if r["split"] == "test"]
    assert test[-1] < test[0]  # it learned
    fresh = run.family.init(run.config.seed).nets["model"].params["prior"]["pseudo_inputs"]
    learned = run.state.nets["model"].params["prior"]["pseudo_inputs"]
    assert float(jnp.abs(learned - fresh).max()) > 1e-3  # the pseudo-inputs were trained

    # A learned prior need not sit near the origin (the VampPrior is free to move with the
    # encoder), so the quadrature grid is [-10, 10]^2 at the default spacing, not the
    # default [-5, 5]^2 that assumes N(0, I); the prior's draws lie well inside it.
    assert np.abs(run.sample_codes(4000)).max() < 9.0
    # and it is a density: sum_g p(z_g) h^2 = 1 on that grid
    grid, _, log_cell = latent_grid(2, 10.0, 801)  # (G, 2)
    log_p = run.map("log_prior", run.family.log_prior, grid, batch_size=4096)
    assert logsumexp(np.asarray(log_p, np.float64)) + log_cell == pytest.approx(0.0, abs=1e-4)
    result = get_task("nll")(run, str(tmp_path), {"num_samples": 500, "num_examples": 60,
                                                  "example_batch": 30, "grid_radius": 10,
                                                  "grid_points": 1601})
    bound, elbo = result["neg_log_px_bound_nats"], result["negative_elbo_nats"]
    assert np.isfinite(bound) and bound < elbo  # L_K >= L_1
    assert result["iwae_nats"]["500"] == bound < result["iwae_nats"]["1"]
    np.testing.assert_allclose(result["iwae_nats"]["1"], elbo, rtol=1e-5)
    # quadrature over the 2-D latent (method auto) with log_prior on the (G, L) grid: the
    # exact value lies below the bound, within the bound's standard error over the images
    assert result["quadrature_max_change_at_half_the_points"] < 1e-2
    gap = result["bound_minus_exact_nats"]
    assert -0.02 < gap < result["neg_log_px_bound_stderr_over_images"], result
    # a prior drawn from the mixture decodes (the SAMPLE ability)
    assert run.sample(4).shape == (4, *run.dataset.example_shape)
