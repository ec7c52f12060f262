"""Task `anomaly_baselines`: classical one-class detectors on the `anomaly` task's split, so
the autoencoder rows stand next to baselines measured in the same run, on the same machine.

For each normal class c (the workdir's `data.one_class`, or `normal_classes`), fitted on
the training images of class c only (pixels in [0, 1], flattened), scored on the whole test
split, AUROC with class c as normal:

  ocsvm  scikit-learn OneClassSVM on raw pixels, RBF kernel, score = -decision_function.
         nu = 0.1 and gamma = "scale" (1 / (D Var(x)) of the training pixels) are fixed in
         advance, not tuned on test labels (the published OC-SVM rows chose them in
         hindsight on the test set).
  pca    reconstruction error ||x - V_K V_K^T (x - mu) - mu||^2 of a K-component PCA of the
         class (K = pca_components, default 32: the AE's code size).
  knn    mean Euclidean distance to the k nearest training images of the class (k = 5;
         anomaly.knn_scores, the `anomaly` task's pixel_knn).

    python evaluate.py --workdir=runs/anomaly_fmnist --task=anomaly_baselines
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ae_jax.data import to_float
from ae_jax.evaluation import task
from ae_jax.evaluation.anomaly import NORMAL_CLASSES, K, knn_scores, normal_classes
from ae_jax.evaluation.metrics import auroc
from ae_jax.evaluation.options import Option

BASELINES = ("ocsvm", "pca", "knn")
NU = Option("nu", 0.1, "OC-SVM's nu: bound on the fraction of training outliers")
PCA_COMPONENTS = Option("pca_components", 32, "components of the PCA baseline")


def ocsvm_scores(train: np.ndarray, test: np.ndarray, nu: float = 0.1) -> np.ndarray:
    from sklearn.svm import OneClassSVM

    model = OneClassSVM(kernel="rbf", nu=nu, gamma="scale").fit(train)
    return -model.decision_function(test)


def pca_scores(train: np.ndarray, test: np.ndarray, k: int) -> np.ndarray:
    mu = train.mean(0)
    _, _, vt = np.linalg.svd(train - mu, full_matrices=False)
    v = vt[:k].T  # (D, K)
    centred = test - mu
    return np.sum(np.square(centred - centred @ v @ v.T), axis=1)


def baseline_names(options: dict) -> list[str]:
    """`--option=baselines=ocsvm,knn` (a comma list or a JSON list); all by default."""
    names = options["baselines"]
    names = names.split(",") if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown} (--option=baselines); known: "
                         f"{', '.join(BASELINES)}")
    return names


def _class_rows(run, r: int, options: dict, flat_train, flat_test) -> dict:
    ds = run.dataset
    normal = normal_classes(run, r, options)
    train = flat_train[np.isin(ds.train_labels, normal)]
    is_anomaly = ~np.isin(ds.test_labels, normal)
    row = {}
    for name in baseline_names(options):
        t0 = time.perf_counter()
        if name == "ocsvm":
            scores = ocsvm_scores(train, flat_test, options["nu"])
        elif name == "pca":
            scores = pca_scores(train, flat_test, options["pca_components"])
        else:
            scores = knn_scores(train, flat_test, options["k"])
        row[name] = auroc(scores, is_anomaly)
        logging.info("class %s: %s AUROC %.4f (%.1f s)", normal, name, row[name],
                     time.perf_counter() - t0)
    return row


@task("anomaly_baselines",
      Option("baselines", BASELINES, f"the detectors to run, of {', '.join(BASELINES)}"),
      NU, PCA_COMPONENTS, K, NORMAL_CLASSES)
def anomaly_baselines(run, out_dir: str, options: dict) -> dict:
    """Classical one-class detectors (OC-SVM, PCA, kNN) on the `anomaly` task's split: AUROC."""
    ds = run.dataset
    if ds.train_labels is None or ds.test_labels is None:
        raise ValueError(f"task 'anomaly_baselines' needs labels, and {ds.name!r} has none")
    names = ds.class_names or tuple(map(str, range(ds.num_classes)))
    flat_train = to_float(ds.train).reshape(len(ds.train), -1)  # (N, H, W, C) -> (N, D)
    flat_test = to_float(ds.test).reshape(len(ds.test), -1)
    runs = range(max(1, len(run.config.data.one_class)))
    per_class = {}
    for r in runs:
        label = "+".join(names[c] for c in normal_classes(run, r, options))
        per_class[label] = _class_rows(run, r, options, flat_train, flat_test)
    kinds = next(iter(per_class.values())).keys()
    return {"per_class": per_class,
            "mean_auroc": {k: float(np.mean([row[k] for row in per_class.values()]))
                           for k in kinds},
            "settings": {"nu": options["nu"], "gamma": "scale",
                         "pca_components": options["pca_components"], "k": options["k"]}}
