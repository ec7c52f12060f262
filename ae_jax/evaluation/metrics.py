"""Detection and retrieval metrics: AUROC, precision / recall / F1, precision@k, mAP.

Conventions: a larger score means "more anomalous"; `is_anomaly` is 1 for the positive
(anomalous) class. Functions take numpy or jax arrays; `average_precision` is written in
`jax.numpy` so that it runs inside the jitted, batched search.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import sklearn.metrics


def auroc(scores, is_anomaly) -> float:
    """Area under the ROC curve, by the Mann-Whitney rank statistic:

        AUROC = (sum of ranks of the P positives - P (P + 1) / 2) / (P * N)

    with average ranks for ties, i.e. P(score of a random anomaly > score of a random
    normal example) + 0.5 P(tie): sklearn's `roc_auc_score`, which computes it.
    """
    scores = np.asarray(scores, np.float64).ravel()
    pos = np.asarray(is_anomaly).ravel().astype(bool)
    p, n = int(pos.sum()), int((~pos).sum())
    if p == 0 or n == 0:
        raise ValueError(f"AUROC needs both classes; got {p} anomalies and {n} normal examples")
    return float(sklearn.metrics.roc_auc_score(pos, scores))


def quantile_threshold(train_scores, quantile: float = 0.95) -> float:
    """The alert threshold t = the `quantile` of the scores of (normal) training examples:
    about (1 - quantile) of normal data is flagged."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    return float(np.quantile(np.asarray(train_scores, np.float64), quantile))


def precision_recall_f1(scores, is_anomaly, threshold: float) -> dict[str, float]:
    """Alerts are `score > threshold`. With TP, FP, FN counted on anomalies as positives:

        precision = TP / (TP + FP)   recall = TP / (TP + FN)   F1 = 2 P R / (P + R)

    (0 where a denominator is 0; sklearn.metrics computes them), plus the false-positive
    rate FP / (FP + TN).
    """
    alert = np.asarray(scores).ravel() > threshold
    pos = np.asarray(is_anomaly).ravel().astype(bool)
    tn, fp, fn, tp = (int(v) for v in sklearn.metrics.confusion_matrix(
        pos, alert, labels=[False, True]).ravel())
    precision, recall, f1, _ = sklearn.metrics.precision_recall_fscore_support(
        pos, alert, average="binary", zero_division=0.0)  # support is None for "binary"
    precision, recall, f1 = float(precision), float(recall), float(f1)
    return {"threshold": float(threshold), "precision": precision, "recall": recall, "f1": f1,
            "false_positive_rate": fp / (fp + tn) if fp + tn else 0.0,
            "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def precision_at_k(neighbour_labels, query_labels) -> float:
    """Mean over queries of the fraction of the k neighbours sharing the query's label:

        P@k = 1/Q sum_q 1/k sum_{i<=k} [label(n_{q,i}) == label(q)]

    neighbour_labels: (Q, k); query_labels: (Q,).
    """
    hits = np.asarray(neighbour_labels) == np.asarray(query_labels)[:, None]  # (Q, k)
    return float(np.mean(hits))


def average_precision(relevant):
    """Average precision of each query from its full ranking of the gallery.

        AP_q = 1/R_q sum_i P_q@i * rel_{q,i},   P_q@i = 1/i sum_{j<=i} rel_{q,j}

    relevant: (Q, G) booleans, gallery items in rank order (nearest first); R_q is the
    number of relevant items. Returns (Q,); a query with no relevant item gets 0.
    """
    rel = jnp.asarray(relevant).astype(jnp.float32)  # (Q, G)
    ranks = jnp.arange(1, rel.shape[1] + 1, dtype=jnp.float32)
    precision = jnp.cumsum(rel, axis=1) / ranks  # (Q, G): P@i
    num_relevant = jnp.sum(rel, axis=1)
    return jnp.sum(precision * rel, axis=1) / jnp.maximum(num_relevant, 1.0)


def mean_average_precision(relevant) -> float:
    """mAP: the mean of `average_precision` over queries."""
    return float(jnp.mean(average_precision(relevant)))
