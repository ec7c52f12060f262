"""VAE models and terms: closed-form KL, reparameterisation, seed-003 shapes, ELBO training."""

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
import optax
import pytest
from scipy.stats import norm

from ae_jax.data.local import load_image_folder
from ae_jax.distributions import kl_diagonal_gaussians, kl_to_standard_normal, reparameterize
from ae_jax.engine import train_and_evaluate
from ae_jax.models import build_model
from ae_jax.models.summary import summarize
from ae_jax.objectives import TERMS, TermInputs, make_objective
from ae_jax.objectives.vae import gaussian_nll, iwae
from configs import default, vae_conv, vae_dense_2d, vae_images_80, vae_images_80_640
from scripts.make_shapes_folder import make_shapes_folder
from tests.conftest import digits_config, loss_config, term_inputs

RNGS = {"params": jax.random.PRNGKey(0), "sample": jax.random.PRNGKey(1)}


def _vae(latent=2, hidden=(16,), shape=(8, 8, 1), **kw):
    cfg = default.get_config().model
    cfg.update(dict(name="vae_mlp", latent_dim=latent, hidden_sizes=hidden, **kw))
    model = build_model(cfg, shape)
    return model, jax.jit(model.init)(RNGS, jnp.zeros((1, *shape)))["params"]


def test_kl_is_zero_at_the_prior_and_matches_known_pairs():
    zeros = jnp.zeros((3, 4))
    np.testing.assert_allclose(kl_to_standard_normal(zeros, zeros), 0.0, atol=1e-7)
    # KL(N(1, 2^2) || N(0, 1)) = (4 + 1 - 1 - ln 4) / 2 = 2 - ln 2
    kl = kl_to_standard_normal(jnp.array([[1.0]]), jnp.log(jnp.array([[4.0]])))
    np.testing.assert_allclose(kl, [2 - math.log(2)], rtol=1e-6)
    # KL(N(1, 2^2) || N(-1, 3^2)) = ln(3/2) + (4 + 4) / 18 - 1/2, summed over 2 equal dims
    m1, v1 = jnp.full((1, 2), 1.0), jnp.full((1, 2), math.log(4.0))
    m2, v2 = jnp.full((1, 2), -1.0), jnp.full((1, 2), math.log(9.0))
    expected = 2 * (math.log(1.5) + 8 / 18 - 0.5)
    np.testing.assert_allclose(kl_diagonal_gaussians(m1, v1, m2, v2), [expected], rtol=1e-6)
    np.testing.assert_allclose(kl_diagonal_gaussians(m1, v1, 0 * m1, 0 * v1),
                               kl_to_standard_normal(m1, v1), rtol=1e-6)
    x = jnp.zeros((1, 1, 1, 1))  # the kl term reads the aux only
    t = TermInputs(x=x, inputs=x, logits=x, aux={"mean": m1, "logvar": v1})
    assert float(TERMS.get("kl")(t)[0]) > 0


def test_gradients_flow_to_mean_and_logvar_through_the_sample():
    mean, logvar = jnp.array([[0.5, -1.0]]), jnp.array([[0.2, -0.4]])
    key = jax.random.PRNGKey(3)
    eps = (reparameterize(key, mean, logvar) - mean) / jnp.exp(0.5 * logvar)
    g_mean, g_logvar = jax.jit(jax.grad(lambda m, v: jnp.sum(reparameterize(key, m, v)),
                                        (0, 1)))(mean, logvar)
    np.testing.assert_allclose(g_mean, jnp.ones_like(mean))  # dz/dmean = 1
    np.testing.assert_allclose(g_logvar, 0.5 * jnp.exp(0.5 * logvar) * eps, rtol=1e-5)

    # Through the model: a loss of the reconstruction alone (no KL) reaches both heads.
    model, params = _vae()
    x = jax.random.uniform(jax.random.PRNGKey(4), (5, 8, 8, 1))

    @jax.jit
    @jax.grad
    def grads(p):
        logits, _ = model.apply({"params": p}, x, rngs={"sample": key})
        return jnp.sum(jnp.square(jax.nn.sigmoid(logits) - x))

    heads = grads(params)["encoder"]["bottleneck"]
    assert float(jnp.abs(heads["mean"]["kernel"]).sum()) > 0
    assert float(jnp.abs(heads["logvar"]["kernel"]).sum()) > 0


def test_sampling_uses_the_sample_rng_and_encode_is_the_mean():
    model, params = _vae()
    x = jax.random.uniform(jax.random.PRNGKey(5), (4, 8, 8, 1))
    run = lambda k: model.apply({"params": params}, x, rngs={"sample": k})[1]  # noqa: E731
    a, b, c = run(jax.random.PRNGKey(0)), run(jax.random.PRNGKey(0)), run(jax.random.PRNGKey(1))
    np.testing.assert_array_equal(a["z"], b["z"])
    assert not np.allclose(a["z"], c["z"])
    assert not np.allclose(a["z"], a["mean"])
    np.testing.assert_array_equal(model.apply({"params": params}, x, method="encode"), a["mean"])
    np.testing.assert_array_equal(a["code"], a["mean"])
    mean, logvar = model.apply({"params": params}, x, method="posterior")
    np.testing.assert_array_equal(logvar, a["logvar"])
    no_rng = model.apply({"params": params}, x)[1]  # init / summary: z is the mean
    np.testing.assert_array_equal(no_rng["z"], mean)


def _rows(text):
    return {line.split()[0]: int(line.split()[-1].replace(",", ""))
            for line in text.splitlines() if line.startswith(("encoder/", "decoder/"))}


def test_seed_003_vae_matches_keras_counts():
    model = build_model(vae_images_80.get_config().model, (80, 80, 1))
    text, counts = summarize(model, (80, 80, 1))
    assert _rows(text) == {
        "encoder/dense_0": 1_638_656, "encoder/bottleneck/mean": 514,
        "encoder/bottleneck/logvar": 514, "decoder/dense_0": 768, "decoder/output": 1_644_800}
    assert counts == {"encoder": 1_639_684, "decoder": 1_645_568, "total": 3_285_252}
    # The second version: 640 + 256 hidden units on each side.
    text, counts = summarize(build_model(vae_images_80_640.get_config().model, (80, 80, 1)),
                             (80, 80, 1))
    assert _rows(text)["encoder/dense_0"] == 6400 * 640 + 640
    assert _rows(text)["decoder/output"] == 640 * 6400 + 6400
    assert counts["total"] == 8_529_412


def test_dense_2d_and_conv_configs_build():
    model = build_model(vae_dense_2d.get_config().model, (28, 28, 1))
    assert summarize(model, (28, 28, 1))[1] == {"encoder": 201_988, "decoder": 202_256,
                                                 "total": 404_244}
    model = build_model(vae_conv.get_config().model, (28, 28, 1))
    x = jnp.zeros((2, 28, 28, 1))
    logits, aux = jax.eval_shape(lambda: model.init_with_output(RNGS, x)[0])
    latent = vae_conv.get_config().model.latent_dim
    assert logits.shape == x.shape and aux["z"].shape == (2, latent)
    assert 16 <= latent <= 32


def test_gaussian_nll_matches_scipy_with_fixed_and_learned_variance():
    x, mu = jnp.array([[0.1, 0.9, 0.5]]), jnp.array([[0.2, 0.7, 0.5]])
    cfg = loss_config(output_stddev=0.3)
    got = gaussian_nll(TermInputs(x=x, inputs=x, logits=None, aux={"output_mean": mu},
                                  config=cfg))
    np.testing.assert_allclose(got, [-norm.logpdf(x, mu, 0.3).sum()], rtol=1e-5)
    aux = {"output_mean": mu, "output_logvar": jnp.float32(math.log(0.5 ** 2))}
    np.testing.assert_allclose(gaussian_nll(TermInputs(x=x, inputs=x, logits=None, aux=aux,
                                                       config=cfg)),
                               [-norm.logpdf(x, mu, 0.5).sum()], rtol=1e-5)
    model, params = _vae(learn_output_variance=True)
    assert float(params["output_variance"]["logvar"]) == 0.0


def _iwae_loss(model, k):
    cfg = loss_config(iwae_samples=k, likelihood="bernoulli")

    def loss(params, x, key):
        return iwae(term_inputs(model, params, x, {"sample": key}, config=cfg))

    return loss


def test_iwae_bound_is_the_elbo_at_k1_tightens_with_k_and_trains():
    model, params = _vae()
    x = jnp.round(jax.random.uniform(jax.random.PRNGKey(6), (4, 8, 8, 1)))
    keys = jax.random.split(jax.random.PRNGKey(7), 256)
    per_key = lambda k: jax.jit(jax.vmap(_iwae_loss(model, k), (None, None, 0)))(  # noqa: E731
        params, x, keys).mean()
    # E[-L_1] is the negative ELBO: sum-BCE + closed-form KL, up to Monte Carlo error.
    objective = make_objective(loss_config(reconstruction="bce", reduction="sum",
                                           terms=dict(kl=1.0)), "sigmoid")

    def neg_elbo(key):
        return objective(term_inputs(model, params, x, {"sample": key}), {"kl": 1.0})[0].mean()

    np.testing.assert_allclose(per_key(1), jax.jit(jax.vmap(neg_elbo))(keys).mean(),
                               rtol=3e-3)
    assert float(per_key(20)) < float(per_key(1))

    loss = _iwae_loss(model, 5)
    tx = optax.adam(1e-2)
    opt = tx.init(params)

    @jax.jit
    def step(p, o, key):
        value, grads = jax.value_and_grad(lambda q: loss(q, x, key).mean())(p)
        updates, o = tx.update(grads, o)
        return optax.apply_updates(p, updates), o, value

    values = []
    for i in range(30):
        params, opt, value = step(params, opt, jax.random.PRNGKey(100 + i))
        values.append(float(value))
    assert np.mean(values[-5:]) < np.mean(values[:5]) - 5.0


def trained_vae_2d() -> str:
    """The workdir of one tiny trained VAE (digits 8x8, latent 2, 2 epochs, KL warm-up over
    the first), shared by the VAE, likelihood and latent tests and removed at exit. The path
    is per process, not a module-level cache: pytest imports this file as `test_vae` and the
    other tests import it as `tests.test_vae`, two module objects."""
    workdir = os.path.join(tempfile.gettempdir(), f"ae_jax_test_vae2d_{os.getpid()}")
    if not os.path.isdir(os.path.join(workdir, "checkpoints", "2")):
        atexit.register(shutil.rmtree, workdir, True)
        train_and_evaluate(digits_config(num_epochs=2, **{
            "model.name": "vae_mlp", "model.latent_dim": 2, "model.hidden_sizes": (32,),
            "loss.reduction": "sum", "loss.terms": ml_collections.ConfigDict(dict(kl=1.0)),
            "loss.warmup_epochs": ml_collections.ConfigDict(dict(kl=1))}), workdir)
    return workdir


def test_elbo_training_reports_nats_per_example():
    rows = [json.loads(line) for line in open(os.path.join(trained_vae_2d(), "metrics.jsonl"))]
    test = [r for r in rows if r["split"] == "test"]
    assert set(test[0]) >= {"loss", "bce", "kl"}
    assert test[-1]["loss"] < test[0]["loss"]
    # After the warm-up the loss is the negative ELBO: BCE summed over pixels + KL.
    np.testing.assert_allclose(test[-1]["loss"], test[-1]["bce"] + test[-1]["kl"], rtol=1e-5)
    assert test[-1]["bce"] > 64 * 0.1  # a sum over 64 pixels, not a mean


def test_shapes_folder_feeds_the_80x80_vae(tmp_path):
    paths = make_shapes_folder(str(tmp_path / "shapes"), num_images=30, size=40)
    assert len(paths) == 30
    ds = load_image_folder(str(tmp_path / "shapes"), 80, True, 0.2, 0)
    assert ds.example_shape == (80, 80, 1) and len(ds.train) + len(ds.test) == 30
    assert ds.class_names == ("circle", "cross", "square", "star", "triangle")
    config = vae_images_80.get_config()
    config.data.data_dir = str(tmp_path / "shapes")
    config.num_epochs = 0  # builds the model on this data and writes the summary
    train_and_evaluate(config, str(tmp_path / "run"))
    summary = open(tmp_path / "run" / "summary.txt").read()
    assert "total params: 3,285,252" in summary and "27 train / 3 test" in summary


def test_conv_vae_rejects_dense_decoder_sizes():
    cfg = vae_conv.get_config().model
    cfg.decoder_hidden_sizes = (8,)
    with pytest.raises(ValueError, match="dense VAE decoders only"):
        build_model(cfg, (28, 28, 1)).init(RNGS, jnp.zeros((1, 28, 28, 1)))
