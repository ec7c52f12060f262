"""The two-stochastic-layer VAE (Burda et al. 2016): log p(z1, z2), log q(z1, z2 | x) and the
single-sample ELBO against a numpy / scipy.stats.norm pass of the same weights; its draws
against q; the iwae term at k = 1 against the ELBO; training and the `nll` task on digits."""

import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from scipy.special import log_expit
from scipy.stats import norm

import ae_jax
from ae_jax.engine import train_and_evaluate
from ae_jax.evaluation import get_task
from ae_jax.models import build_model
from ae_jax.models.abilities import DECODE, DENSITY, ENCODE, POSTERIOR, PRIOR, abilities_of
from ae_jax.objectives import make_objective
from ae_jax.objectives.vae import iwae
from ae_jax.sweeps import set_field
from configs import default, vae_two_layer
from tests.conftest import loss_config, term_inputs

SHAPE = (4, 4, 1)
L1, L2 = 3, 2
RNGS = {"params": jax.random.PRNGKey(0), "sample": jax.random.PRNGKey(1)}


def _model():
    cfg = default.get_config().model
    cfg.update(dict(name="vae_two_layer", latent_dim=L1, second_latent_dim=L2,
                    hidden_sizes=(6, 5), second_hidden_sizes=(4,), activation="tanh"))
    model = build_model(cfg, SHAPE)
    params = jax.jit(model.init)(RNGS, jnp.zeros((1, *SHAPE)))["params"]
    return model, params


def _np(params):
    return jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), params)


def _mlp(layer, h, out=("mean", "logvar")):
    """tanh dense layers dense_0, dense_1, ... then the linear heads `out`, in float64."""
    i = 0
    while f"dense_{i}" in layer:
        h = np.tanh(h @ layer[f"dense_{i}"]["kernel"] + layer[f"dense_{i}"]["bias"])
        i += 1
    return [h @ layer[name]["kernel"] + layer[name]["bias"] for name in out]


def _log_gauss(z, mean, logvar):
    return norm.logpdf(z, mean, np.exp(0.5 * logvar)).sum(-1)


def _hand_log_prior(p, z):
    z1, z2 = z[..., :L1], z[..., L1:]
    mean, logvar = _mlp(p["p_z1"], z2)
    return norm.logpdf(z2).sum(-1) + _log_gauss(z1, mean, logvar)


def _hand_log_q(p, x, z):
    """log q(z1 | x) + log q(z2 | z1) for z (..., B, L1 + L2) and x (B, ...)."""
    z1, z2 = z[..., :L1], z[..., L1:]
    m1, v1 = _mlp(p["q_z1"], x.reshape(len(x), -1))  # (B, 4, 4, 1) -> (B, 16)
    m2, v2 = _mlp(p["q_z2"], z1)
    return _log_gauss(z1, m1, v1) + _log_gauss(z2, m2, v2)


def test_abilities_and_the_papers_sizes():
    model = build_model(vae_two_layer.get_config().model, (28, 28, 1))
    assert abilities_of(model) == {ENCODE, DECODE, PRIOR, DENSITY}
    assert POSTERIOR not in abilities_of(model)  # q is not one diagonal Gaussian over z
    params = jax.eval_shape(lambda: model.init(RNGS, jnp.zeros((1, 28, 28, 1))))["params"]
    shapes = jax.tree_util.tree_map(lambda a: a.shape, params)
    assert [shapes["q_z1"][f"dense_{i}"]["kernel"] for i in (0, 1)] == [(784, 200), (200, 200)]
    assert shapes["q_z1"]["mean"]["kernel"] == (200, 100)
    assert [shapes["q_z2"][f"dense_{i}"]["kernel"] for i in (0, 1)] == [(100, 100), (100, 100)]
    assert shapes["q_z2"]["logvar"]["kernel"] == (100, 50)
    assert shapes["p_z1"]["dense_0"]["kernel"] == (50, 100)
    assert shapes["p_z1"]["mean"]["kernel"] == (100, 100)
    assert shapes["decoder"]["dense_0"]["kernel"] == (100, 200)
    assert shapes["decoder"]["output"]["kernel"] == (200, 784)


def test_log_prior_and_log_q_match_scipy():
    model, params = _model()
    p, rng = _np(params), np.random.default_rng(0)
    z = rng.normal(size=(5, 7, L1 + L2)).astype(np.float32)  # (S, B, L) draws
    got = jax.jit(lambda v: model.apply({"params": params}, v, method="log_prior"))(z)
    np.testing.assert_allclose(got, _hand_log_prior(p, z), rtol=1e-5, atol=1e-4)

    x = rng.uniform(size=(7, *SHAPE)).astype(np.float32)
    draws = jax.jit(lambda k, key: model.apply({"params": params}, jnp.asarray(x), k,
                                               method="posterior_samples",
                                               rngs={"sample": key}), static_argnums=0)
    z, log_q = draws(4, jax.random.PRNGKey(2))
    assert z.shape == (4, 7, L1 + L2) and log_q.shape == (4, 7)
    z = np.asarray(z, np.float64)
    np.testing.assert_allclose(log_q, _hand_log_q(p, x, z), rtol=1e-5, atol=1e-4)

    # and the draws are q's: z1 ~ q(z1 | x), z2 ~ q(z2 | z1) of each z1 draw
    z = np.asarray(draws(4000, jax.random.PRNGKey(3))[0], np.float64)
    m1, v1 = _mlp(p["q_z1"], x.reshape(len(x), -1))
    m2, v2 = _mlp(p["q_z2"], z[..., :L1])
    eps = np.concatenate([(z[..., :L1] - m1) / np.exp(0.5 * v1),
                          (z[..., L1:] - m2) / np.exp(0.5 * v2)], axis=-1)  # (K, B, L)
    np.testing.assert_allclose(eps.mean(0), 0.0, atol=4 / np.sqrt(4000))
    np.testing.assert_allclose(eps.var(0), 1.0, atol=0.1)


def test_the_single_sample_elbo_of_aux_is_the_hand_computed_one():
    model, params = _model()
    p = _np(params)
    x = np.round(np.random.default_rng(1).uniform(size=(6, *SHAPE))).astype(np.float32)
    objective = make_objective(loss_config(reconstruction="bce", reduction="sum",
                                           terms=dict(kl_sampled=1.0)), "sigmoid")

    @jax.jit
    def forward(key):
        t = term_inputs(model, params, jnp.asarray(x), {"sample": key})
        return objective(t, {"kl_sampled": 1.0})[0], t.aux

    total, aux = forward(jax.random.PRNGKey(4))
    z = np.asarray(aux["z"], np.float64)  # (B, L1 + L2): the forward pass's draw
    (logits,) = _mlp(p["decoder"], z[:, :L1], out=("output",))  # (B, 16)
    flat = x.reshape(len(x), -1)  # (B, 4, 4, 1) -> (B, 16)
    bce = -(flat * log_expit(logits) + (1 - flat) * log_expit(-logits)).sum(-1)
    log_q, log_p = _hand_log_q(p, x, z), _hand_log_prior(p, z)
    np.testing.assert_allclose(aux["log_q"], log_q, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(aux["log_p"], log_p, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(total, bce + log_q - log_p, rtol=1e-5, atol=1e-3)
    # encode: the mean of q(z1 | x) and the mean of q(z2 | z1) at it
    m1, _ = _mlp(p["q_z1"], flat)
    want = np.concatenate([m1, _mlp(p["q_z2"], m1)[0]], axis=-1)
    np.testing.assert_allclose(model.apply({"params": params}, jnp.asarray(x), method="encode"),
                               want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(aux["code"], want, rtol=1e-5, atol=1e-5)


def test_iwae_at_k1_is_the_elbo_in_expectation_and_tightens_with_k():
    """The iwae term reads DENSITY (posterior_samples, log_prior): at k = 1 its mean over
    many draws is the mean of bce + kl_sampled from __call__'s own draws."""
    model, params = _model()
    x = jnp.round(jax.random.uniform(jax.random.PRNGKey(6), (4, *SHAPE)))
    keys = jax.random.split(jax.random.PRNGKey(7), 1000)
    objective = make_objective(loss_config(reconstruction="bce", reduction="sum",
                                           terms=dict(kl_sampled=1.0)), "sigmoid")

    def elbo(key):
        return objective(term_inputs(model, params, x, {"sample": key}),
                         {"kl_sampled": 1.0})[0].mean()

    def bound(k):
        cfg = loss_config(iwae_samples=k, likelihood="bernoulli")
        return jax.jit(jax.vmap(lambda key: iwae(term_inputs(
            model, params, x, {"sample": key}, config=cfg)).mean()))(keys)

    elbos, iwae1 = jax.jit(jax.vmap(elbo))(keys), bound(1)
    err = 3 * np.sqrt(np.var(elbos) / len(keys) + np.var(iwae1) / len(keys))
    assert abs(float(elbos.mean()) - float(iwae1.mean())) < err
    assert float(bound(20).mean()) < float(iwae1.mean()) - 3 * float(np.std(iwae1)) / np.sqrt(
        len(keys))


@pytest.mark.slow
def test_it_trains_on_digits_and_the_nll_task_runs(tmp_path):
    config = vae_two_layer.get_config()
    for key, value in {"data.name": "digits", "num_epochs": 6, "batch_size": 64,
                       "progress_bar": False, "tensorboard": False}.items():
        set_field(config, key, value)  # the paper's architecture on 8x8 digits
    workdir = str(tmp_path / "run")
    train_and_evaluate(config, workdir)
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    train = [r["loss"] for r in rows if r["split"] == "train"]
    test = [r["loss"] for r in rows if r["split"] == "test"]
    assert train[-1] < train[0] - 10 and test[-1] < test[0] - 10, (train, test)

    run = ae_jax.load(workdir)
    result = get_task("nll")(run, str(tmp_path), {"num_samples": 200, "num_examples": 40,
                                                  "example_batch": 20})
    bound, iwae_k = result["neg_log_px_bound_nats"], result["iwae_nats"]
    assert np.isfinite(bound) and "neg_log_px_nats" not in result  # 150-D: no quadrature
    assert iwae_k["200"] == bound < iwae_k["10"] < iwae_k["1"]  # L_K >= L_10 >= L_1
    np.testing.assert_allclose(iwae_k["1"], result["negative_elbo_nats"], rtol=1e-5)
    assert 0 < result["active_units"] <= 150  # of the 100 + 50 code dimensions
    assert run.sample(3).shape == (3, 8, 8, 1)  # ancestral z2 -> z1 -> x


def test_the_iwae_variant_is_a_config_change():
    config = vae_two_layer.get_config()
    config.loss.terms = ml_collections.ConfigDict(dict(iwae=1.0))
    config.loss.reconstruction = "none"
    objective = make_objective(config.loss, "sigmoid")
    model = build_model(config.model, (8, 8, 1))
    params = jax.jit(model.init)(RNGS, jnp.zeros((1, 8, 8, 1)))["params"]
    x = jnp.round(jax.random.uniform(jax.random.PRNGKey(8), (3, 8, 8, 1)))

    def loss(p):
        t = term_inputs(model, p, x, {"sample": jax.random.PRNGKey(9)}, config=config.loss)
        total, parts = objective(t, {"iwae": 1.0})
        return total.mean(), (total, parts)

    (_, (total, parts)), grads = jax.jit(jax.value_and_grad(loss, has_aux=True))(params)
    assert set(parts) == {"iwae"} and total.shape == (3,) and np.all(np.isfinite(total))
    # the bound trains every network
    assert all(float(jnp.abs(grads[net]["mean"]["kernel"]).sum()) > 0
               for net in ("q_z1", "q_z2", "p_z1"))
