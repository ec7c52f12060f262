"""Task `representation`: how much class information the codes keep, by two probes trained
on the train split's codes and scored on the test split, next to raw pixels and PCA codes of
the same size K.

  kNN       majority label of the k (5) nearest training codes (Euclidean), ties going to
            the label of the nearer neighbours; accuracy = mean [prediction == label].
  linear    multinomial logistic regression (scikit-learn, L2, C = 1, lbfgs) on codes
            standardised with the training codes' mean and std.

Reference for raw pixels on Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747,
benchmark of scikit-learn classifiers): kNN 0.854, logistic regression 0.842, the best
setting of each in their grid (not necessarily this task's k and C).

    python evaluate.py --workdir=runs/dense_ae --task=representation
"""

from __future__ import annotations

import time

import numpy as np

from ae_jax.evaluation import task
from ae_jax.evaluation.options import Option
from ae_jax.evaluation.retrieval import (
    PCA_FIT_LIMIT,
    RUNS,
    images,
    mean_over_runs,
    nearest_neighbours,
    pca_codes,
    require_encoder,
    require_labels,
    runs_to_evaluate,
)

PIXEL_REFERENCES = {"fashion_mnist": {"knn": 0.854, "logistic_regression": 0.842,
                                      "source": "Xiao et al. 2017, arXiv:1708.07747"}}


def knn_accuracy(train_codes, train_labels, test_codes, test_labels, k: int = 5) -> float:
    """Accuracy of the k-nearest-neighbour vote (see module docstring)."""
    idx, _ = nearest_neighbours(test_codes, train_codes, k)  # (Q, k), nearest first
    votes = np.asarray(train_labels)[idx]  # (Q, k)
    num_classes = int(max(np.max(train_labels), np.max(test_labels))) + 1
    # one vote each, plus a tie-breaking bonus below 1 that favours nearer neighbours
    weight = 1.0 + (k - np.arange(k)) / (k * (k + 1.0))  # (k,)
    counts = np.zeros((len(votes), num_classes))
    np.add.at(counts, (np.arange(len(votes))[:, None], votes), weight[None])
    return float(np.mean(np.argmax(counts, axis=1) == np.asarray(test_labels)))


def linear_probe_accuracy(train_codes, train_labels, test_codes, test_labels,
                          c: float = 1.0, max_iter: int = 1000) -> float:
    """Test accuracy of logistic regression on standardised codes (see module docstring)."""
    from sklearn.linear_model import LogisticRegression

    mean, std = train_codes.mean(0), train_codes.std(0)
    std = np.where(std > 0, std, 1.0)  # dead units (constant codes) stay 0
    clf = LogisticRegression(C=c, max_iter=max_iter)
    clf.fit((train_codes - mean) / std, train_labels)
    return float(clf.score((test_codes - mean) / std, test_labels))


def probe(train_codes, train_labels, test_codes, test_labels, k: int = 5,
          c: float = 1.0, probe_train_limit: int = 0) -> dict:
    """kNN and linear-probe accuracies (and their seconds) of one kind of code."""
    t0 = time.perf_counter()
    knn = knn_accuracy(train_codes, train_labels, test_codes, test_labels, k)
    t1 = time.perf_counter()
    n = probe_train_limit or len(train_codes)
    linear = linear_probe_accuracy(train_codes[:n], train_labels[:n], test_codes, test_labels, c)
    return {"dim": int(train_codes.shape[1]), f"knn_{k}": knn, "linear_probe": linear,
            "knn_seconds": round(t1 - t0, 2),
            "linear_probe_seconds": round(time.perf_counter() - t1, 2)}


@task("representation",
      Option("k", 5, "neighbours of the kNN probe's vote"),
      Option("C", 1.0, "inverse L2 strength of the logistic-regression probe"),
      Option("probe_train_limit", 0, "training codes the linear probe is fitted on (0: all)"),
      Option("baselines", True, "also probe raw pixels and PCA codes of the code's size"),
      PCA_FIT_LIMIT, RUNS)
def representation(run, out_dir: str, options: dict) -> dict:
    """Class information in the codes: kNN and linear-probe accuracies, beside pixels, PCA."""
    require_encoder(run, "representation")
    require_labels(run, "representation")
    ds = run.dataset
    kw = dict(k=options["k"], c=options["C"], probe_train_limit=options["probe_train_limit"])
    result = {"epoch": run.epoch, "probe_train_examples": kw["probe_train_limit"] or len(ds.train)}
    multi = run.config.num_runs > 1
    for r, one in runs_to_evaluate(run, out_dir, options):
        codes = one.encode(ds.train), one.encode(ds.test)  # (N, K)
        result[f"ae_run{r}" if multi else "ae"] = probe(codes[0], ds.train_labels, codes[1],
                                                        ds.test_labels, **kw)
        result["code_size"] = int(codes[0].shape[1])
    if multi:
        result["ae_mean"] = mean_over_runs(result)
    if options["baselines"]:
        x_train, x_test = images(ds.train), images(ds.test)
        result["pixels"] = probe(x_train, ds.train_labels, x_test, ds.test_labels, **kw)
        size = result["code_size"]
        pca = pca_codes(x_train, [x_test], size, options["pca_fit_limit"])
        result[f"pca_{size}"] = probe(pca[0], ds.train_labels, pca[1], ds.test_labels, **kw)
    if ds.name in PIXEL_REFERENCES:
        result["pixels_published"] = PIXEL_REFERENCES[ds.name]
    return result
