"""Regularised autoencoders: sparsity (L1, KL), contractive, tied weights, and the configs of
issue 3 trained end to end on tiny data."""

import importlib
import json

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

import ae_jax
from ae_jax.data import load_dataset
from ae_jax.engine import train_and_evaluate
from ae_jax.evaluation import get_task
from ae_jax.evaluation.denoising import _noise_names
from ae_jax.models import build_model
from ae_jax.models.mlp import MLPAutoencoder
from ae_jax.models.summary import summarize
from ae_jax.models.tied import TiedAutoencoder
from ae_jax.objectives import TERMS, TermInputs, make_objective
from ae_jax.objectives.contractive import jacobian_sq_norm
from ae_jax.sweeps import set_field
from tests.conftest import loss_config, term_inputs


def _loss_cfg(**kw):
    return ml_collections.ConfigDict({"activity_layer": None, "sparsity_target": 0.05, **kw})


def _term(name, aux, cfg, mask=None):
    """Loss term `name` on a batch of which only the model's aux matters."""
    b = len(aux["code"])
    x = jnp.zeros((b, 1, 1, 1))  # the examples: only their number is read
    return TERMS.get(name)(TermInputs(x=x, inputs=x, logits=x, aux=aux, mask=mask,
                                      config=cfg))


def _kl(p, q):
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


def test_l1_activity_by_hand():
    code = jnp.array([[1.0, -2.0, 0.0], [0.5, 0.0, 0.25]])
    aux = {"code": code, "hidden": (jnp.array([[3.0], [-4.0]]), code)}
    np.testing.assert_allclose(_term("l1_activity", aux, _loss_cfg()), [3.0, 0.75])
    np.testing.assert_allclose(_term("l1_activity", aux, _loss_cfg(activity_layer=0)),
                               [3.0, 4.0])
    with pytest.raises(ValueError, match="activity_layer=5"):
        _term("l1_activity", aux, _loss_cfg(activity_layer=5))


def test_kl_sparsity_by_hand_is_a_batch_quantity():
    a = jnp.array([[0.1, 0.2], [0.3, 0.4], [0.2, 0.9]])
    # rho_hat = (0.2, 0.5); penalty = KL(0.05 || 0.2) + KL(0.05 || 0.5)
    expected = _kl(0.05, 0.2) + _kl(0.05, 0.5)
    values = _term("kl_sparsity", {"code": a}, _loss_cfg())
    assert values.shape == (3,)
    np.testing.assert_allclose(jnp.mean(values), expected, rtol=1e-5)
    # padding rows (mask 0) do not count: rho_hat = (0.2, 0.3)
    masked = _term("kl_sparsity", {"code": a}, _loss_cfg(sparsity_target=0.1),
                   mask=jnp.array([1, 1, 0]))
    np.testing.assert_allclose(masked, [_kl(0.1, 0.2) + _kl(0.1, 0.3)] * 3, rtol=1e-5)
    # its gradient reaches every example through rho_hat
    grad = jax.grad(lambda a: jnp.mean(_term("kl_sparsity", {"code": a}, _loss_cfg())))(a)
    d = (-0.05 / np.array([0.2, 0.5]) + 0.95 / (1 - np.array([0.2, 0.5]))) / 3
    np.testing.assert_allclose(grad, np.tile(d, (3, 1)), rtol=1e-5)


def test_kl_sparsity_refuses_activations_outside_the_unit_interval():
    relu_code = {"code": jnp.array([[0.5, 2.0], [0.0, 1.0]])}
    with pytest.raises(ValueError, match="kl_sparsity needs activations in \\(0, 1\\)"):
        _term("kl_sparsity", relu_code, _loss_cfg())
    jitted = jax.jit(lambda c: _term("kl_sparsity", {"code": c}, _loss_cfg()))
    with pytest.raises(Exception, match="kl_sparsity needs activations in \\(0, 1\\)"):
        jax.block_until_ready(jitted(relu_code["code"]))


def _single_sigmoid_layer(d=6, k=3, batch=4):
    model = MLPAutoencoder(output_shape=(d, 1, 1), latent_dim=k, latent_activation="sigmoid")
    x = jax.random.uniform(jax.random.PRNGKey(1), (batch, d, 1, 1))
    params = model.init(jax.random.PRNGKey(0), x)["params"]
    return model, params, x


def test_contractive_matches_the_sigmoid_closed_form():
    model, params, x = _single_sigmoid_layer()
    obj = make_objective(loss_config(reconstruction="bce", terms=dict(contractive=1.0)),
                         "sigmoid")

    @jax.jit
    def loss(p):
        total, parts = obj(term_inputs(model, p, x), {"contractive": 1.0})
        return jnp.mean(total), parts["contractive"]

    (_, values), grads = jax.value_and_grad(loss, has_aux=True)(params)
    w = params["encoder"]["latent"]["kernel"]  # (D, K)
    h = jax.nn.sigmoid(x.reshape(len(x), -1) @ w + params["encoder"]["latent"]["bias"])
    closed = jnp.sum(jnp.square(h * (1 - h)) * jnp.sum(jnp.square(w), axis=0), axis=1)
    np.testing.assert_allclose(values, closed, rtol=1e-5)
    # the penalty is differentiable with respect to the parameters (second order)
    assert all(np.isfinite(g).all() and np.any(g != 0) for g in jax.tree_util.tree_leaves(grads))


@pytest.mark.parametrize("kind", ["forward_mode", "reverse_mode_in_chunks"])
def test_jacobian_norm_equals_brute_force(kind):
    if kind == "forward_mode":  # two layers, 12 code units > 6 inputs
        model = MLPAutoencoder((3, 2, 1), 12, hidden_sizes=(5,), activation="tanh",
                               latent_activation="sigmoid")
        x = jax.random.uniform(jax.random.PRNGKey(2), (3, 3, 2, 1))
    else:  # 70 code units > the chunk of 64 rows, < 80 inputs
        model = MLPAutoencoder((80, 1, 1), 70, latent_activation="tanh")
        x = jax.random.uniform(jax.random.PRNGKey(2), (3, 80, 1, 1))
    params = model.init(jax.random.PRNGKey(0), x)["params"]

    def encode(v):
        return model.apply({"params": params}, v, method="encode")

    @jax.jit
    def both(x):
        jac = jax.vmap(jax.jacfwd(lambda xi: encode(xi[None])[0]))(x)  # (B, *code, *input)
        brute = jnp.sum(jnp.square(jac.reshape(len(x), -1)), axis=1)
        return jacobian_sq_norm(encode, x), brute

    np.testing.assert_allclose(*both(x), rtol=1e-4)


def test_tied_weights_share_the_kernel_and_halve_the_parameters():
    model = TiedAutoencoder(output_shape=(28, 28, 1), latent_dim=32)
    x = jax.random.uniform(jax.random.PRNGKey(1), (2, 28, 28, 1))
    params = model.init(jax.random.PRNGKey(0), x)["params"]
    w, b = params["encoder"]["layers_0"]["kernel"], params["encoder"]["layers_0"]["bias"]
    c = params["decoder"]["bias_0"]
    logits, aux = model.apply({"params": params}, x)
    h = jax.nn.sigmoid(x.reshape(2, -1) @ w + b)  # h = s(Wx + b)
    np.testing.assert_allclose(aux["code"], h, rtol=1e-6)
    np.testing.assert_allclose(logits.reshape(2, -1), h @ w.T + c, rtol=1e-5, atol=1e-6)
    z = model.apply({"params": params}, x, method="encode")
    np.testing.assert_allclose(model.apply({"params": params}, z, method="decode"), logits)
    _, tied = summarize(model, (28, 28, 1))
    untied = summarize(MLPAutoencoder((28, 28, 1), 32), (28, 28, 1))[1]
    assert (tied["total"], untied["total"]) == (25_904, 50_992)  # W + b + c vs 2W + b + c
    assert untied["total"] - tied["total"] == 784 * 32
    deep = TiedAutoencoder((8, 8, 1), 4, hidden_sizes=(16,))
    assert summarize(deep, (8, 8, 1))[1]["total"] == 64 * 16 + 16 * 4 + (16 + 4) + (16 + 64)


CONFIGS = {  # config -> the loss term its metrics must name (sparse_l1 and sparse_kl: below)
    "contractive_ae": "contractive", "denoising_conv_ae": "bce", "denoising_dense_mse": "mse",
    "inpainting_conv_ae": "bce", "tied_ae": "bce", "linear_ae": "mse",
}


def shrunk(name, **overrides):
    """Config `name` on 128 digits (64 held out), one epoch of batch 64, no TensorBoard."""
    config = importlib.import_module(f"configs.{name}").get_config()
    config.data.name = "digits"
    config.data.train_limit, config.data.test_limit = 128, 64
    config.num_epochs, config.batch_size = 1, 64
    config.progress_bar, config.tensorboard = False, False
    for key, value in overrides.items():
        set_field(config, key, value)
    return config


def assert_metrics_name(workdir, term, epochs=1):
    rows = [json.loads(line) for line in open(workdir / "metrics.jsonl")]
    assert [(r["epoch"], r["split"]) for r in rows] == [
        (e, s) for e in range(1, epochs + 1) for s in ("train", "test")]
    for row in rows:
        assert np.isfinite(row[term]) and np.isfinite(row["loss"]), row


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`trained(name)`: the workdir of the shrunk config `name`, trained once per module."""
    done = {}

    def get(name):
        if name not in done:
            done[name] = tmp_path_factory.mktemp(name)
            train_and_evaluate(shrunk(name), str(done[name]))
        return done[name]

    return get


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_trains_end_to_end(name, trained):
    assert_metrics_name(trained(name), CONFIGS[name])


def test_denoising_task_scores_output_and_noisy_input(trained):
    workdir = trained("denoising_dense_mse")
    run = ae_jax.load(str(workdir))
    # by default: the run's own noise first, then the others
    defaults = get_task("denoising").resolve({})
    assert _noise_names(run, defaults) == ["gaussian", "masking", "salt_and_pepper", "block"]
    result = get_task("denoising")(run, str(workdir), {"noise": "gaussian,block",
                                                       "num_images": 4})
    assert result["trained_with"] == "gaussian" and result["ssim_window"] == 7  # 8x8 digits
    assert list(result["noise"]) == ["gaussian", "block"]
    for scores in result["noise"].values():
        assert all(np.isfinite(v) for v in scores.values())
        assert scores["psnr_gain"] == pytest.approx(scores["psnr_output"] - scores["psnr_noisy"])
    assert np.isfinite(result["noise"]["block"]["psnr_filled"])  # output in the hole only
    assert (workdir / "denoising.png").exists()
    # options: other strengths than the run's own
    stronger = get_task("denoising")(run, str(workdir), {"noise": "gaussian", "stddev": 1.0})
    assert stronger["noise"]["gaussian"]["psnr_noisy"] < result["noise"]["gaussian"]["psnr_noisy"]


def _mean_code(state, model, x):
    code = model.apply({"params": state.nets["model"].params},
                       jnp.asarray(x, jnp.float32) / 255.0, method="encode")
    return float(jnp.mean(code))


@pytest.mark.parametrize("name, term, weight", [("sparse_l1", "l1_activity", 3e-3),
                                                ("sparse_kl", "kl_sparsity", 0.05)])
@pytest.mark.slow
def test_sparse_run_is_sparser_than_the_same_run_without_the_term(name, term, weight,
                                                                  tmp_path):
    # All of digits, 5 epochs. The configs' weights (1e-5, 1e-2) are sized for 784 pixels and
    # 50-100 epochs (their docstrings give the Fashion-MNIST numbers); larger weights show the
    # effect here. Weight 0 keeps the term in the metrics, so both runs report it.
    means = []
    for w in (0.0, weight):
        config = shrunk(name, num_epochs=5, batch_size=32, checkpoint_every_epochs=100,
                        **{"data.train_limit": 0, "data.test_limit": 0})
        config.loss.terms[term] = w
        state = train_and_evaluate(config, str(tmp_path / f"w{w}"))
        assert_metrics_name(tmp_path / f"w{w}", term, epochs=5)
        data = load_dataset(config.data)
        model = build_model(config.model, data.example_shape)
        means.append(_mean_code(state, model, data.test))
    off, on = means
    assert on < 0.6 * off, (off, on)
