"""Task `representation`: how much class information the codes keep, by two probes trained
on the train split's codes and scored on the test split, next to raw pixels and PCA codes of
the same size K.

  kNN       majority label of the k (5) nearest training codes (Euclidean, on the device in
            batches of queries), ties going to the label of the nearer neighbours;
            accuracy = mean [prediction == label].
  linear    multinomial logistic regression (L2, C = 1) on codes standardised with the
            training codes' mean and std, by option `probe`:
              optax    (default) fitted on the device by full-batch L-BFGS (optax) in float32
                       to the same objective and tolerance as scikit-learn's
                       (ae_jax/evaluation/probe.py has the maths)
              sklearn  scikit-learn's LogisticRegression(C, lbfgs, max_iter=1000) in float64
                       on the host: the previous protocol, slow (391-1,431 s on
                       Fashion-MNIST's 60,000 raw pixel images on 2 CPU cores)

The raw-pixel baseline's linear probe is fitted on the first `pixel_train_limit` training
images: by default (-1) 10,000 with probe=optax and all with probe=sklearn. On Fashion-MNIST
(60,000 x 784, standardised) L-BFGS needs about 1,000 iterations over the whole split: on 2
CPU cores 50 s with optax and 391 s with scikit-learn when idle, 148 s and 1,270 s under
other load, against 507 iterations and 6 s (idle) on 10,000 images. Fitted on fewer images
it scores lower (measured at convergence, C = 1: 0.802 on 10,000, 0.815 on 20,000, 0.834 on
all 60,000), so the default pixel probe is a cheaper, weaker baseline, named as such in the
result; `--option=pixel_train_limit=0` fits it on all. kNN on pixels always searches the
whole training split.

The result names the probe ("probe"), the training examples of the code probes
("probe_train_examples") and of the pixel probe ("pixel_probe_train_examples"); each entry
records its own ("linear_probe_train_examples"), its seconds and its L-BFGS iterations (and
for optax whether the gradient tolerance was reached). Progress lines (logging INFO) name each
stage and its seconds.

Reference for raw pixels on Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747,
benchmark of scikit-learn classifiers): kNN 0.854, logistic regression 0.842, the best
setting of each in their grid (not necessarily this task's k and C).

    python evaluate.py --workdir=runs/dense_ae --task=representation [--option=probe=sklearn]
"""

from __future__ import annotations

import numpy as np

from ae_jax.evaluation import task
from ae_jax.evaluation.options import Option, OptionError
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
    stage,
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


PROBES = ("optax", "sklearn")


def linear_probe_accuracy(train_codes, train_labels, test_codes, test_labels,
                          c: float = 1.0, max_iter: int = 1000, probe: str = "optax") -> dict:
    """Test accuracy of logistic regression on standardised codes (module docstring):
    {"linear_probe": accuracy} and, for optax, the fit's iterations and convergence."""
    if probe == "optax":
        from ae_jax.evaluation.probe import fit_logistic_regression

        num_classes = int(max(np.max(train_labels), np.max(test_labels))) + 1
        fitted = fit_logistic_regression(train_codes, train_labels, c, max_iter,
                                         num_classes=num_classes)
        return {"linear_probe": fitted.score(test_codes, test_labels),
                "linear_probe_iterations": fitted.iterations,
                "linear_probe_converged": fitted.converged}
    if probe != "sklearn":
        raise ValueError(f"unknown probe {probe!r}: use one of {', '.join(PROBES)}")
    from sklearn.linear_model import LogisticRegression

    mean, std = train_codes.mean(0), train_codes.std(0)
    std = np.where(std > 0, std, 1.0)  # dead units (constant codes) stay 0
    clf = LogisticRegression(C=c, max_iter=max_iter)
    clf.fit((train_codes - mean) / std, train_labels)
    return {"linear_probe": float(clf.score((test_codes - mean) / std, test_labels)),
            "linear_probe_iterations": int(np.max(clf.n_iter_))}


def probe(train_codes, train_labels, test_codes, test_labels, k: int = 5,
          c: float = 1.0, probe_train_limit: int = 0, probe: str = "optax",
          name: str = "codes") -> dict:
    """kNN and linear-probe accuracies (and their seconds) of one kind of code, `name` in
    the progress lines. kNN searches all training codes; the linear probe is fitted on the
    first `probe_train_limit` (0: all)."""
    n = min(probe_train_limit or len(train_codes), len(train_codes))
    with stage("representation", f"kNN on {name} ({len(test_codes)} queries, "
               f"{len(train_codes)} x {train_codes.shape[1]} gallery)", announce=True) as knn:
        knn_acc = knn_accuracy(train_codes, train_labels, test_codes, test_labels, k)
    with stage("representation", f"linear probe ({probe}) on {name} ({n} x "
               f"{train_codes.shape[1]})", announce=True) as linear:
        fitted = linear_probe_accuracy(train_codes[:n], train_labels[:n], test_codes,
                                       test_labels, c, probe=probe)
    return {"dim": int(train_codes.shape[1]), f"knn_{k}": knn_acc, **fitted,
            "linear_probe_train_examples": n,
            "knn_seconds": round(knn.seconds, 2),
            "linear_probe_seconds": round(linear.seconds, 2)}


PIXEL_PROBE_DEFAULT_LIMIT = 10000  # pixel_train_limit=-1 with probe=optax (module docstring)


def pixel_probe_limit(options: dict) -> int:
    """Training images of the pixel baseline's linear probe (0: all), from pixel_train_limit
    (-1: 10,000 for optax, all for sklearn) and probe_train_limit (the smaller non-zero)."""
    pixel = options["pixel_train_limit"]
    if pixel < 0:
        pixel = PIXEL_PROBE_DEFAULT_LIMIT if options["probe"] == "optax" else 0
    limits = [n for n in (pixel, options["probe_train_limit"]) if n > 0]
    return min(limits) if limits else 0


@task("representation",
      Option("k", 5, "neighbours of the kNN probe's vote"),
      Option("C", 1.0, "inverse L2 strength of the logistic-regression probe"),
      Option("probe", "optax", "the linear probe's solver: optax (L-BFGS on the device) or "
             "sklearn (scikit-learn's lbfgs on the host; slow on pixels)"),
      Option("probe_train_limit", 0, "training codes the linear probe is fitted on (0: all)"),
      Option("pixel_train_limit", -1, "training images the raw-pixel baseline's linear probe "
             "is fitted on (0: all; -1: 10000 with probe=optax, all with probe=sklearn)"),
      Option("baselines", True, "also probe raw pixels and PCA codes of the code's size"),
      PCA_FIT_LIMIT, RUNS)
def representation(run, out_dir: str, options: dict) -> dict:
    """Class information in the codes: kNN and linear-probe accuracies, beside pixels, PCA."""
    require_encoder(run, "representation")
    require_labels(run, "representation")
    if options["probe"] not in PROBES:
        raise OptionError(f"option 'probe' of task 'representation' must be one of "
                          f"{', '.join(PROBES)}, got {options['probe']!r}")
    ds = run.dataset
    kw = dict(k=options["k"], c=options["C"], probe_train_limit=options["probe_train_limit"],
              probe=options["probe"])
    pixel_limit = pixel_probe_limit(options)
    result = {"epoch": run.epoch, "probe": options["probe"],
              "probe_train_examples": min(kw["probe_train_limit"] or len(ds.train),
                                          len(ds.train)),
              "pixel_probe_train_examples": min(pixel_limit or len(ds.train), len(ds.train)),
              "knn_gallery": len(ds.train), "test_examples": len(ds.test)}
    multi = run.config.num_runs > 1
    for r, one in runs_to_evaluate(run, out_dir, options):
        name = f"ae_run{r}" if multi else "ae"
        with stage("representation", f"encode train and test splits ({name})"):
            codes = one.encode(ds.train), one.encode(ds.test)  # (N, K)
        result[name] = probe(codes[0], ds.train_labels, codes[1], ds.test_labels, **kw,
                             name=f"{name} codes")
        result["code_size"] = int(codes[0].shape[1])
    if multi:
        result["ae_mean"] = mean_over_runs(result)
    if options["baselines"]:
        x_train, x_test = images(ds.train), images(ds.test)
        result["pixels"] = probe(x_train, ds.train_labels, x_test, ds.test_labels,
                                 **{**kw, "probe_train_limit": pixel_limit}, name="pixels")
        size = result["code_size"]
        with stage("representation", f"PCA to {size} components"):
            pca = pca_codes(x_train, [x_test], size, options["pca_fit_limit"])
        result[f"pca_{size}"] = probe(pca[0], ds.train_labels, pca[1], ds.test_labels, **kw,
                                      name=f"PCA-{size} codes")
    if ds.name in PIXEL_REFERENCES:
        result["pixels_published"] = PIXEL_REFERENCES[ds.name]
    return result
