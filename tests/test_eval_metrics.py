"""Detection, retrieval and compression metrics against scikit-learn and hand-made cases."""

import io

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import KNeighborsClassifier

from ae_jax.evaluation.anomaly import best_f1_threshold, detection_report
from ae_jax.evaluation.compression import entropy_bytes, jpeg_header_length, quality, quantiser
from ae_jax.evaluation.metrics import (
    auroc,
    average_precision,
    mean_average_precision,
    precision_at_k,
    precision_recall_f1,
    quantile_threshold,
)
from ae_jax.evaluation.representation import knn_accuracy
from ae_jax.evaluation.retrieval import _ap, _ap_host_sort, nearest_neighbours, search_metrics


@pytest.mark.parametrize("seed", range(5))
def test_auroc_matches_sklearn_on_random_scores_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(size=300) + 0.7 * y, 1)  # rounding makes many ties
    assert auroc(scores, y) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)


def test_auroc_extremes_and_one_class_error():
    assert auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert auroc([0.5, 0.5], [0, 1]) == 0.5
    with pytest.raises(ValueError, match="both classes"):
        auroc([0.1, 0.2], [1, 1])


def test_precision_recall_f1_by_hand():
    scores = np.array([0.1, 0.4, 0.6, 0.9, 0.3, 0.8])
    is_anomaly = np.array([0, 0, 1, 1, 1, 0])
    m = precision_recall_f1(scores, is_anomaly, threshold=0.5)  # alerts: 0.6, 0.9, 0.8
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 1, 1, 2)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3) and m["false_positive_rate"] == pytest.approx(1 / 3)
    assert quantile_threshold(np.arange(101.0), 0.95) == pytest.approx(95.0)


def test_best_f1_threshold_is_the_best_cut():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200).astype(bool)
    s = np.round(rng.normal(size=200) + y, 1)
    t = best_f1_threshold(s, y)
    best = max(precision_recall_f1(s, y, c)["f1"] for c in np.r_[s, s.min() - 1])
    assert precision_recall_f1(s, y, t)["f1"] == pytest.approx(best)


def test_detection_report_of_perfectly_separated_scores():
    train = np.linspace(0, 1, 100)
    test = np.r_[np.linspace(0, 1, 50), np.linspace(5, 6, 50)]
    rep = detection_report(train, test, np.r_[np.zeros(50), np.ones(50)])
    assert rep["auroc"] == 1.0 and rep["train_quantile"]["recall"] == 1.0
    assert rep["validation_f1"]["f1"] == 1.0


def test_precision_at_k_and_map_by_hand():
    # query labels 0 and 1; neighbours in rank order
    neighbours = np.array([[0, 1, 0, 0], [0, 0, 1, 1]])
    assert float(precision_at_k(neighbours[:, :2], np.array([0, 1]))) == pytest.approx(0.25)
    assert float(precision_at_k(neighbours, np.array([0, 1]))) == pytest.approx(0.625)
    relevant = neighbours == np.array([0, 1])[:, None]  # [1,0,1,1], [0,0,1,1]
    ap = np.asarray(average_precision(relevant))
    np.testing.assert_allclose(ap, [(1 + 2 / 3 + 3 / 4) / 3, (1 / 3 + 2 / 4) / 2], rtol=1e-6)
    assert mean_average_precision(relevant) == pytest.approx(ap.mean())
    assert float(average_precision(np.zeros((1, 3), bool))[0]) == 0.0


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_nearest_neighbours_match_brute_force(metric):
    rng = np.random.default_rng(1)
    q, g = rng.normal(size=(37, 5)), rng.normal(size=(120, 5))
    idx, _ = nearest_neighbours(q, g, 4, metric, batch_size=16)  # 37 = 2*16 + 5: padding
    if metric == "cosine":
        qn, gn = (a / np.linalg.norm(a, axis=1, keepdims=True) for a in (q, g))
        d = 1 - qn @ gn.T
    else:
        d = ((q[:, None] - g[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(idx, np.argsort(d, axis=1)[:, :4])


def test_search_map_matches_sklearn_average_precision():
    rng = np.random.default_rng(2)
    g, gl = rng.normal(size=(80, 3)), rng.integers(0, 3, 80)
    q, ql = rng.normal(size=(23, 3)), rng.integers(0, 3, 23)
    out = search_metrics(q, ql, g, gl, ks=(1, 5), batch_size=8)
    d = ((q[:, None] - g[None]) ** 2).sum(-1)
    expected = np.mean([average_precision_score(gl == ql[i], -d[i]) for i in range(len(q))])
    assert out["map"] == pytest.approx(expected, rel=1e-5)
    nearest = gl[np.argsort(d, axis=1)[:, :5]]
    assert out["precision_at_5"] == pytest.approx(np.mean(nearest == ql[:, None]))
    g32 = g.astype(np.float32)  # the on-device sort (accelerators) agrees with the host's
    args = (q.astype(np.float32), ql, g32, (g32 * g32).sum(1), gl, "euclidean")
    np.testing.assert_allclose(np.asarray(_ap(*args)), _ap_host_sort(*args), rtol=1e-6)


def test_knn_accuracy_matches_sklearn_without_ties():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(200, 4)), rng.integers(0, 2, 200)
    xt, yt = rng.normal(size=(50, 4)), rng.integers(0, 2, 50)
    ref = KNeighborsClassifier(3).fit(x, y).score(xt, yt)  # 2 classes, k = 3: no ties
    assert knn_accuracy(x, y, xt, yt, k=3) == pytest.approx(ref)


def test_quality_quantiser_entropy_and_jpeg_header():
    x = np.full((2, 16, 16, 1), 0.5)
    assert quality(x, x + 0.1)["psnr"] == pytest.approx(20.0, rel=1e-5)
    rng = np.random.default_rng(4)
    img = rng.uniform(size=(3, 8, 8, 1))  # 8x8: SSIM's window shrinks to 7
    assert quality(img, img)["ssim"] == pytest.approx(1.0, abs=1e-5)
    assert quality(img, rng.uniform(size=img.shape))["ssim"] < 0.3
    codes = rng.normal(size=(500, 6)).astype(np.float32)
    quantise, dequantise = quantiser(codes)
    step = (codes.max(0) - codes.min(0)) / 255
    assert np.all(np.abs(dequantise(quantise(codes)) - codes) <= step / 2 + 1e-6)
    constant = np.zeros((20000, 4), np.uint8)  # one symbol: 4 log2(20256 / 20001) bits
    assert entropy_bytes(constant, constant) == pytest.approx(4 * np.log2(20256 / 20001) / 8)
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((img[0, ..., 0] * 255).astype(np.uint8)).save(buf, format="JPEG")
    data = buf.getvalue()
    assert 0 < jpeg_header_length(data) < len(data) and data[-2:] == b"\xff\xd9"
