"""MIG, FactorVAE score, DCI and SAP on synthetic codes whose disentanglement is known:

  perfect  z = v[:, PERM] + 0.05 eps: each factor index, permuted, plus a little noise
  mixed    perfect @ H, H the 4x4 Hadamard matrix / 2 (a rotation, det +1, all entries
           +-1/2): every factor in every code dimension, equally
  rotated  perfect @ Q, Q a seeded random rotation
  noise    z ~ N(0, I), independent of the factors
"""

import numpy as np
import pytest

from ae_jax.evaluation import disentanglement as dis

SIZES = (2, 3, 4, 4)
PERM = [2, 0, 3, 1]
HADAMARD = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]) / 2
ROTATION = np.linalg.qr(np.random.default_rng(7).normal(size=(4, 4)))[0]


def perfect(f, rng=None):
    rng = rng or np.random.default_rng(2)
    return f[:, PERM] + 0.05 * rng.normal(size=f.shape)


CODES = {
    "perfect": perfect,
    "mixed": lambda f: perfect(f) @ HADAMARD,
    "rotated": lambda f: perfect(f) @ ROTATION,
    "noise": lambda f: np.random.default_rng(3).normal(size=f.shape),
}


def _split(n_train, n_test=0, seed=0):
    rng = np.random.default_rng(seed)
    return (dis.uniform_factors(rng, SIZES, (n_train,)),
            dis.uniform_factors(rng, SIZES, (n_test,)))


def test_discretize_and_mutual_information():
    z = np.random.default_rng(0).normal(size=(500, 3))
    bins = dis.discretize(z, 20)
    assert bins.min(0).tolist() == [1] * 3 and bins.max(0).tolist() == [20] * 3
    f, _ = _split(1000)
    np.testing.assert_allclose(dis.factor_entropies(f), np.log(SIZES), atol=0.01)
    m = dis.mutual_information_matrix(dis.discretize(perfect(f)), f)  # (L, K)
    # every factor value falls in a bin of its own (spacing 1 > bin width 3/20 + noise), so
    # the discretised code determines its factor: I(z_j; v_k) = H(v_k), exactly
    np.testing.assert_allclose(m[np.argsort(PERM), range(4)], dis.factor_entropies(f),
                               atol=1e-12)


def test_mig():
    f, _ = _split(1000)
    scores = {name: dis.mig(fn(f), f) for name, fn in CODES.items()}
    # perfect: the gap is H(v_k) minus the plug-in MI of independent variables, whose bias is
    # about (n_j - 1)(n_k - 1) / (2 N) nats (< 0.005 here): MIG -> 1 as N grows
    assert scores["perfect"] > 0.98
    assert scores["rotated"] < scores["perfect"] - 0.2
    assert scores["mixed"] < 0.05 and scores["noise"] < 0.02


def test_factor_vae_score():
    kw = dict(num_train=500, num_eval=300, num_variance_estimate=1000)
    score = lambda fn: dis.factor_vae_score(fn, SIZES, np.random.default_rng(5), **kw)  # noqa: E731
    best = score(perfect)
    assert best == {"train_accuracy": 1.0, "eval_accuracy": 1.0, "num_active_dims": 4}
    mixed = score(CODES["mixed"])  # fixing one factor shrinks every dimension alike
    assert mixed["eval_accuracy"] < 0.5
    noise = score(CODES["noise"])  # chance: 1/K = 0.25, the majority vote a little more
    assert noise["eval_accuracy"] < 0.4
    # a collapsed extra dimension (std 0.01 < 0.05) is pruned and does not vote
    padded = lambda f: np.concatenate([perfect(f), 0.01 * np.ones((len(f), 1))], 1)  # noqa: E731
    assert score(padded) == best
    dead = score(lambda f: np.zeros((len(f), 3)))
    assert dead == {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}


def _dci(name, regressor, n=300):
    f_train, f_test = _split(n, n // 2)
    fn = CODES[name]
    return dis.dci(fn(f_train), f_train, fn(f_test), f_test, regressor=regressor)


def test_dci_gradient_boosting_perfect_and_mixed():
    best, mixed = _dci("perfect", "gbt"), _dci("mixed", "gbt")
    assert best["disentanglement"] > 0.99 and best["completeness"] > 0.99
    assert best["informativeness_test"] == 1.0
    assert mixed["disentanglement"] < 0.05 and mixed["completeness"] < 0.05
    assert mixed["informativeness_train"] == 1.0  # the information is all there, mixed


def test_dci_gradient_boosting_noise():
    noise = _dci("noise", "gbt")
    assert noise["disentanglement"] < 0.05 and noise["completeness"] < 0.05
    assert noise["informativeness_test"] < 0.45  # chance: 1 / n_k, 0.35 on average


def test_dci_lasso():
    scores = {name: _dci(name, "lasso", 1000) for name in ("perfect", "rotated", "mixed")}
    assert scores["perfect"]["disentanglement"] > 0.99
    assert scores["perfect"]["completeness"] > 0.99
    for name in ("rotated", "mixed"):
        for key in ("disentanglement", "completeness"):
            assert scores[name][key] < scores["perfect"][key] - 0.2
        assert scores[name]["informativeness_test"] > 0.99  # a rotation loses nothing
    with pytest.raises(ValueError, match="unknown DCI regressor"):
        dis.importance_matrix(np.zeros((4, 2)), np.zeros((4, 1), int), np.zeros((4, 2)),
                              np.zeros((4, 1), int), regressor="forest")


def test_dci_scores_of_importance_matrices():
    assert dis.dci_disentanglement(np.eye(3)) == pytest.approx(1.0)
    assert dis.dci_completeness(np.eye(3)) == pytest.approx(1.0)
    assert dis.dci_disentanglement(np.ones((3, 3))) == pytest.approx(0.0, abs=1e-9)
    assert dis.dci_completeness(np.zeros((3, 3))) == pytest.approx(0.0, abs=1e-9)
    # one code used for both factors: its D is 0 and the unused codes weigh nothing, so
    # D = 0; each factor is predicted by that code alone, so C = 1
    r = np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    assert dis.dci_disentanglement(r) == pytest.approx(0.0, abs=1e-9)
    assert dis.dci_completeness(r) == pytest.approx(1.0)
    # each code serves one factor (D = 1); factor 0 is split over two of the three codes:
    # C = 2/3 (1 - log_3 2) + 1/3 * 1
    r = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert dis.dci_disentanglement(r) == pytest.approx(1.0)
    assert dis.dci_completeness(r) == pytest.approx(2 / 3 * (1 - np.log(2) / np.log(3)) + 1 / 3)


def test_sap():
    f_train, f_test = _split(600, 300)
    scores = {name: dis.sap(fn(f_train), f_train, fn(f_test), f_test)
              for name, fn in CODES.items()}
    # a one-feature one-vs-rest LinearSVC separates only the outer classes well, so even a
    # perfect code scores below the bound mean_k (1 - 1 / n_k) = 0.67 (disentanglement_lib's
    # definition; dSprites' 32 positions score low too)
    assert 0.4 < scores["perfect"] < 0.67
    assert scores["rotated"] < scores["perfect"] - 0.1
    assert scores["mixed"] < 0.05 and scores["noise"] < 0.05
    cont = {name: dis.sap(fn(f_train), f_train, fn(f_test), f_test, continuous_factors=True)
            for name, fn in CODES.items()}
    assert cont["perfect"] > 0.95 and cont["rotated"] < cont["perfect"] - 0.1
    assert cont["mixed"] < 0.05 and cont["noise"] < 0.05
