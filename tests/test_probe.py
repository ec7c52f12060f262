"""The on-device linear probe (ae_jax/evaluation/probe.py) against scikit-learn, and the
representation task's default (probe "optax") on a tiny trained digits workdir."""

import logging
import os

import numpy as np
import pytest

import ae_jax
from ae_jax.engine import train_and_evaluate
from ae_jax.evaluation import get_task
from ae_jax.evaluation.options import OptionError
from ae_jax.evaluation.probe import fit_logistic_regression, logistic_objective, standardiser
from tests.conftest import digits_config


def _sklearn_objective(w, b, x, y, c):
    """scikit-learn's own form, C * sum_i CE_i + 0.5 ||W||^2, through its log_loss."""
    from sklearn.metrics import log_loss

    logits = x @ w + b
    proba = np.exp(logits - logits.max(1, keepdims=True))
    proba /= proba.sum(1, keepdims=True)
    return c * log_loss(y, proba, normalize=False, labels=np.arange(w.shape[1])) + \
        0.5 * np.sum(w ** 2)


def test_probe_matches_sklearn_on_digits():
    """sklearn's digits (64 pixels, 10 classes), C = 1: the same test accuracy (within 0.01)
    and the same optimum of the objective (within 1e-3 relative, both weights scored by both
    forms of the objective)."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]
    c = 1.0

    probe = fit_logistic_regression(x_train, y_train, c=c)
    assert probe.converged and 0 < probe.iterations < 1000
    mean, std = standardiser(x_train)
    z_train, z_test = (x_train - mean) / std, (x_test - mean) / std
    sk = LogisticRegression(C=c, max_iter=1000).fit(z_train, y_train)

    assert abs(probe.score(x_test, y_test) - sk.score(z_test, y_test)) <= 0.01
    assert probe.score(x_test, y_test) > 0.9
    ours = logistic_objective(probe.w, probe.b, x_train, y_train, c)
    theirs = logistic_objective(sk.coef_.T, sk.intercept_, x_train, y_train, c)
    assert abs(ours - theirs) <= 1e-3 * theirs, (ours, theirs)
    # the same two points under scikit-learn's scaling: C N f (module docstring)
    ours_sk = _sklearn_objective(probe.w.astype(np.float64), probe.b, z_train, y_train, c)
    theirs_sk = _sklearn_objective(sk.coef_.T, sk.intercept_, z_train, y_train, c)
    assert ours_sk == pytest.approx(c * len(x_train) * ours, rel=1e-6)
    assert theirs_sk == pytest.approx(c * len(x_train) * theirs, rel=1e-6)
    assert abs(ours_sk - theirs_sk) <= 1e-3 * theirs_sk


def test_probe_keeps_a_constant_feature_at_zero_and_stops_at_max_iter():
    r = np.random.default_rng(1)
    x = np.concatenate([r.normal(size=(200, 3)), np.full((200, 1), 7.0)], axis=1)
    y = (x[:, 0] + 0.3 * r.normal(size=200) > 0).astype(int)
    probe = fit_logistic_regression(x, y, c=1.0)
    assert probe.std[3] == 1.0 and np.all(probe.w[3] == 0)  # standardised to 0: no gradient
    assert probe.score(x, y) > 0.8
    capped = fit_logistic_regression(x, y, c=1.0, max_iter=2)
    assert capped.iterations == 2 and not capped.converged


@pytest.fixture(scope="module")
def digits_workdir(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("probe_digits"))
    train_and_evaluate(digits_config(num_epochs=2, plot_every_epochs=0), workdir)
    return workdir


def _representation(workdir, **options):
    out_dir = os.path.join(workdir, "eval")
    os.makedirs(out_dir, exist_ok=True)
    return get_task("representation")(ae_jax.load(workdir), out_dir, options)


def test_representation_default_uses_the_device_probe(digits_workdir, caplog):
    with caplog.at_level(logging.INFO):
        result = _representation(digits_workdir)
    assert result["probe"] == "optax"
    assert result["probe_train_examples"] == result["knn_gallery"] == 1438
    assert result["pixel_probe_train_examples"] == 1438  # under the default 10,000
    for name in ("ae", "pixels", "pca_8"):
        entry = result[name]
        assert 0.0 <= entry["knn_5"] <= 1.0 and 0.0 <= entry["linear_probe"] <= 1.0, name
        assert entry["linear_probe_iterations"] > 0 and entry["linear_probe_converged"]
        assert entry["linear_probe_train_examples"] == 1438
    assert result["pixels"]["linear_probe"] > 0.9  # digits' pixels: nearly separable
    lines = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("representation: kNN on ae codes (359 queries") and
               m.endswith(" s") for m in lines), lines
    assert any(m.startswith("representation: linear probe (optax) on pixels") and
               m.endswith(" s") for m in lines), lines


def test_pixel_probe_limit_defaults_by_probe_and_takes_the_smaller_limit():
    from ae_jax.evaluation.representation import pixel_probe_limit

    def limit(**o):
        return pixel_probe_limit({"probe": "optax", "pixel_train_limit": -1,
                                  "probe_train_limit": 0, **o})

    assert limit() == 10000 and limit(probe="sklearn") == 0  # sklearn: the full protocol
    assert limit(pixel_train_limit=0) == 0 and limit(probe_train_limit=500) == 500
    assert limit(pixel_train_limit=300, probe_train_limit=500) == 300


def test_representation_sklearn_probe_agrees_and_unknown_probe_is_refused(digits_workdir):
    kw = dict(baselines=False)
    optax_result, sklearn_result = (_representation(digits_workdir, probe=p, **kw)
                                    for p in ("optax", "sklearn"))
    assert sklearn_result["probe"] == "sklearn"
    assert optax_result["ae"]["knn_5"] == sklearn_result["ae"]["knn_5"]
    assert abs(optax_result["ae"]["linear_probe"] - sklearn_result["ae"]["linear_probe"]) <= 0.02
    with pytest.raises(OptionError, match="must be one of optax, sklearn"):
        _representation(digits_workdir, probe="adam")
    limited = _representation(digits_workdir, pixel_train_limit=500)
    assert limited["pixel_probe_train_examples"] == limited["pixels"][
        "linear_probe_train_examples"] == 500
    assert limited["ae"]["linear_probe_train_examples"] == 1438
