"""Disentanglement scores of codes against known generative factors: MIG, the FactorVAE
score, DCI and SAP, as defined by disentanglement_lib (Locatello et al. 2019, "Challenging
common assumptions in the unsupervised learning of disentangled representations"), whose
estimators, defaults and thresholds these follow.

Inputs are arrays: codes (N, L) floats (e.g. the encoder's means), factors (N, K) integer
factor indices (e.g. `Dataset.extra["train_factors"]` of the `shapes` source). The FactorVAE
score needs batches with one factor held fixed, so it takes a function from factor indices
to codes instead (for a model: render or look up the images, then encode them). Every score
lies in [0, 1], higher meaning more disentangled (more informative, for DCI's
informativeness).

scikit-learn is imported inside the functions that fit its models (mutual_info_score,
GradientBoostingClassifier, Lasso, LinearSVC), so importing this module is cheap.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np

RepresentFn = Callable[[np.ndarray], np.ndarray]  # factor indices (B, K) -> codes (B, L)


# ---------------------------------------------------------------- MIG


def discretize(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Each code dimension binned into `num_bins` equal-width bins between its min and max:
    (N, L) -> (N, L) int bin numbers 1 .. num_bins (disentanglement_lib's
    `_histogram_discretize`: np.digitize on np.histogram's edges but the last)."""
    codes = np.asarray(codes, np.float64)
    out = np.empty(codes.shape, np.int64)
    for j in range(codes.shape[1]):
        edges = np.histogram(codes[:, j], num_bins)[1]  # (num_bins + 1,)
        out[:, j] = np.digitize(codes[:, j], edges[:-1])
    return out


def mutual_information_matrix(discrete_codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """I(z_j; v_k) in nats, (L, K), the plug-in estimate from the joint histogram of the
    discrete code j and factor k (sklearn.metrics.mutual_info_score)."""
    from sklearn.metrics import mutual_info_score

    num_codes, num_factors = discrete_codes.shape[1], factors.shape[1]
    return np.array([[mutual_info_score(factors[:, k], discrete_codes[:, j])
                      for k in range(num_factors)] for j in range(num_codes)])


def factor_entropies(factors: np.ndarray) -> np.ndarray:
    """H(v_k) = -sum_v p(v) log p(v) in nats of each factor's empirical distribution, (K,)."""
    ent = []
    for k in range(factors.shape[1]):
        p = np.unique(factors[:, k], return_counts=True)[1] / len(factors)
        ent.append(-np.sum(p * np.log(p)))
    return np.array(ent)


def mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> float:
    """Mutual Information Gap (Chen et al. 2018, "Isolating sources of disentanglement in
    VAEs"): with each code dimension discretised into `num_bins` histogram bins,

        MIG = (1/K) sum_k (I(z_{j_k}; v_k) - max_{j != j_k} I(z_j; v_k)) / H(v_k),

    j_k = argmax_j I(z_j; v_k). 1 when one code dimension determines each factor and no
    other dimension carries information about it; 0 when the two most informative
    dimensions carry the same. A factor of one value (H = 0) is an error."""
    factors = np.asarray(factors)
    if codes.shape[1] < 2:
        raise ValueError("MIG needs at least two code dimensions")
    entropy = factor_entropies(factors)  # (K,)
    if np.any(entropy == 0):
        raise ValueError(f"factors {np.flatnonzero(entropy == 0).tolist()} take one value")
    m = mutual_information_matrix(discretize(codes, num_bins), factors)  # (L, K)
    top = np.sort(m, axis=0)[::-1]  # (L, K), largest first
    return float(np.mean((top[0] - top[1]) / entropy))


# ---------------------------------------------------------------- FactorVAE score


def uniform_factors(rng: np.random.Generator, factor_sizes: Sequence[int],
                   shape: tuple[int, ...]) -> np.ndarray:
    """Independent uniform factor indices, `shape` + (K,) int64: v_k ~ U{0 .. size_k - 1}."""
    sizes = np.asarray(factor_sizes)
    return (rng.random((*shape, len(sizes))) * sizes).astype(np.int64)


def _represent(represent_fn: RepresentFn, factors: np.ndarray, chunk_size: int) -> np.ndarray:
    """represent_fn over (N, K) factors, `chunk_size` rows per call -> (N, L) float64."""
    return np.concatenate([np.asarray(represent_fn(factors[i:i + chunk_size]), np.float64)
                           for i in range(0, len(factors), chunk_size)])


def _factor_vae_votes(represent_fn: RepresentFn, factor_sizes: Sequence[int],
                      rng: np.random.Generator, num_points: int, batch_size: int,
                      global_variance: np.ndarray, active: np.ndarray,
                      chunk_size: int) -> np.ndarray:
    """votes[k, d] (K, D_active): of `num_points` batches, each of `batch_size` factor draws
    sharing one factor k (k uniform, its value drawn once), how many had code dimension d as
    argmin_d Var_batch(z_d) / Var_global(z_d) over the active dimensions."""
    num_factors = len(factor_sizes)
    votes = np.zeros((num_factors, int(active.sum())), np.int64)
    per_call = max(1, chunk_size // batch_size)  # batches per represent_fn call
    for start in range(0, num_points, per_call):
        n = min(per_call, num_points - start)
        fixed = rng.integers(num_factors, size=n)  # (n,) the factor held fixed per batch
        factors = uniform_factors(rng, factor_sizes, (n, batch_size))  # (n, B, K)
        rows = np.arange(n)
        factors[rows, :, fixed] = factors[rows, 0, fixed][:, None]
        codes = _represent(represent_fn, factors.reshape(n * batch_size, num_factors),
                           chunk_size)  # (n B, K) -> (n B, L)
        codes = codes.reshape(n, batch_size, -1)  # (n B, L) -> (n, B, L)
        local = np.var(codes, axis=1, ddof=1)  # (n, L)
        chosen = np.argmin(local[:, active] / global_variance[active], axis=1)  # (n,)
        np.add.at(votes, (fixed, chosen), 1)
    return votes


def factor_vae_score(represent_fn: RepresentFn, factor_sizes: Sequence[int],
                     rng: np.random.Generator, batch_size: int = 64, num_train: int = 10000,
                     num_eval: int = 5000, num_variance_estimate: int = 10000,
                     prune_threshold: float = 0.05, chunk_size: int = 8192) -> dict:
    """FactorVAE score (Kim & Mnih 2018, "Disentangling by factorising"), as
    disentanglement_lib's `compute_factor_vae`.

    Each code dimension d is scaled by its global standard deviation s_d, estimated from
    `num_variance_estimate` codes of uniform factor draws; dimensions with s_d < 0.05
    (`prune_threshold`) are dropped as collapsed. One vote: draw a factor k and a batch of
    `batch_size` factor draws that share k's value; the vote is (k, argmin_d Var_batch(z_d)
    / s_d^2). The majority-vote classifier maps each dimension d to argmax_k votes[k, d],
    trained on `num_train` votes; its accuracy sum_d votes[c(d), d] / sum votes is reported
    on those votes and on `num_eval` fresh ones. 1 when fixing any factor fixes exactly its
    own dimension; about 1/K (a little more: the majority of random votes) for codes that
    ignore the factors.

    Args:
      represent_fn: factor indices (B, K) int -> codes (B, L), called with up to
        `chunk_size` rows at a time.
      factor_sizes: the number of values of each factor, (K,).
      rng: the numpy generator every factor draw comes from.

    Returns:
      {"train_accuracy", "eval_accuracy", "num_active_dims"}; accuracies 0 when every
      dimension is collapsed (as disentanglement_lib).
    """
    factors = uniform_factors(rng, factor_sizes, (num_variance_estimate,))  # (N, K)
    global_variance = np.var(_represent(represent_fn, factors, chunk_size), axis=0, ddof=1)
    active = np.sqrt(global_variance) >= prune_threshold  # (L,)
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    votes = lambda n: _factor_vae_votes(represent_fn, factor_sizes, rng, n, batch_size,  # noqa: E731
                                        global_variance, active, chunk_size)
    train, evaluation = votes(num_train), votes(num_eval)  # (K, D_active) each
    classifier = np.argmax(train, axis=0)  # (D_active,) the factor each dimension stands for
    dims = np.arange(train.shape[1])
    accuracy = lambda v: float(v[classifier, dims].sum() / v.sum())  # noqa: E731
    return {"train_accuracy": accuracy(train), "eval_accuracy": accuracy(evaluation),
            "num_active_dims": int(active.sum())}


# ---------------------------------------------------------------- DCI


def _importance_gbt(codes_train, factors_train, codes_test, factors_test, seed: int):
    """R[j, k] = GradientBoostingClassifier (scikit-learn defaults, as disentanglement_lib)
    feature importance of code j for factor k; informativeness = its accuracy."""
    from sklearn.ensemble import GradientBoostingClassifier

    num_factors = factors_train.shape[1]
    importance = np.zeros((codes_train.shape[1], num_factors))
    train_acc, test_acc = [], []
    for k in range(num_factors):
        model = GradientBoostingClassifier(random_state=seed)
        model.fit(codes_train, factors_train[:, k])
        importance[:, k] = np.abs(model.feature_importances_)
        train_acc.append(np.mean(model.predict(codes_train) == factors_train[:, k]))
        test_acc.append(np.mean(model.predict(codes_test) == factors_test[:, k]))
    return importance, float(np.mean(train_acc)), float(np.mean(test_acc))


def _importance_lasso(codes_train, factors_train, codes_test, factors_test, alpha: float):
    """R[j, k] = |w_jk| of a Lasso regression (Eastwood & Williams' linear regressor) of the
    standardised factor k on the standardised codes; informativeness = its R^2 (1 -
    NRMSE^2: 1 perfect, 0 no better than the mean)."""
    from sklearn.linear_model import Lasso

    mean, std = codes_train.mean(0), np.maximum(codes_train.std(0), 1e-12)
    z_train, z_test = (codes_train - mean) / std, (codes_test - mean) / std
    fmean, fstd = factors_train.mean(0), np.maximum(factors_train.std(0), 1e-12)
    y_train = (factors_train - fmean) / fstd  # (N, K)
    y_test = (factors_test - fmean) / fstd
    num_factors = factors_train.shape[1]
    importance = np.zeros((codes_train.shape[1], num_factors))
    train_r2, test_r2 = [], []
    for k in range(num_factors):
        model = Lasso(alpha=alpha).fit(z_train, y_train[:, k])
        importance[:, k] = np.abs(model.coef_)
        train_r2.append(model.score(z_train, y_train[:, k]))
        test_r2.append(model.score(z_test, y_test[:, k]))
    return importance, float(np.mean(train_r2)), float(np.mean(test_r2))


def _one_minus_entropy(p: np.ndarray, base: int) -> np.ndarray:
    """1 - H_base(p / sum p) of each column of p (scipy.stats.entropy's normalisation, with
    disentanglement_lib's 1e-11 added so an all-zero column counts as uniform)."""
    p = p + 1e-11
    p = p / p.sum(axis=0, keepdims=True)
    return 1.0 + np.sum(p * np.log(p), axis=0) / np.log(base)


def dci_disentanglement(importance: np.ndarray) -> float:
    """D = sum_j rho_j (1 - H_K(P_j.)), P_jk = R_jk / sum_k R_jk the importance of code j
    spread over the K factors, rho_j = sum_k R_jk / sum R its share (Eastwood & Williams
    2018, "A framework for the quantitative evaluation of disentangled representations")."""
    per_code = _one_minus_entropy(importance.T, importance.shape[1])  # (L,)
    if importance.sum() == 0:
        importance = np.ones_like(importance)
    weight = importance.sum(axis=1) / importance.sum()  # (L,)
    return float(np.sum(per_code * weight))


def dci_completeness(importance: np.ndarray) -> float:
    """C = sum_k rho_k (1 - H_L(P_.k)), P_jk = R_jk / sum_j R_jk how factor k's importance
    is spread over the L codes, rho_k = sum_j R_jk / sum R."""
    per_factor = _one_minus_entropy(importance, importance.shape[0])  # (K,)
    if importance.sum() == 0:
        importance = np.ones_like(importance)
    weight = importance.sum(axis=0) / importance.sum()  # (K,)
    return float(np.sum(per_factor * weight))


def importance_matrix(codes_train: np.ndarray, factors_train: np.ndarray,
                      codes_test: np.ndarray, factors_test: np.ndarray,
                      regressor: str = "gbt", lasso_alpha: float = 0.01, seed: int = 0
                      ) -> tuple[np.ndarray, float, float]:
    """(R (L, K), informativeness on train, on test): R[j, k] >= 0 how much code j is used
    to predict factor k, one model per factor.

    regressor "gbt": gradient-boosted trees classifying the factor index (disentanglement_lib;
    informativeness = accuracy). "lasso": L1-regularised linear regression of the
    standardised factor index on standardised codes with penalty `lasso_alpha` (much faster;
    informativeness = R^2)."""
    args = (np.asarray(codes_train, np.float64), np.asarray(factors_train),
            np.asarray(codes_test, np.float64), np.asarray(factors_test))
    if regressor == "gbt":
        return _importance_gbt(*args, seed)
    if regressor == "lasso":
        return _importance_lasso(*args, lasso_alpha)
    raise ValueError(f"unknown DCI regressor {regressor!r}; known: gbt, lasso")


def dci(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray,
        factors_test: np.ndarray, regressor: str = "gbt", lasso_alpha: float = 0.01,
        seed: int = 0) -> dict:
    """DCI (Eastwood & Williams 2018) as disentanglement_lib's `compute_dci`:
    {"disentanglement", "completeness", "informativeness_train", "informativeness_test"}
    from `importance_matrix` (its docstring: the regressors and what informativeness is)."""
    importance, info_train, info_test = importance_matrix(
        codes_train, factors_train, codes_test, factors_test, regressor, lasso_alpha, seed)
    return {"disentanglement": dci_disentanglement(importance),
            "completeness": dci_completeness(importance),
            "informativeness_train": info_train, "informativeness_test": info_test}


# ---------------------------------------------------------------- SAP


def sap_score_matrix(codes_train: np.ndarray, factors_train: np.ndarray,
                     codes_test: np.ndarray, factors_test: np.ndarray,
                     continuous_factors: bool = False) -> np.ndarray:
    """S[j, k] (L, K): how well code j alone predicts factor k.

    Discrete factors (disentanglement_lib's default): the test accuracy of a LinearSVC
    (C = 0.01, balanced class weights, one-vs-rest) on the single feature z_j. Continuous:
    the squared correlation Cov(z_j, v_k)^2 / (Var z_j Var v_k) on the training split (0 for
    a constant code)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    codes_train = np.asarray(codes_train, np.float64)
    codes_test = np.asarray(codes_test, np.float64)
    num_codes, num_factors = codes_train.shape[1], factors_train.shape[1]
    score = np.zeros((num_codes, num_factors))
    for j in range(num_codes):
        for k in range(num_factors):
            if continuous_factors:
                cov = np.cov(codes_train[:, j], factors_train[:, k], ddof=1)  # (2, 2)
                if cov[0, 0] > 1e-12:
                    score[j, k] = cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1])
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                svm = LinearSVC(C=0.01, class_weight="balanced")
                svm.fit(codes_train[:, j:j + 1], factors_train[:, k])  # (N, 1) one feature
            score[j, k] = np.mean(svm.predict(codes_test[:, j:j + 1]) == factors_test[:, k])
    return score


def sap(codes_train: np.ndarray, factors_train: np.ndarray, codes_test: np.ndarray,
        factors_test: np.ndarray, continuous_factors: bool = False) -> float:
    """Separated Attribute Predictability (Kumar et al. 2018, "Variational inference of
    disentangled latent concepts from unlabeled observations"):

        SAP = (1/K) sum_k (S_(1)k - S_(2)k),

    S_(1)k >= S_(2)k the two largest entries of column k of `sap_score_matrix`: how much
    better the best single code dimension predicts factor k than the runner-up."""
    if np.asarray(codes_train).shape[1] < 2:
        raise ValueError("SAP needs at least two code dimensions")
    s = sap_score_matrix(codes_train, factors_train, codes_test, factors_test,
                         continuous_factors)
    top = np.sort(s, axis=0)[::-1]  # (L, K), largest first
    return float(np.mean(top[0] - top[1]))
