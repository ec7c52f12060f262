"""Task `anomaly`: one-class anomaly detection by the run's own per-example objective.

The model is trained on normal data only; the anomaly score of an example is its training
objective (reconstruction error, or the negative ELBO for a VAE), or with
`--option=score=mse` the squared error mean_i (x_i - x_hat_i)^2 of its reconstruction
whatever the objective. On the test split

    AUROC = P(score(anomaly) > score(normal))   (ties count 1/2; metrics.auroc)

and alerts `score > t` are scored by precision, recall and F1 at two thresholds:
  train_quantile   t = the `quantile` (0.95) of the scores of the run's training examples,
                   i.e. about 5% false alarms on normal data; no anomaly is needed to set it.
  validation_f1    t maximises F1 on a random half of the test split (a labelled validation
                   set); precision / recall / F1 are reported on the other half.

Which test examples are normal: for a one-class workdir (`data.one_class`, one class per
vmapped run) run r's class one_class[r]; otherwise `--option=normal_classes=[...]` or the
config's `data.normal_classes` (the CSV source trains on those rows only). The one-class
protocol on Fashion-MNIST reports the AUROC of each class's run and their mean.

    python evaluate.py --workdir=runs/anomaly_fmnist --task=anomaly
"""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np

from ae_jax import viz
from ae_jax.data import to_float
from ae_jax.data.csv_source import class_indices
from ae_jax.evaluation import task
from ae_jax.evaluation.metrics import auroc, precision_recall_f1, quantile_threshold
from ae_jax.evaluation.options import Option
from ae_jax.evaluation.retrieval import RUNS, runs_to_evaluate

NORMAL_CLASSES = Option("normal_classes", None, "the classes (names or label indices) that are "
                        "normal, for a workdir without data.one_class (default: the config's "
                        "data.normal_classes)", kind="list")


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


def anomaly_scores(run, x: np.ndarray, score: str = "objective") -> np.ndarray:
    """Per-example scores (N,): the run's objective, or "mse" of its reconstruction."""
    if score == "objective":
        return run.score(x)
    if score == "mse":
        err = np.square(run.reconstruct(x) - to_float(x))
        return err.reshape(len(x), -1).mean(axis=1)  # (N, H, W, C) -> (N,)
    raise ValueError(f"unknown anomaly score {score!r}: use 'objective' or 'mse'")


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
    half = np.random.default_rng(seed).permutation(len(test_scores)) < len(test_scores) // 2
    t = best_f1_threshold(test_scores[half], is_anomaly[half])
    out["validation_f1"] = {"validation_examples": int(half.sum()),
                            **precision_recall_f1(test_scores[~half], is_anomaly[~half], t)}
    return out


def score_histograms(panels: list[dict], title: str) -> plt.Figure:
    """Histograms of normal vs anomalous test scores, one panel per run, with the
    train-quantile threshold as a line. Each panel: name, normal, anomalous, threshold."""
    cols = min(5, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
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


@task("anomaly",
      Option("score", "objective", "anomaly score: objective (the training loss) or mse"),
      Option("quantile", 0.95, "quantile of the training scores used as alert threshold"),
      NORMAL_CLASSES, RUNS)
def anomaly(run, out_dir: str, options: dict) -> dict:
    """One-class anomaly detection by the run's own objective: AUROC, precision, recall, F1."""
    quantile = options["quantile"]
    score = options["score"]
    ds = run.dataset
    if ds.test_labels is None:
        raise ValueError(f"task 'anomaly' needs test labels, and {ds.name!r} has none")
    names = ds.class_names or tuple(map(str, range(ds.num_classes)))
    one_class = bool(run.config.data.one_class)
    per_run, panels = [], []
    for r, one in runs_to_evaluate(run, out_dir, options):
        normal = normal_classes(one, r, options)
        # the run's normal training examples (all of them when the split has no labels)
        train_x = ds.train if ds.train_labels is None else ds.train[
            np.isin(ds.train_labels, normal)]
        train_scores = anomaly_scores(one, train_x, score)
        test_scores = anomaly_scores(one, ds.test, score)
        is_anomaly = ~np.isin(ds.test_labels, normal)
        report = detection_report(train_scores, test_scores, is_anomaly, quantile)
        label = "+".join(names[c] for c in normal)
        per_run.append({"run": r, "normal": label, **report})
        panels.append({"name": f"normal: {label}  AUROC {report['auroc']:.3f}",
                       "normal": test_scores[~is_anomaly], "anomalous": test_scores[is_anomaly],
                       "threshold": report["train_quantile"]["threshold"]})
    viz.save(score_histograms(panels, f"{ds.name}: anomaly scores ({score})"),
             os.path.join(out_dir, "anomaly_scores.png"))
    result = {"epoch": run.epoch, "score": score,
              "protocol": "one model per normal class" if one_class else "normal vs rest",
              "mean_auroc": float(np.mean([p["auroc"] for p in per_run])), "per_run": per_run}
    if one_class:
        result["auroc_per_class"] = {p["normal"]: p["auroc"] for p in per_run}
    return result
