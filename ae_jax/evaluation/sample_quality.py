"""Fidelity and diversity of generated samples from k-nearest-neighbour balls in a feature
space: improved precision / recall (Kynkaanniemi et al. 2019, "Improved precision and recall
metric for assessing generative models") and density / coverage (Naeem et al. 2020,
"Reliable fidelity and diversity metrics for generative models"), computed exactly as the
authors' reference `prdc` (github.com/clovaai/generative-evaluation-prdc).

With real features X_1 .. X_N, fake features Y_1 .. Y_M, Euclidean distances d, and
NND_k(X_i) the distance from X_i to its k-th nearest neighbour among the other reals
(B(X_i, NND_k(X_i)) the ball around X_i; likewise NND_k(Y_j) among the other fakes):

  precision = (1/M) sum_j 1[exists i: d(X_i, Y_j) < NND_k(X_i)]   fakes on the real manifold
  recall    = (1/N) sum_i 1[exists j: d(X_i, Y_j) < NND_k(Y_j)]   reals on the fake manifold
  density   = (1/(k M)) sum_j sum_i 1[d(X_i, Y_j) < NND_k(X_i)]   real balls per fake, / k
  coverage  = (1/N) sum_i 1[min_j d(X_i, Y_j) < NND_k(X_i)]       real balls holding a fake

The comparisons are strict, as in `prdc` (the papers write <=; the two differ only on ties,
e.g. for identical sets, where < gives density exactly 1 and <= would give (k + 1) / k).
Precision, recall and coverage lie in [0, 1]; density is unbounded (about 1 when fakes are
distributed like the reals). The papers' defaults: k = 3 for precision / recall, k = 5 for
density / coverage.

Distances come from ||x||^2 + ||y||^2 - 2 x.y on features centred on the real mean, in
blocks of `chunk_size` rows against all columns, in float64 for float64 input and float32
otherwise, so memory is chunk_size * max(N, M) floats.
"""

from __future__ import annotations

import numpy as np


def _as_features(real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets as (N, D) / (M, D) arrays of one float dtype (float64 if either is), centred
    on the real mean (distances are unchanged; the Gram formula loses less precision)."""
    real, fake = np.asarray(real), np.asarray(fake)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features must be (N, D) and (M, D); got {real.shape} and "
                         f"{fake.shape}")
    dtype = np.float64 if np.float64 in (real.dtype, fake.dtype) else np.float32
    real, fake = real.astype(dtype), fake.astype(dtype)
    mean = real.mean(axis=0)
    return real - mean, fake - mean


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a_i - b_j||^2 = ||a_i||^2 + ||b_j||^2 - 2 a_i . b_j, (A, B), clipped at 0."""
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * (a @ b.T)  # (A, B)
    return np.maximum(sq, 0)


def _knn_squared_radii(x: np.ndarray, k: int, chunk_size: int) -> np.ndarray:
    """NND_k(x_i)^2, (N,), squared as the distances are compared (sqrt and back would
    round some radii up, so a k-th neighbour would count as inside)."""
    if not 1 <= k < len(x):
        raise ValueError(f"k = {k} needs 1 <= k < N = {len(x)}")
    radii = np.empty(len(x), x.dtype)
    for start in range(0, len(x), chunk_size):
        sq = squared_distances(x[start:start + chunk_size], x)  # (c, N)
        rows = np.arange(len(sq))
        sq[rows, start + rows] = 0  # itself: exactly the nearest, as prdc's 0 diagonal
        radii[start:start + len(sq)] = np.partition(sq, k, axis=1)[:, k]  # k+1-th, self 1st
    return radii


def knn_radii(features: np.ndarray, k: int, chunk_size: int = 256) -> np.ndarray:
    """NND_k of every point, (N,): the distance to its k-th nearest neighbour among the other
    points (a duplicate of a point counts, at distance 0; the point itself does not)."""
    features = np.asarray(features)
    x, _ = _as_features(features, features[:0])
    return np.sqrt(_knn_squared_radii(x, k, chunk_size))


def _ball_statistics(real: np.ndarray, fake: np.ndarray, real_r2: np.ndarray,
                     fake_r2: np.ndarray | None, chunk_size: int
                     ) -> dict[str, np.ndarray]:
    """One pass over blocks of reals against all fakes, with squared k-NN radii:
    in_real_balls (M,): how many real balls hold each fake; covered (N,): whether a real's
    ball holds some fake; real_in_fake (N,): whether a real lies in some fake ball (only
    with fake_r2)."""
    in_real_balls = np.zeros(len(fake), np.int64)
    real_in_fake = np.zeros(len(real), bool)
    covered = np.zeros(len(real), bool)
    for start in range(0, len(real), chunk_size):
        block = slice(start, start + chunk_size)
        sq = squared_distances(real[block], fake)  # (c, M)
        inside = sq < real_r2[block, None]  # (c, M): fake j in the ball of real i
        in_real_balls += inside.sum(axis=0)
        covered[block] = inside.any(axis=1)  # min_j d < r  <=>  some d < r
        if fake_r2 is not None:
            real_in_fake[block] = (sq < fake_r2[None, :]).any(axis=1)
    return {"in_real_balls": in_real_balls, "real_in_fake": real_in_fake, "covered": covered}


def prdc(real: np.ndarray, fake: np.ndarray, k: int = 5, chunk_size: int = 256
         ) -> dict[str, float]:
    """{"precision", "recall", "density", "coverage"} of fake (M, D) against real (N, D)
    features, all with the same k (as `prdc.compute_prdc`; module docstring: definitions)."""
    real, fake = _as_features(real, fake)
    real_r2 = _knn_squared_radii(real, k, chunk_size)  # (N,)
    fake_r2 = _knn_squared_radii(fake, k, chunk_size)  # (M,)
    stats = _ball_statistics(real, fake, real_r2, fake_r2, chunk_size)
    return {"precision": float(np.mean(stats["in_real_balls"] > 0)),
            "recall": float(np.mean(stats["real_in_fake"])),
            "density": float(stats["in_real_balls"].sum() / (k * len(fake))),
            "coverage": float(np.mean(stats["covered"]))}


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3,
                     chunk_size: int = 256) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019; k = 3 as the paper):
    {"precision": the fraction of fakes inside some real k-NN ball, "recall": the fraction
    of reals inside some fake k-NN ball}."""
    scores = prdc(real, fake, k, chunk_size)
    return {"precision": scores["precision"], "recall": scores["recall"]}


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5,
                     chunk_size: int = 256) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020; k = 5 as the paper): {"density": real k-NN
    balls holding each fake, on average, / k, "coverage": the fraction of real k-NN balls
    holding at least one fake}. Only real balls are used."""
    real, fake = _as_features(real, fake)
    real_r2 = _knn_squared_radii(real, k, chunk_size)  # (N,)
    stats = _ball_statistics(real, fake, real_r2, None, chunk_size)
    return {"density": float(stats["in_real_balls"].sum() / (k * len(fake))),
            "coverage": float(np.mean(stats["covered"]))}
