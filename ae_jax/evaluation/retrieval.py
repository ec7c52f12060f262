"""Task `retrieval`: image search by nearest codes, against raw pixels and PCA codes.

The gallery is the train split, the queries the test split. Every query ranks the gallery by
the distance of codes (Euclidean `|q - g|`, or cosine `1 - q.g / (|q| |g|)`), batched on the
device with jax. A neighbour is relevant when it has the query's label:

    precision@k = mean over queries of (relevant among the k nearest) / k   (every query)
    mAP         = mean over queries of AP_q over the full ranking of the gallery
                  (ae_jax/evaluation/metrics), over the first 1,000 test queries by default
                  (--option=map_queries=0: all; each query sorts the whole gallery)

The same numbers for raw pixels (D dimensions) and for PCA codes of the code's size K say
what the encoder adds. Also here, shared by the code-based tasks (representation,
compression): the runs of a workdir, the encoder check, and the PCA baseline.

    python evaluate.py --workdir=runs/dense_ae --task=retrieval [--option=metric=cosine]
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from ae_jax import viz
from ae_jax.data import to_float
from ae_jax.evaluation import task
from ae_jax.evaluation.metrics import average_precision, precision_at_k
from ae_jax.evaluation.options import Option
from ae_jax.run import load

# ----------------------------------------------------------------------------- shared helpers


class _Elapsed:
    seconds = 0.0


@contextlib.contextmanager
def stage(task: str, what: str, announce: bool = False):
    """Progress of a task: log `<task>: <what> <seconds> s` (logging INFO) when the block
    ends, and with `announce` also `<task>: <what> ...` when it starts (for stages that may
    take minutes). Yields an object whose `seconds` the end sets."""
    if announce:
        logging.info("%s: %s ...", task, what)
    elapsed, t0 = _Elapsed(), time.perf_counter()
    yield elapsed
    elapsed.seconds = time.perf_counter() - t0
    logging.info("%s: %s %.1f s", task, what, elapsed.seconds)


def require_encoder(run, task: str) -> None:
    """Refuse, with a clear message, a model that has no `encode` (e.g. a GAN generator)."""
    run.require("encode", f"task {task!r}")


def require_labels(run, task: str) -> None:
    if run.dataset.train_labels is None or run.dataset.test_labels is None:
        raise ValueError(f"task {task!r} needs class labels, and dataset "
                         f"{run.dataset.name!r} has none")


RUNS = Option("runs", "all", "which runs of a multi-run workdir: all, or run indices such as "
              "0,2", kind="list")


def runs_to_evaluate(run, out_dir: str, options: dict) -> list[tuple[int, object]]:
    """[(r, Run)] for the runs of a workdir: `run` alone for a single-run workdir; for
    num_runs > 1 every run (or those of option `runs`, RUNS), each via
    `load(run.workdir, r, run.best)`."""
    num_runs = run.config.num_runs
    if num_runs <= 1:
        return [(0, run)]
    wanted = options["runs"]
    if wanted in ("all", ["all"]):
        wanted = list(range(num_runs))
    else:
        wanted = [int(r) for r in np.ravel(wanted)]
    return [(r, run if r == run.run_index else load(run.workdir, r, run.best)) for r in wanted]


def images(x: np.ndarray) -> np.ndarray:
    """Examples as float (N, D) in [0, 1] for uint8, as stored for float data."""
    return to_float(x).reshape(len(x), -1)  # (N, H, W, C) -> (N, D)


def pca_model(train: np.ndarray, size: int, fit_limit: int = 0):
    """(encode (N, D) -> (N, K), decode (N, K) -> (N, D)) of PCA with K = `size` components
    fitted on the (N, D) `train` rows (the first `fit_limit` when > 0), through the `PCA`
    module and `fit_pca` of ae_jax.models.pca: z = (x - mu) V_K, x_hat = z V_K^T + mu."""
    from ae_jax.models.pca import PCA, fit_pca

    params, _ = fit_pca(train[:fit_limit] if fit_limit else train, size)
    model = PCA(output_shape=(train.shape[1],), num_components=size)
    enc = jax.jit(lambda p, x: model.apply({"params": p}, x, method="encode"))
    dec = jax.jit(lambda p, z: model.apply({"params": p}, z, method="decode"))
    return (lambda x: np.asarray(enc(params, np.asarray(x, np.float32))),
            lambda z: np.asarray(dec(params, np.asarray(z, np.float32))))


PCA_FIT_LIMIT = Option("pca_fit_limit", 0, "training examples the PCA baseline is fitted on "
                       "(0: all)")


def pca_codes(train: np.ndarray, others: list[np.ndarray], size: int, fit_limit: int = 0):
    """PCA codes of size K (see `pca_model`) of `train` and of each array of `others`."""
    encode, _ = pca_model(train, size, fit_limit)
    return [encode(a) for a in (train, *others)]


# ------------------------------------------------------------------------------ the searches


@functools.partial(jax.jit, static_argnames=("k", "metric"))
def _topk(q, g, g_sq, k: int, metric: str):
    """The k nearest gallery rows of each query: (b, k) indices and distances."""
    neg, idx = jax.lax.top_k(-_distances(q, g, g_sq, metric), k)  # (b, G) -> (b, k)
    return idx, -neg


@functools.partial(jax.jit, static_argnames=("metric",))
def _ap(q, q_labels, g, g_sq, g_labels, metric: str):
    """AP of each query over the full ranking of the gallery, (b,), sorted on the device."""
    order = jnp.argsort(_distances(q, g, g_sq, metric), axis=1)  # (b, G), nearest first
    return average_precision(g_labels[order] == q_labels[:, None])


_distances_jit = jax.jit(lambda q, g, g_sq, metric: _distances(q, g, g_sq, metric),
                         static_argnames=("metric",))


def _ap_host_sort(q, q_labels, g, g_sq, g_labels, metric: str) -> np.ndarray:
    """`_ap` with the distances from the device and the sort in numpy. On XLA:CPU a
    (200, 60000) argsort took 14.7 s against numpy's 3.1 s (2-core machine under load)."""
    order = np.argsort(np.asarray(_distances_jit(q, g, g_sq, metric)), axis=1)  # (b, G)
    return np.asarray(average_precision(g_labels[order] == q_labels[:, None]))


def _distances(q, g, g_sq, metric: str):
    """(b, G): 1 - q.g for unit rows (cosine), else |q - g|^2 = |q|^2 - 2 q.g + |g|^2
    (clipped at 0 against rounding)."""
    if metric == "cosine":
        return 1.0 - q @ g.T
    return jnp.maximum(jnp.sum(q * q, 1, keepdims=True) - 2.0 * q @ g.T + g_sq[None], 0.0)


def _prepare(codes, metric: str) -> np.ndarray:
    """float32 rows, unit-normalised for cosine (numpy: no per-shape compilation)."""
    codes = np.asarray(codes, np.float32)
    if metric == "cosine":
        return codes / np.maximum(np.linalg.norm(codes, axis=1, keepdims=True), 1e-12)
    if metric != "euclidean":
        raise ValueError(f"unknown metric {metric!r}: use 'euclidean' or 'cosine'")
    return codes


def _batches(a: np.ndarray, batch_size: int):
    """(rows, n) for consecutive batches of `a`, the last padded to batch_size rows (one
    compiled shape for every batch); n counts the real rows."""
    for start in range(0, len(a), batch_size):
        part = a[start:start + batch_size]
        pad = [(0, batch_size - len(part))] + [(0, 0)] * (part.ndim - 1)
        yield np.pad(part, pad), len(part)


def nearest_neighbours(queries, gallery, k: int, metric: str = "euclidean",
                       batch_size: int = 500):
    """Indices (Q, k) and distances (Q, k) of the k nearest gallery rows of each query row.

    queries: (Q, K), gallery: (G, K). Euclidean distances are returned squared.
    """
    q, g = _prepare(queries, metric), _prepare(gallery, metric)
    g_sq = np.sum(g * g, axis=1)
    batch_size = min(batch_size, len(q))
    idx, dist = [], []
    for part, n in _batches(q, batch_size):
        i, d = _topk(part, g, g_sq, k, metric)
        idx.append(np.asarray(i)[:n])
        dist.append(np.asarray(d)[:n])
    return np.concatenate(idx), np.concatenate(dist)


def search_metrics(query_codes, query_labels, gallery_codes, gallery_labels,
                   ks=(1, 10, 50), metric: str = "euclidean", map_queries: int = 1000,
                   batch_size: int = 200, neighbours=None) -> dict:
    """precision@k for each k in `ks` (every query) and mAP over the full gallery ranking
    (the first `map_queries` queries; 0: all). `neighbours`: the (Q, >= max(ks)) result
    of `nearest_neighbours`, if already computed."""
    if neighbours is None:
        neighbours, _ = nearest_neighbours(query_codes, gallery_codes, max(ks), metric)
    neighbour_labels = np.asarray(gallery_labels)[neighbours]  # (Q, k_max)
    out = {f"precision_at_{k}": precision_at_k(neighbour_labels[:, :k], query_labels)
           for k in ks}
    n = min(map_queries or len(query_codes), len(query_codes))
    q, g = _prepare(query_codes[:n], metric), _prepare(gallery_codes, metric)
    g_sq, g_lab = np.sum(g * g, axis=1), np.asarray(gallery_labels)
    batch_size = min(batch_size, n)
    ap = _ap_host_sort if jax.default_backend() == "cpu" else _ap
    aps = [np.asarray(ap(qb, lb, g, g_sq, g_lab, metric))[:m]
           for (qb, m), (lb, _) in zip(_batches(q, batch_size),
                                       _batches(np.asarray(query_labels[:n]), batch_size),
                                       strict=True)]
    out["map"] = float(np.mean(np.concatenate(aps)))
    out["map_queries"] = n
    return out


def neighbour_grid(queries: np.ndarray, neighbours: np.ndarray, titles: list[str], title: str):
    """Figure: one row per query, `query | k nearest`; queries (n, H, W, C), neighbours
    (n, k, H, W, C), floats in [0, 1]."""
    rows = {t: np.concatenate([q[None], nb]) for t, q, nb in
            zip(titles, queries, neighbours, strict=True)}  # each (1 + k, H, W, C)
    return viz.reconstructions(rows, title)


# ------------------------------------------------------------------------------------ the task


@task("retrieval",
      Option("metric", "euclidean", "code distance: euclidean or cosine"),
      Option("ks", (1, 10, 50), "the k of each precision@k (neighbours)"),
      Option("map_queries", 1000, "test queries whose mAP ranks the whole gallery (0: all)"),
      Option("num_grid_queries", 8, "test queries in the neighbour figure (0: no figure)"),
      Option("grid_k", 10, "neighbours per query in the figure"),
      Option("baselines", True, "also search by raw pixels and by PCA codes of the code's size"),
      PCA_FIT_LIMIT, RUNS)
def retrieval(run, out_dir: str, options: dict) -> dict:
    """Image search by nearest codes (test queries, train gallery): precision@k and mAP."""
    require_encoder(run, "retrieval")
    require_labels(run, "retrieval")
    metric = options["metric"]
    ks = tuple(int(k) for k in np.ravel(options["ks"]))
    grid_k = options["grid_k"]
    ds = run.dataset
    x_train, x_test = images(ds.train), images(ds.test)

    def search(test_codes, train_codes, name):
        size = f"{len(test_codes)} queries, {len(train_codes)} x {train_codes.shape[1]} gallery"
        with stage("retrieval", f"{max(*ks, grid_k)} nearest by {name} ({size})",
                   announce=True):
            idx, _ = nearest_neighbours(test_codes, train_codes, max(*ks, grid_k), metric)
        n = min(options["map_queries"] or len(test_codes), len(test_codes))
        with stage("retrieval", f"precision@k and mAP by {name} ({n} queries ranking the "
                   "whole gallery)", announce=True):
            out = search_metrics(test_codes, ds.test_labels, train_codes, ds.train_labels, ks,
                                 metric, options["map_queries"], neighbours=idx)
        return out, idx

    result = {"epoch": run.epoch, "metric": metric, "gallery": f"train split ({len(x_train)})",
              "queries": f"test split ({len(x_test)})"}
    multi = run.config.num_runs > 1
    for r, one in runs_to_evaluate(run, out_dir, options):
        name = f"ae_run{r}" if multi else "ae"
        with stage("retrieval", f"encode train and test splits ({name})"):
            test_codes, train_codes = one.encode(ds.test), one.encode(ds.train)  # (N, K)
        result[name], idx = search(test_codes, train_codes, f"{name} codes")
        result["code_size"] = int(test_codes.shape[1])
        with stage("retrieval", f"neighbour figure ({name})"):
            _save_grid(ds, idx[:, :grid_k], metric, options["num_grid_queries"],
                       os.path.join(out_dir, f"retrieval_{name}.png"))
    if multi:
        result["ae_mean"] = mean_over_runs(result)
    if options["baselines"]:
        size = result["code_size"]
        result["pixels"] = search(x_test, x_train, "pixels")[0]
        with stage("retrieval", f"PCA to {size} components"):
            pca_train, pca_test = pca_codes(x_train, [x_test], size, options["pca_fit_limit"])
        result[f"pca_{size}"] = search(pca_test, pca_train, f"PCA-{size} codes")[0]
    return result


def mean_over_runs(result: dict) -> dict:
    """The mean of each number over the `ae_run<r>` entries of a result."""
    per_run = [v for k, v in result.items() if k.startswith("ae_run")]
    return {k: float(np.mean([p[k] for p in per_run])) for k in per_run[0]}


def _save_grid(ds, neighbours, metric: str, num_queries: int, path: str) -> None:
    """`query | k nearest` rows for `num_queries` random test queries (images only)."""
    if num_queries <= 0 or ds.example_shape[0] == 1:  # tabular rows: no pictures
        return
    k = neighbours.shape[1]
    pick = np.random.default_rng(0).choice(len(ds.test), min(num_queries, len(ds.test)),
                                           replace=False)
    names = ds.class_names or tuple(map(str, range(ds.num_classes)))
    titles = [f"{names[ds.test_labels[p]]}: "
              f"{int(np.sum(ds.train_labels[neighbours[p]] == ds.test_labels[p]))}/{k} "
              "neighbours share the label" for p in pick]
    fig = neighbour_grid(to_float(ds.test[pick]), to_float(ds.train[neighbours[pick]]), titles,
                         f"query | {k} nearest training images by {metric} code distance")
    viz.save(fig, path)
