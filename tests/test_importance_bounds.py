"""Rainforth et al.'s importance-weighted bounds (ae_jax/objectives/importance.py): MIWAE and
CIWAE against hand computations on fixed log-weights, their order between the ELBO and IWAE,
PIWAE's gradient routing (decoder on IWAE_{MK}, encoder on MIWAE_{M,K}) on a tiny VAE, and a
short digits run of each zoo config."""

import importlib
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ae_jax.engine import train_and_evaluate
from ae_jax.forward import unflatten
from ae_jax.objectives import TERMS
from ae_jax.objectives.importance import ciwae_bound, miwae_bound, piwae_loss
from ae_jax.objectives.vae import iwae_bound
from ae_jax.sweeps import set_field
from tests.conftest import digits_config, family_setup, loss_config, term_inputs

# 6 draws (rows) of 2 examples (columns): fixed log-weights for the hand computations
LOG_W = np.array([[-3.0, 1.0], [-1.0, 0.5], [-2.5, -4.0],
                  [0.0, 2.0], [-6.0, 1.5], [-0.5, -1.0]], np.float32)


def np_log_mean_exp(a, axis=0):
    """log (1/n sum_i exp a_i), computed the long way in float64."""
    return np.log(np.mean(np.exp(np.asarray(a, np.float64)), axis=axis))


def test_miwae_bound_is_the_mean_over_groups_of_each_groups_log_mean_weight():
    for m in (1, 2, 3, 6):
        k = 6 // m
        want = np.mean([np_log_mean_exp(LOG_W[g * k:(g + 1) * k]) for g in range(m)], axis=0)
        np.testing.assert_allclose(miwae_bound(jnp.asarray(LOG_W), m), want, rtol=1e-6,
                                   atol=1e-6, err_msg=f"M = {m}")
    # M = 1 is IWAE_6, M = 6 the ELBO
    np.testing.assert_allclose(miwae_bound(LOG_W, 1), np_log_mean_exp(LOG_W), rtol=1e-6)
    np.testing.assert_allclose(miwae_bound(LOG_W, 6), LOG_W.mean(0), rtol=1e-6)
    with pytest.raises(ValueError, match="equal groups"):
        miwae_bound(LOG_W, 4)


def test_ciwae_bound_is_the_convex_combination_of_elbo_and_iwae():
    for beta in (0.0, 0.3, 0.5, 1.0):
        want = beta * LOG_W.mean(0) + (1 - beta) * np_log_mean_exp(LOG_W)
        np.testing.assert_allclose(ciwae_bound(jnp.asarray(LOG_W), beta), want, rtol=1e-6,
                                   atol=1e-6, err_msg=f"beta = {beta}")
    with pytest.raises(ValueError, match="beta in"):
        ciwae_bound(LOG_W, 1.5)


def test_miwae_and_ciwae_lie_between_the_elbo_and_iwae_on_random_log_weights():
    """For each draw of 24 log-weights: ELBO = MIWAE_{24,1} <= MIWAE_{M,K} <= IWAE_24, rising
    as the groups merge (M = 24, 12, 6, 3, 1), and CIWAE_beta falls from IWAE to the ELBO as
    beta rises."""
    rng = np.random.default_rng(0)
    log_w = jnp.asarray(rng.normal(-100.0, 4.0, size=(24, 500)), jnp.float32)
    elbo, iwae = np.asarray(log_w.mean(0)), np.asarray(iwae_bound(log_w))
    chain = [np.asarray(miwae_bound(log_w, m)) for m in (24, 12, 6, 3, 1)]
    np.testing.assert_allclose(chain[0], elbo, rtol=1e-6)
    np.testing.assert_allclose(chain[-1], iwae, rtol=1e-6)
    for looser, tighter in zip(chain, chain[1:], strict=False):
        assert np.all(tighter > looser)
    betas = [np.asarray(ciwae_bound(log_w, b)) for b in (0.0, 0.25, 0.5, 0.75, 1.0)]
    for a, b in zip(betas, betas[1:], strict=False):
        assert np.all(b < a)
    assert np.all(betas[2] > elbo) and np.all(betas[2] < iwae)


def test_piwae_loss_has_iwae_value_and_routes_each_gradient_to_its_bound():
    """value -IWAE_6; d/d log_w_theta = -softmax over the 6 draws; d/d log_w_phi = -(1/M)
    softmax within each of the M = 2 groups of 3 (hand computed)."""
    log_w = jnp.asarray(LOG_W)
    value = piwae_loss(log_w, log_w, 2)
    np.testing.assert_allclose(value, -np_log_mean_exp(LOG_W), rtol=1e-6)
    g_theta, g_phi = jax.grad(lambda a, b: jnp.sum(piwae_loss(a, b, 2)), (0, 1))(log_w, log_w)
    w = np.exp(LOG_W - LOG_W.max(0))
    np.testing.assert_allclose(g_theta, -w / w.sum(0), rtol=1e-5, atol=1e-7)
    groups = np.exp(LOG_W.reshape(2, 3, 2) - LOG_W.reshape(2, 3, 2).max(1, keepdims=True))
    want_phi = -(groups / groups.sum(1, keepdims=True) / 2).reshape(6, 2)
    np.testing.assert_allclose(g_phi, want_phi, rtol=1e-5, atol=1e-7)


def _tiny_vae(gaussian: bool):
    """(model, params, x): a fresh vae_mlp on 16 digits, built as the trainer builds it."""
    fields = {"model.name": "vae_mlp", "model.latent_dim": 3, "loss.reconstruction": "none",
              "loss.terms": {"piwae": 1.0}, "model.learn_output_variance": gaussian,
              "loss.likelihood": "gaussian" if gaussian else "bernoulli"}
    ds, family, state, flat = family_setup(digits_config(**fields))
    x = unflatten(flat[:16], ds.example_shape)  # (16, D) uint8 -> (16, 8, 8, 1) in [0, 1]
    return family.model, state.nets["model"].params, x


def _grads(model, params, x, name, likelihood, **fields):
    """(batch mean of term `name`, its gradient) with the "sample" key fixed: every term
    draws the same z from it (posterior_samples is the first draw of each apply)."""
    cfg = loss_config(likelihood=likelihood, **fields)
    key = jax.random.PRNGKey(3)

    def loss(p):
        return jnp.mean(TERMS.get(name)(term_inputs(model, p, x, {"sample": key}, config=cfg)))

    return jax.value_and_grad(loss)(params)


def _close(a, b, what):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6, err_msg=what)


def _differ(a, b) -> bool:
    return any(not np.allclose(x, y, rtol=1e-3, atol=1e-5) for x, y in zip(
        jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("gaussian", [False, True], ids=["bernoulli", "gaussian_learned_var"])
def test_piwae_trains_the_decoder_on_iwae_mk_and_the_encoder_on_miwae(gaussian):
    """M = 2, K = 3: piwae's decoder gradient (and a learned output variance's) is IWAE_6's,
    its encoder gradient MIWAE_{2,3}'s, of the same 6 draws; its value is -IWAE_6."""
    model, params, x = _tiny_vae(gaussian)
    likelihood = "gaussian" if gaussian else "bernoulli"
    theta = ["decoder", "output_variance"] if gaussian else ["decoder"]
    assert set(params) == {"encoder", *theta}
    piwae, g_piwae = _grads(model, params, x, "piwae", likelihood, iwae_groups=2,
                            iwae_samples=3)
    iwae, g_iwae = _grads(model, params, x, "iwae", likelihood, iwae_samples=6)
    miwae, g_miwae = _grads(model, params, x, "miwae", likelihood, iwae_groups=2,
                            iwae_samples=3)
    np.testing.assert_allclose(piwae, iwae, rtol=1e-6)
    assert float(miwae) > float(iwae) + 1e-3  # -MIWAE_{2,3} > -IWAE_6: a looser bound
    for name in theta:
        _close(g_piwae[name], g_iwae[name], f"{name}: piwae vs iwae(6)")
    _close(g_piwae["encoder"], g_miwae["encoder"], "encoder: piwae vs miwae(2, 3)")
    # the two bounds' gradients differ, so the routing is what the test sees
    assert _differ(g_iwae["encoder"], g_miwae["encoder"])
    assert _differ(g_iwae["decoder"], g_miwae["decoder"])


def _read(workdir):
    return [json.loads(line) for line in open(workdir / "metrics.jsonl")]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["iwae", "miwae", "piwae", "ciwae"])
def test_each_zoo_config_lowers_its_test_loss_on_digits(tmp_path, name):
    """The config's own loss and architecture, shrunk to digits and 4 epochs."""
    config = importlib.import_module(f"configs.{name}").get_config()
    small = {"data.name": "digits", "num_epochs": 4, "batch_size": 64, "eval_batch_size": 512,
             "num_plot_images": 0, "num_sample_images": 0, "progress_bar": False,
             "tensorboard": False}
    for key, value in small.items():
        set_field(config, key, value)
    train_and_evaluate(config, str(tmp_path))
    rows = [r for r in _read(tmp_path) if r["split"] == "test"]
    assert len(rows) == 4 and name in rows[0]
    assert rows[-1]["loss"] < rows[0]["loss"] - 1.0, [r["loss"] for r in rows]
