"""PCA as a model, the linear AE that converges to its subspace, and the K-curve command."""

import importlib.util
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
import scipy.linalg
from sklearn.decomposition import PCA as SkPCA

from ae_jax.data import load_dataset, to_float
from ae_jax.families import build_family
from ae_jax.models import build_model
from ae_jax.models.pca import fit_pca
from ae_jax.objectives import make_objective
from configs import default
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def digits():
    return load_dataset(default.get_config().data)  # digits


def test_fit_pca_matches_scikit_learn(digits):
    x = to_float(digits.train)
    params, variance = fit_pca(x, 8)
    sk = SkPCA(8).fit(x.reshape(len(x), -1))
    np.testing.assert_allclose(params["basis"]["components"].T, sk.components_, atol=2e-4)
    np.testing.assert_allclose(variance[:8], sk.explained_variance_, rtol=1e-4)
    # fewer examples than dimensions: the thin SVD of the data itself
    few, _ = fit_pca(x[:20], 3)
    sk_few = SkPCA(3).fit(x[:20].reshape(20, -1))
    np.testing.assert_allclose(few["basis"]["components"].T, sk_few.components_, atol=2e-4)


def test_pca_model_has_the_autoencoder_interface(digits):
    config = ml_collections.ConfigDict(dict(name="pca", latent_dim=8))
    model = build_model(config, digits.example_shape)
    assert model.output_activation == "linear"
    x = jnp.asarray(to_float(digits.test))
    params, _ = fit_pca(to_float(digits.train), 8)
    x_hat, aux = model.apply({"params": params}, x)
    z = model.apply({"params": params}, x, method="encode")
    assert z.shape == (len(x), 8) and x_hat.shape == x.shape
    np.testing.assert_allclose(aux["code"], z)
    np.testing.assert_allclose(model.apply({"params": params}, z, method="decode"), x_hat)
    sk = SkPCA(8).fit(to_float(digits.train).reshape(len(digits.train), -1))
    flat = np.asarray(x).reshape(len(x), -1)
    np.testing.assert_allclose(np.asarray(x_hat).reshape(len(x), -1),
                               sk.inverse_transform(sk.transform(flat)), atol=2e-4)
    # the same module initialises and trains like any model (a tied linear AE)
    init = model.init(jax.random.PRNGKey(0), x[:2])["params"]
    assert jax.tree_util.tree_map(jnp.shape, init) == {
        "basis": {"mean": (64,), "components": (64, 8)}}


def test_linear_ae_trained_with_mse_spans_the_pca_subspace(digits):
    """configs/linear_ae.py on digits, K = 4 (eigenvalues 0.398 | 0.265 either side of the
    cut), full-batch Adam for 1,000 steps with the project's train step: the decoder's
    columns span the top-4 principal subspace to a fraction of a degree."""
    config = importlib.import_module("configs.linear_ae").get_config()
    config.model.latent_dim = 4
    config.optimizer.learning_rate = 3e-2
    config.num_epochs = 1
    family = build_family(config, digits.example_shape, 1000)  # 1,000 steps in one epoch
    state = family.init(0)
    data = jnp.asarray(digits.train.reshape(len(digits.train), -1))  # (N, 64) uint8

    @jax.jit
    def train(state, data):
        return jax.lax.scan(lambda s, _: family.train_step(s, data), state, None, length=1000)

    state, metrics = train(state, data)
    params = state.nets["model"].params
    decoder = np.asarray(params["decoder"]["output"]["kernel"]).T  # (K, D) -> (D, K)
    params, _ = fit_pca(to_float(digits.train), 4)
    pca_basis = np.asarray(params["basis"]["components"])  # (D, K)
    angles = np.degrees(scipy.linalg.subspace_angles(decoder, pca_basis))
    assert angles.max() < 1.0, angles
    # and its training MSE reaches PCA's, the least any rank-4 affine map can have
    x = jnp.asarray(to_float(digits.train))
    pca_model = build_model(ml_collections.ConfigDict(dict(name="pca", latent_dim=4)),
                            digits.example_shape)
    pca_mse = float(jnp.mean(jnp.square(pca_model.apply({"params": params}, x)[0] - x)))
    assert pca_mse <= float(metrics["mse"][-1]) < 1.001 * pca_mse


def test_k_curve_command_writes_table_json_and_plot(tmp_path, monkeypatch):
    path = os.path.join(ROOT, "benchmarks", "pca_k_curve.py")
    spec = importlib.util.spec_from_file_location("pca_k_curve", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for kind in ("linear", "nonlinear"):  # the two autoencoders it trains are valid configs
        config = module.ae_config(kind, 2, "digits", 1, 0)
        model = build_model(config.model, (8, 8, 1))
        make_objective(config.loss, model.output_activation)
        assert model.latent_dim == 2 and model.latent_activation == "linear"
    # training is train.py's (tested elsewhere); here a stand-in error keeps the test fast
    monkeypatch.setattr(module, "ae_error", lambda kind, k, *a: {"linear": 0.5}.get(kind, 0.25))
    rows = module.k_curve(str(tmp_path), ks=(2, 4), num_epochs=1, data="digits")
    assert [(r["K"], r["ratio"]) for r in rows] == [(2, 32.0), (4, 16.0)]
    assert rows[0]["pca"] > rows[1]["pca"] > 0  # more components, less error
    for name in ("k_curve.md", "k_curve.json", "k_curve.png"):
        assert (tmp_path / name).exists()
    assert "| 4 | 16.0 |" in (tmp_path / "k_curve.md").read_text()
