"""Task `anomaly`: one-class anomaly detection by scores of models trained on normal data.

The model is trained on normal data only; `--option=score=...` says how an example x is
scored (higher: more anomalous). Base scores:

  objective         the run's per-example training objective (reconstruction error, or the
                    negative ELBO for a VAE); the default.
  mse               mean_i (x_i - x_hat_i)^2, the squared error of the reconstruction.
  ssim              1 - SSIM(x_hat, x), the structural similarity of ae_jax.image_metrics.ssim
                    (11 x 11 Gaussian window, sigma 1.5; the largest odd one that fits
                    smaller images).
  code_knn          (1/k) sum_{j <= k} ||z(x) - z_(j)||, the mean Euclidean distance from the
                    code z(x) = run.encode(x) to its k nearest codes z_(j) of the run's normal
                    training examples (k = option `k`, 5).
  code_mahalanobis  (z - mu)^T (Sigma + lambda I)^-1 (z - mu), mu and Sigma the mean and
                    covariance of the training codes, lambda = 1e-3 * tr(Sigma) / K (K the
                    code size) so that dead code units leave it finite.
  pixel_knn         code_knn on the raw pixels instead of codes (the kNN baseline of
                    anomaly_baselines; not an autoencoder score, for hybrids such as
                    mse+pixel_knn).

A kNN score of a training example leaves the example itself out (its k nearest among the
other training examples), so training scores are those of unseen normal data.

Combined scores: `score=a+b+...` is the mean of the components' z-scores,

    s(x) = (1/M) sum_m (s_m(x) - mean_m) / std_m,

with mean_m and std_m of component m over the run's normal TRAINING examples only: the
test split (and its labels) never enters the normalisation.

Ensembles (`ensemble=mean`, the default): runs whose normal classes are the same (a
one-class workdir whose data.one_class repeats a class, e.g. configs/anomaly_fmnist_
ensemble.py, or several seeds of one normal_classes workdir) form one detector whose score
is the mean of its members' scores, s(x) = (1/S) sum_r s_r(x) (each member's combined score
normalised by its own training statistics); its row also lists each member's AUROC.
`ensemble=none` reports every run alone.

Choosing the score honestly (`score=select`): every candidate of SELECTION_CANDIDATES (the
four autoencoder base scores mse, ssim, code_knn, code_mahalanobis and their six pairs) is
computed, and the one with the highest mean AUROC over the detectors on a random half of the
test split (the selection half, the validation half of `validation_f1` below) is chosen. The
result then reports, under "selection", every candidate's mean AUROC on both halves and the
chosen score's on the other half (the evaluation half), which no choice has seen: that is the
figure to quote. The rows below it are the chosen score's on the whole test split.

On the test split

    AUROC = P(score(anomaly) > score(normal))   (ties count 1/2; metrics.auroc)

and alerts `score > t` are scored by precision, recall and F1 at two thresholds:
  train_quantile   t = the `quantile` (0.95) of the scores of the run's training examples,
                   i.e. about 5% false alarms on normal data; no anomaly is needed to set it.
  validation_f1    t maximises F1 on a random half of the test split (a labelled validation
                   set); precision / recall / F1 are reported on the other half.

Which test examples are normal: for a one-class workdir (`data.one_class`, one class per
vmapped run) run r's class one_class[r]; otherwise `--option=normal_classes=[...]` or the
config's `data.normal_classes` (the CSV source trains on those rows only). The one-class
protocol on Fashion-MNIST reports the AUROC of each class's detector and their mean.

    python evaluate.py --workdir=runs/anomaly_fmnist --task=anomaly
    python evaluate.py --workdir=runs/anomaly_fmnist --task=anomaly --option=score=mse+code_knn
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from ae_jax import viz
from ae_jax.data import to_float
from ae_jax.data.csv_source import class_indices
from ae_jax.evaluation import task
from ae_jax.evaluation.metrics import auroc, precision_recall_f1, quantile_threshold
from ae_jax.evaluation.options import Option
from ae_jax.evaluation.retrieval import RUNS, runs_to_evaluate

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RECONSTRUCTION_SCORES = ("objective", "mse", "ssim")
CODE_SCORES = ("code_knn", "code_mahalanobis")
SCORES = (*RECONSTRUCTION_SCORES, *CODE_SCORES, "pixel_knn")
ENSEMBLES = ("mean", "none")
AE_SCORES = ("mse", "ssim", "code_knn", "code_mahalanobis")
SELECTION_CANDIDATES = (*AE_SCORES, *(f"{a}+{b}" for i, a in enumerate(AE_SCORES)
                                      for b in AE_SCORES[i + 1:]))
MAHALANOBIS_RIDGE = 1e-3  # lambda / (tr(Sigma) / K), fixed in advance

NORMAL_CLASSES = Option("normal_classes", None, "the classes (names or label indices) that are "
                        "normal, for a workdir without data.one_class (default: the config's "
                        "data.normal_classes)", kind="list")
K = Option("k", 5, "neighbours whose mean distance is a kNN score")


def normal_classes(run, run_index: int, options: dict) -> list[int]:
    """The label indices that count as normal for run `run_index` (see module docstring;
    option `normal_classes`, NORMAL_CLASSES)."""
    one_class = tuple(run.config.data.one_class)
    if one_class:
        return [int(one_class[run_index])]
    names = options["normal_classes"] or run.config.data.normal_classes
    if not names:
        raise ValueError("task 'anomaly' needs to know which classes are normal: train with "
                         "data.one_class, or pass --option='normal_classes=[0]'")
    return class_indices(list(np.ravel(names)), run.dataset.class_names)


def score_components(score: str) -> list[str]:
    """The base scores of `score` ("mse", or a combination "mse+code_knn"; "select": every
    base score of SELECTION_CANDIDATES)."""
    if score == "select":
        return list(AE_SCORES)
    parts = [p.strip() for p in str(score).split("+")]
    unknown = [p for p in parts if p not in SCORES]
    if unknown:
        raise ValueError(f"unknown anomaly score(s) {unknown} in {score!r}: use one of "
                         f"{', '.join(SCORES)}, or several joined by '+'")
    return parts


def knn_scores(train: np.ndarray, test: np.ndarray | None = None, k: int = 5,
               chunk: int = 1000) -> np.ndarray:
    """Mean distance of each test row to its k nearest training rows, by
    ||a||^2 - 2 a.b + ||b||^2; with test None, of each training row to its k nearest
    OTHER training rows (leave-one-out: its own zero distance is dropped)."""
    query, skip = (train, 1) if test is None else (test, 0)
    train_sq = np.sum(np.square(train), 1)
    out = []
    for start in range(0, len(query), chunk):
        part = query[start:start + chunk]
        d2 = np.sum(np.square(part), 1)[:, None] - 2.0 * part @ train.T + train_sq[None]
        nearest = np.partition(np.maximum(d2, 0.0), k - 1 + skip, axis=1)[:, :k + skip]
        nearest = np.sort(nearest, axis=1)[:, skip:]
        out.append(np.sqrt(nearest).mean(1))
    return np.concatenate(out)


def mahalanobis_scores(train: np.ndarray, test: np.ndarray,
                       ridge: float = MAHALANOBIS_RIDGE) -> np.ndarray:
    """(z - mu)^T (Sigma + lambda I)^-1 (z - mu) of each test row, mu and Sigma of the
    training rows (N, K), lambda = ridge * tr(Sigma) / K (module docstring)."""
    mu = train.mean(0)
    cov = np.atleast_2d(np.cov(train - mu, rowvar=False))
    lam = ridge * max(np.trace(cov) / len(cov), 1e-12)
    precision = np.linalg.inv(cov + lam * np.eye(len(cov)))
    d = test - mu
    return np.einsum("nk,kl,nl->n", d, precision, d)


def ssim_scores(x: np.ndarray, reference: np.ndarray, batch: int = 1000) -> np.ndarray:
    """ae_jax.image_metrics.ssim of (N, H, W, C) images against their references, with the
    largest odd window up to 11 that fits, in batches on the device; (N,)."""
    from ae_jax.image_metrics import largest_window, ssim

    size = largest_window(x.shape[1], x.shape[2])
    compiled = jax.jit(ssim, static_argnames="window_size")  # one program per batch shape
    out = [compiled(jnp.asarray(x[i:i + batch]), jnp.asarray(reference[i:i + batch]),
                    window_size=size) for i in range(0, len(x), batch)]
    return np.concatenate([np.asarray(v) for v in out])


def reconstruction_scores(run, x: np.ndarray, score: str = "objective") -> np.ndarray:
    """Per-example scores (N,): the run's objective, "mse" or "ssim" of its reconstruction."""
    if score == "objective":
        return run.score(x)
    x_hat, target = run.reconstruct(x), to_float(x)
    if score == "mse":
        return np.square(x_hat - target).reshape(len(x), -1).mean(axis=1)  # (N, ...) -> (N,)
    if score == "ssim":
        return 1.0 - ssim_scores(x_hat, target)
    raise ValueError(f"unknown reconstruction score {score!r}: use one of "
                     f"{', '.join(RECONSTRUCTION_SCORES)}")


def component_scores(run, name: str, train_x, test_x, k: int = 5):
    """(training scores, test scores) of base score `name` (module docstring)."""
    if name in RECONSTRUCTION_SCORES:
        return reconstruction_scores(run, train_x, name), reconstruction_scores(run, test_x, name)
    if name == "pixel_knn":
        a, b = (to_float(v).reshape(len(v), -1) for v in (train_x, test_x))
        return knn_scores(a, None, k), knn_scores(a, b, k)
    z_train = run.encode(train_x).astype(np.float64)
    z_test = run.encode(test_x).astype(np.float64)
    if name == "code_knn":
        return knn_scores(z_train, None, k), knn_scores(z_train, z_test, k)
    return mahalanobis_scores(z_train, z_train), mahalanobis_scores(z_train, z_test)


def standardised_mean(pairs):
    """Mean over components of z-scores with the TRAINING scores' mean and std:
    [(train_m, test_m)] -> (train, test)."""
    out_train, out_test = 0.0, 0.0
    for train_s, test_s in pairs:
        mu, sd = float(np.mean(train_s)), float(np.std(train_s))
        sd = sd if sd > 0 else 1.0
        out_train = out_train + (train_s - mu) / sd
        out_test = out_test + (test_s - mu) / sd
    return out_train / len(pairs), out_test / len(pairs)


def detector_scores(run, score: str, train_x, test_x, k: int = 5, cache: dict | None = None):
    """(training scores, test scores) of one run under `score` (a base score or a
    '+'-combination: standardised_mean of its components). `cache`, a dict kept by the
    caller, holds each component of each run once when several scores share it."""
    cache = {} if cache is None else cache

    def component(name):
        if (id(run), name) not in cache:
            cache[id(run), name] = component_scores(run, name, train_x, test_x, k)
        return cache[id(run), name]

    pairs = [component(name) for name in score_components(score)]
    return pairs[0] if len(pairs) == 1 else standardised_mean(pairs)


def ensemble_mean(pairs):
    """The ensemble of members [(train_r, test_r)]: the mean of their scores."""
    return np.mean([p[0] for p in pairs], axis=0), np.mean([p[1] for p in pairs], axis=0)


def detector_groups(members, ensemble: str = "mean"):
    """[(r, run, normal)] -> groups of members that form one detector: those with the same
    normal classes (ensemble "mean"), or each member alone ("none")."""
    if ensemble not in ENSEMBLES:
        raise ValueError(f"unknown ensemble {ensemble!r}: use {' or '.join(ENSEMBLES)}")
    if ensemble == "none":
        return [[m] for m in members]
    groups: dict[tuple, list] = {}
    for m in members:
        groups.setdefault(tuple(m[2]), []).append(m)
    return list(groups.values())


def best_f1_threshold(scores, is_anomaly) -> float:
    """The threshold among the observed scores that maximises F1 of `score > t`."""
    order = np.argsort(-np.asarray(scores))
    s, y = np.asarray(scores)[order], np.asarray(is_anomaly, bool)[order]
    tp = np.cumsum(y)  # alerts = the i + 1 highest scores
    f1 = 2 * tp / (np.arange(1, len(s) + 1) + y.sum())
    last = np.r_[s[1:] != s[:-1], True]  # only cut between distinct scores
    i = int(np.argmax(np.where(last, f1, -1.0)))
    return float((s[i] + s[i + 1]) / 2) if i + 1 < len(s) else float(s[i] - 1e-6)


def detection_report(train_scores, test_scores, is_anomaly, quantile: float = 0.95,
                     seed: int = 0) -> dict:
    """AUROC and alerts at the train-quantile and validation-F1 thresholds (module doc)."""
    is_anomaly = np.asarray(is_anomaly, bool)
    out = {"auroc": auroc(test_scores, is_anomaly),
           "num_test_normal": int((~is_anomaly).sum()),
           "num_test_anomalous": int(is_anomaly.sum()),
           "train_quantile": {"quantile": quantile, **precision_recall_f1(
               test_scores, is_anomaly, quantile_threshold(train_scores, quantile))}}
    half = selection_half(len(test_scores), seed)
    t = best_f1_threshold(test_scores[half], is_anomaly[half])
    out["validation_f1"] = {"validation_examples": int(half.sum()),
                            **precision_recall_f1(test_scores[~half], is_anomaly[~half], t)}
    return out


def score_histograms(panels: list[dict], title: str) -> Figure:
    """Histograms of normal vs anomalous test scores, one panel per run, with the
    train-quantile threshold as a line. Each panel: name, normal, anomalous, threshold."""
    cols = min(5, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = viz.pyplot().subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, p in zip(axes.flat, panels, strict=False):
        bins = np.histogram_bin_edges(np.r_[p["normal"], p["anomalous"]], bins=50)
        ax.hist(p["normal"], bins, alpha=0.6, density=True, label="normal")
        ax.hist(p["anomalous"], bins, alpha=0.6, density=True, label="anomalous")
        ax.axvline(p["threshold"], color="k", lw=1, ls="--", label="threshold")
        ax.set_title(p["name"], fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _train_examples(ds, normal):
    """The normal training examples (all of them when the split has no labels)."""
    return ds.train if ds.train_labels is None else ds.train[np.isin(ds.train_labels, normal)]


def selection_half(num_test: int, seed: int = 0) -> np.ndarray:
    """The random half of the test split (bool mask) on which `score=select` chooses and
    `validation_f1` sets its threshold; the other half is never used to choose."""
    return np.random.default_rng(seed).permutation(num_test) < num_test // 2


def evaluate_detector(group, options: dict, cache: dict | None = None
                      ) -> tuple[dict, np.ndarray, np.ndarray]:
    """(report row, test scores, is_anomaly) of one detector: a group [(r, run, normal)]
    of runs with the same normal classes, scored by the mean of their scores."""
    ds, normal = group[0][1].dataset, group[0][2]
    train_x = _train_examples(ds, normal)
    is_anomaly = ~np.isin(ds.test_labels, normal)
    pairs = [detector_scores(one, options["score"], train_x, ds.test, options["k"], cache)
             for _, one, _ in group]
    train_scores, test_scores = ensemble_mean(pairs)
    row = {"run": group[0][0], "runs": [r for r, _, _ in group],
           **detection_report(train_scores, test_scores, is_anomaly, options["quantile"])}
    if len(group) > 1:
        row["member_auroc"] = [auroc(p[1], is_anomaly) for p in pairs]
    return row, test_scores, is_anomaly


def select_score(groups, options: dict, cache: dict) -> dict:
    """The "selection" block of `score=select` (module docstring): each candidate's mean
    AUROC over the detectors on the selection half and on the evaluation half, the chosen
    candidate (best on the selection half) and its evaluation-half figure."""
    table = {}
    for name in SELECTION_CANDIDATES:
        halves = []
        for group in groups:
            _, scores, is_anomaly = evaluate_detector(group, {**options, "score": name}, cache)
            half = selection_half(len(scores))
            halves.append((auroc(scores[half], is_anomaly[half]),
                           auroc(scores[~half], is_anomaly[~half])))
        table[name] = {"selection_auroc": float(np.mean([h[0] for h in halves])),
                       "evaluation_auroc": float(np.mean([h[1] for h in halves]))}
    chosen = max(table, key=lambda name: table[name]["selection_auroc"])
    return {"chosen": chosen, "evaluation_auroc": table[chosen]["evaluation_auroc"],
            "candidates": table}


@task("anomaly",
      Option("score", "objective", "anomaly score: one of " + ", ".join(SCORES) + ", or "
             "several joined by '+' (the mean of their z-scores by training statistics), or "
             "select (chosen among ten on a held-out half of the test split)"),
      Option("ensemble", "mean", "runs with the same normal classes: mean (one detector, "
             "the mean of their scores) or none (each run alone)"),
      Option("quantile", 0.95, "quantile of the training scores used as alert threshold"),
      K, NORMAL_CLASSES, RUNS)
def anomaly(run, out_dir: str, options: dict) -> dict:
    """One-class anomaly detection by the chosen score: AUROC, precision, recall, F1."""
    score_components(options["score"])  # an unknown score fails before any model runs
    ds = run.dataset
    if ds.test_labels is None:
        raise ValueError(f"task 'anomaly' needs test labels, and {ds.name!r} has none")
    names = ds.class_names or tuple(map(str, range(ds.num_classes)))
    one_class = bool(run.config.data.one_class)
    members = [(r, one, normal_classes(one, r, options))
               for r, one in runs_to_evaluate(run, out_dir, options)]
    groups, cache, selection = detector_groups(members, options["ensemble"]), {}, None
    if options["score"] == "select":
        selection = select_score(groups, options, cache)
        options = {**options, "score": selection["chosen"]}
    per_run, panels = [], []
    for group in groups:
        row, test_scores, is_anomaly = evaluate_detector(group, options, cache)
        label = "+".join(names[c] for c in group[0][2])
        per_run.append({**row, "normal": label})
        panels.append({"name": f"normal: {label}  AUROC {row['auroc']:.3f}",
                       "normal": test_scores[~is_anomaly], "anomalous": test_scores[is_anomaly],
                       "threshold": row["train_quantile"]["threshold"]})
    viz.save(score_histograms(panels, f"{ds.name}: anomaly scores ({options['score']})"),
             os.path.join(out_dir, "anomaly_scores.png"))
    result = {"epoch": run.epoch, "score": options["score"], "ensemble": options["ensemble"],
              "protocol": "one model per normal class" if one_class else "normal vs rest",
              "mean_auroc": float(np.mean([p["auroc"] for p in per_run])), "per_run": per_run}
    if one_class:
        result["auroc_per_class"] = {p["normal"]: p["auroc"] for p in per_run}
    if selection is not None:
        result["selection"] = selection
    return result
