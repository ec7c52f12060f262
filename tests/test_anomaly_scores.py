"""The `anomaly` task's scores (ae_jax/evaluation/anomaly.py): kNN and Mahalanobis scores
against brute force, combined scores normalised by training statistics only, ensembles as
the mean of their members, on small arrays and a four-run one-class workdir on digits."""

import dataclasses
import os

import numpy as np
import pytest

import ae_jax
from ae_jax.engine import train_and_evaluate
from ae_jax.evaluation import get_task
from ae_jax.evaluation.anomaly import (
    detector_groups,
    detector_scores,
    evaluate_detector,
    knn_scores,
    mahalanobis_scores,
    score_components,
    ssim_scores,
    standardised_mean,
)
from ae_jax.evaluation.metrics import auroc
from tests.conftest import digits_config

ONE_CLASS = (0, 0, 3, 3)  # two seeds per class


def test_knn_scores_equal_brute_force_and_leave_one_out_drops_only_the_row_itself():
    r = np.random.default_rng(0)
    train, test = r.normal(size=(60, 5)), r.normal(size=(17, 5))
    train[7] = train[3]  # a duplicate: its twin stays a neighbour at distance 0
    brute = [np.sort(np.linalg.norm(train - t, axis=1))[:4].mean() for t in test]
    np.testing.assert_allclose(knn_scores(train, test, k=4, chunk=5), brute, rtol=1e-6)
    loo = [np.sort(np.linalg.norm(np.delete(train, i, 0) - train[i], axis=1))[:4].mean()
           for i in range(len(train))]
    np.testing.assert_allclose(knn_scores(train, None, k=4, chunk=7), loo, rtol=1e-6,
                               atol=1e-6)


def test_mahalanobis_scores_equal_brute_force():
    r = np.random.default_rng(1)
    train = r.normal(size=(300, 4)) @ r.normal(size=(4, 4))
    train[:, 3] = 0.0  # a dead code unit: the ridge keeps the score finite
    test = r.normal(size=(9, 4))
    cov = np.cov(train.T, bias=False)
    cov += 1e-3 * np.trace(cov) / 4 * np.eye(4)
    brute = [(t - train.mean(0)) @ np.linalg.solve(cov, t - train.mean(0)) for t in test]
    np.testing.assert_allclose(mahalanobis_scores(train, test), brute, rtol=1e-6)


def test_ssim_scores_in_batches_equal_one_call_and_pick_the_window_that_fits():
    import jax.numpy as jnp

    from ae_jax.image_metrics import ssim

    r = np.random.default_rng(3)
    x = r.uniform(size=(6, 28, 28, 1)).astype(np.float32)
    y = np.clip(x + r.normal(0.0, 0.2, size=x.shape), 0.0, 1.0).astype(np.float32)
    np.testing.assert_allclose(ssim_scores(x, y, batch=4), ssim(jnp.asarray(x), jnp.asarray(y)),
                               atol=1e-6)
    small = r.uniform(size=(3, 8, 8, 1)).astype(np.float32)  # digits: the 7 x 7 window
    np.testing.assert_allclose(ssim_scores(small, small[::-1]),
                               ssim(jnp.asarray(small), jnp.asarray(small[::-1]),
                                    window_size=7), atol=1e-6)


def test_combined_score_is_the_mean_z_score_by_training_statistics_only():
    r = np.random.default_rng(2)
    pairs = [(r.gamma(2.0, size=50), r.gamma(2.0, size=20)),
             (r.normal(10.0, 3.0, size=50), r.normal(10.0, 3.0, size=20))]
    train_s, test_s = standardised_mean(pairs)
    expect = np.mean([(te - tr.mean()) / tr.std() for tr, te in pairs], axis=0)
    np.testing.assert_allclose(test_s, expect, rtol=1e-12)
    # a test example's score does not depend on the other test examples
    _, part = standardised_mean([(tr, te[5:9]) for tr, te in pairs])
    np.testing.assert_allclose(part, test_s[5:9], rtol=1e-12)
    assert abs(train_s.mean()) < 1e-12
    assert score_components("mse + code_knn") == ["mse", "code_knn"]
    with pytest.raises(ValueError, match=r"unknown anomaly score\(s\) \['knn'\]"):
        score_components("mse+knn")


def test_detector_groups_join_runs_with_the_same_normal_classes():
    members = [(0, "a", [0]), (1, "b", [0]), (2, "c", [3]), (3, "d", [3])]
    assert [[m[0] for m in g] for g in detector_groups(members)] == [[0, 1], [2, 3]]
    assert len(detector_groups(members, "none")) == 4
    with pytest.raises(ValueError, match="unknown ensemble 'max'"):
        detector_groups(members, "max")


@pytest.fixture(scope="module")
def two_seed_workdir(tmp_path_factory):
    """Four one-class runs on digits, two seeds for each of classes 0 and 3."""
    workdir = str(tmp_path_factory.mktemp("two_seeds"))
    config = digits_config(num_runs=len(ONE_CLASS), batch_size=32, num_epochs=10,
                           checkpoint_every_epochs=10, plot_every_epochs=0)
    config.data.one_class = ONE_CLASS
    train_and_evaluate(config, workdir)
    return workdir


def _members(workdir):
    return [(r, ae_jax.load(workdir, r), [ONE_CLASS[r]]) for r in range(len(ONE_CLASS))]


def test_code_knn_of_a_run_equals_brute_force_on_its_codes(two_seed_workdir):
    run = ae_jax.load(two_seed_workdir, 2)
    ds = run.dataset
    train_x = ds.train[ds.train_labels == 3]
    train_s, test_s = detector_scores(run, "code_knn", train_x, ds.test[:40], k=3)
    z_train, z_test = run.encode(train_x), run.encode(ds.test[:40])
    brute = [np.sort(np.linalg.norm(z_train - z, axis=1))[:3].mean() for z in z_test]
    np.testing.assert_allclose(test_s, brute, rtol=1e-4, atol=1e-5)
    assert len(train_s) == len(train_x) and np.all(train_s > 0)  # left-out self-distance


def test_ensemble_score_is_the_mean_of_its_members_and_ignores_test_labels(two_seed_workdir):
    members = _members(two_seed_workdir)
    options = {"score": "mse+code_knn", "k": 5, "quantile": 0.95}
    row, scores, is_anomaly = evaluate_detector(members[:2], options)
    alone = [evaluate_detector([m], options) for m in members[:2]]
    np.testing.assert_allclose(scores, np.mean([a[1] for a in alone], axis=0), rtol=1e-6)
    assert row["member_auroc"] == pytest.approx([a[0]["auroc"] for a in alone])
    assert row["auroc"] == pytest.approx(auroc(scores, is_anomaly))
    # the scores (and the normalisation behind them) never read the test labels
    run = members[0][1]
    shuffled = dataclasses.replace(run.dataset, test_labels=np.random.default_rng(0)
                                   .permutation(run.dataset.test_labels))
    moved = [(0, dataclasses.replace(run, dataset=shuffled), [0])]
    np.testing.assert_array_equal(evaluate_detector(moved, options)[1], alone[0][1])


def test_anomaly_task_reports_one_detector_per_class(two_seed_workdir):
    run = ae_jax.load(two_seed_workdir)
    out_dir = os.path.join(two_seed_workdir, "eval")
    os.makedirs(out_dir, exist_ok=True)
    task = get_task("anomaly")
    mean = task(run, out_dir, {"score": "code_knn"})
    assert list(mean["auroc_per_class"]) == ["0", "3"] and mean["ensemble"] == "mean"
    assert [p["runs"] for p in mean["per_run"]] == [[0, 1], [2, 3]]
    assert all(0.8 < a <= 1.0 for a in mean["auroc_per_class"].values()), mean
    alone = task(run, out_dir, {"score": "code_knn", "ensemble": "none"})
    assert [p["auroc"] for p in alone["per_run"]] == pytest.approx(
        [a for p in mean["per_run"] for a in p["member_auroc"]])
    ssim = task(run, out_dir, {"score": "ssim+code_mahalanobis", "runs": [2]})
    assert ssim["per_run"][0]["runs"] == [2] and 0.5 < ssim["mean_auroc"] <= 1.0


def test_score_select_chooses_on_one_half_and_reports_the_other(two_seed_workdir):
    from ae_jax.evaluation.anomaly import SELECTION_CANDIDATES, selection_half

    run = ae_jax.load(two_seed_workdir)
    out_dir = os.path.join(two_seed_workdir, "eval")
    os.makedirs(out_dir, exist_ok=True)
    result = get_task("anomaly")(run, out_dir, {"score": "select"})
    selection = result["selection"]
    table = selection["candidates"]
    assert len(SELECTION_CANDIDATES) == 10 and list(table) == list(SELECTION_CANDIDATES)
    chosen = selection["chosen"]
    assert table[chosen]["selection_auroc"] == max(t["selection_auroc"] for t in table.values())
    assert result["score"] == chosen and selection["evaluation_auroc"] == pytest.approx(
        table[chosen]["evaluation_auroc"])
    # the evaluation-half figure, recomputed by hand from the chosen score alone
    half = selection_half(len(run.dataset.test))
    assert 0 < half.sum() < len(half) and half.sum() == len(half) // 2
    by_hand = []
    for group in detector_groups(_members(two_seed_workdir)):
        _, scores, is_anomaly = evaluate_detector(group, {"score": chosen, "k": 5,
                                                          "quantile": 0.95})
        by_hand.append(auroc(scores[~half], is_anomaly[~half]))
    assert selection["evaluation_auroc"] == pytest.approx(np.mean(by_hand), rel=1e-9)
    assert result["mean_auroc"] == pytest.approx(
        np.mean([p["auroc"] for p in result["per_run"]]))
