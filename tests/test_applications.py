"""Applications end to end on tiny data: one-class runs (vmapped, each on its own subset),
the anomaly / retrieval / representation / compression tasks, the CSV source, refusals."""

import copy
import dataclasses
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ae_jax
from ae_jax.data import load_dataset
from ae_jax.data.csv_source import load_csv
from ae_jax.engine import train_and_evaluate
from ae_jax.engine.workdir import one_class_indices
from ae_jax.evaluation import get_task
from ae_jax.families import build_family
from ae_jax.families.base import SAMPLE
from ae_jax.loops import EpochRunner
from ae_jax.models.abilities import DECODE
from ae_jax.runs import create_run_states
from ae_jax.state import run_slice
from tests.conftest import ROOT, digits_config

ONE_CLASS = (0, 1, 7)


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def test_one_class_indices_take_equal_subsets_of_each_class():
    labels = np.array([0, 1, 1, 0, 2, 1, 0, 0])
    table = one_class_indices(labels, (0, 1))
    np.testing.assert_array_equal(table, [[0, 3, 6], [1, 2, 5]])  # min class size 3
    with pytest.raises(ValueError, match=r"no training examples of class\(es\) \[5\]"):
        one_class_indices(labels, (0, 5))


def test_vmapped_runs_on_own_subsets_equal_single_runs_on_filtered_data():
    config = digits_config(num_epochs=2)
    ds = load_dataset(config.data)
    table = one_class_indices(ds.train_labels, ONE_CLASS)  # (3, N_r)
    n_r = table.shape[1]
    family = build_family(config, ds.example_shape, n_r // 32)
    step = family.train_step
    flat = jnp.asarray(ds.train.reshape(len(ds.train), -1))
    init = create_run_states(family, [0, 1, 2])
    runner = EpochRunner(step, n_r, 32, "scan", runs=True, run_indices=table)
    stacked = jax.tree_util.tree_map(jnp.copy, init)
    for epoch in (1, 2):
        stacked, metrics = runner(stacked, flat, epoch)
    assert metrics["loss"].shape == (3,)
    single = EpochRunner(step, n_r, 32, "scan")
    for r in range(3):
        state = run_slice(init, r)  # the same run trained alone on its class's rows only
        for epoch in (1, 2):
            state, _ = single(state, flat[table[r]], epoch)
        for a, b in zip(_leaves(run_slice(stacked, r).nets["model"].params),
                        _leaves(state.nets["model"].params), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_unrolled_loop_gathers_each_runs_rows_from_its_own_subset():
    table = np.array([[0, 2, 4, 6, 8, 10], [1, 3, 5, 7, 9, 11]])
    runner = EpochRunner(lambda s, b: (s, {}), 6, 2, "steps", runs=True, run_indices=table)
    keys = jax.vmap(jax.random.PRNGKey)(jnp.arange(2))
    rows = np.asarray(runner._indices(keys, 1, runner.run_indices))  # (R, steps, B)
    assert rows.shape == (2, 3, 2)
    for r in range(2):
        assert sorted(rows[r].ravel()) == sorted(table[r])


def test_run_indices_shape_is_checked():
    with pytest.raises(ValueError, match=r"run_indices must be \(R, N_r\)"):
        EpochRunner(lambda s, b: (s, {}), 10, 2, runs=True, run_indices=np.zeros((10,), int))


@pytest.fixture(scope="module")
def one_class_workdir(tmp_path_factory):
    """Three one-class runs on digits as one vmapped program (4 steps an epoch)."""
    workdir = str(tmp_path_factory.mktemp("one_class"))
    config = digits_config(num_runs=len(ONE_CLASS), batch_size=32, num_epochs=40,
                           checkpoint_every_epochs=40, plot_every_epochs=0)
    config.data.one_class = ONE_CLASS
    train_and_evaluate(config, workdir)
    return workdir


def _evaluate(workdir, task, **options):
    out_dir = os.path.join(workdir, "eval")
    os.makedirs(out_dir, exist_ok=True)
    return get_task(task)(ae_jax.load(workdir), out_dir, options)


def test_anomaly_task_reports_one_auroc_per_class(one_class_workdir):
    result = _evaluate(one_class_workdir, "anomaly")
    assert list(result["auroc_per_class"]) == ["0", "1", "7"]
    assert all(0.6 < a <= 1.0 for a in result["auroc_per_class"].values()), result
    assert result["mean_auroc"] == pytest.approx(np.mean(list(result["auroc_per_class"].values())))
    run0 = result["per_run"][0]
    assert run0["num_test_normal"] + run0["num_test_anomalous"] == 359
    assert set(run0["train_quantile"]) >= {"threshold", "precision", "recall", "f1"}
    assert os.path.exists(os.path.join(one_class_workdir, "eval", "anomaly_scores.png"))


@pytest.mark.slow
def test_code_tasks_cover_every_run_and_the_baselines(one_class_workdir):
    ret = _evaluate(one_class_workdir, "retrieval", ks=[1, 5], map_queries=100,
                    num_grid_queries=2)
    assert {"ae_run0", "ae_run1", "ae_run2", "ae_mean", "pixels", "pca_8"} <= set(ret)
    assert 0 < ret["pixels"]["map"] <= 1 and ret["pixels"]["map_queries"] == 100
    assert os.path.exists(os.path.join(one_class_workdir, "eval", "retrieval_ae_run2.png"))
    rep = _evaluate(one_class_workdir, "representation", runs=[1], probe_train_limit=500)
    assert {"ae_run1", "pixels", "pca_8"} <= set(rep) and "ae_run0" not in rep
    assert rep["pixels"]["knn_5"] > 0.9  # digits' raw pixels: a near-perfect kNN
    comp = _evaluate(one_class_workdir, "compression", runs=[0], jpeg_images=50,
                     jpeg_qualities=[10, 90], pca_sizes=[4])
    ae = comp["ae_run0"]
    assert ae["code_size"] == 8 and ae["float32"]["bytes"] == 32 and ae["uint8"]["bytes"] == 8
    assert ae["uint8"]["ratio"] == 64 / 8 and sorted(comp["pca"]) == ["4", "8"]
    assert comp["jpeg"][1]["psnr"] > comp["jpeg"][0]["psnr"]
    assert os.path.exists(os.path.join(one_class_workdir, "eval",
                                       "compression_rate_distortion.png"))


def test_tasks_refuse_untrained_workdirs_and_models_without_encoder(tmp_path,
                                                                    one_class_workdir):
    train_and_evaluate(digits_config(num_epochs=0), str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no trained checkpoint"):
        ae_jax.load(str(tmp_path))

    run = ae_jax.load(one_class_workdir)
    no_encoder = copy.copy(run.family)  # e.g. a GAN generator's: decode and sample only
    no_encoder.abilities = lambda: frozenset({DECODE, SAMPLE})
    run = dataclasses.replace(run, family=no_encoder, _compiled={})
    for task in ("retrieval", "representation", "compression"):
        with pytest.raises(ValueError, match=f"task '{task}' needs a model that can 'encode'"):
            get_task(task)(run, str(tmp_path), {})


def _write_csv(path, rows, header):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(map(str, r)) + "\n")


def test_csv_source_standardises_on_normal_training_rows(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 2.0, size=(200, 3))
    kind = np.where(np.arange(200) % 4 == 0, "odd", "ok")
    path = str(tmp_path / "t.csv")
    _write_csv(path, [[*row, k] for row, k in zip(x, kind, strict=True)], ["a", "b", "c", "kind"])
    ds = load_csv(path, "kind", ("ok",), test_fraction=0.25, seed=0)
    assert ds.class_names == ("odd", "ok") and ds.example_shape == (1, 3, 1)
    assert ds.train.dtype == np.float32 and np.all(ds.train_labels == 1)
    assert len(ds.train) + len(ds.test) == 200 and np.sum(ds.test_labels == 0) == 50
    np.testing.assert_allclose(ds.train.reshape(-1, 3).mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.train.reshape(-1, 3).std(0), 1, atol=1e-4)
    _write_csv(path, [[1, "x"]], ["a", "b"])
    with pytest.raises(ValueError, match="column 'b' is not numeric"):
        load_csv(path)


def test_tabular_anomaly_demo_end_to_end(tmp_path):
    from scripts.make_tabular_demo import write_table

    csv_path = write_table("breast_cancer", str(tmp_path / "bc.csv"))
    sys.path.insert(0, ROOT)
    from configs import anomaly_tabular

    config = anomaly_tabular.get_config()
    config.data.path = csv_path
    config.num_epochs = 20
    config.progress_bar = config.tensorboard = False
    workdir = str(tmp_path / "wd")
    train_and_evaluate(config, workdir)
    result = _evaluate(workdir, "anomaly")
    assert result["per_run"][0]["normal"] == "benign"
    assert result["mean_auroc"] > 0.8, result
    with pytest.raises(ValueError, match="needs uint8 images"):
        _evaluate(workdir, "compression")


def test_anomaly_baselines_agree_with_brute_force_and_sklearn():
    """kNN distance against a float64 loop, PCA error against scikit-learn's PCA."""
    from sklearn.decomposition import PCA as SkPCA

    from ae_jax.evaluation.anomaly_baselines import knn_scores, pca_scores

    r = np.random.default_rng(0)
    train, test = r.normal(size=(200, 12)), r.normal(size=(30, 12))
    brute = [np.sort(np.linalg.norm(train - t, axis=1))[:5].mean() for t in test]
    np.testing.assert_allclose(knn_scores(train, test, k=5, chunk=7), brute, rtol=1e-6)
    sk = SkPCA(4).fit(train)
    err = np.sum(np.square(test - sk.inverse_transform(sk.transform(test))), axis=1)
    np.testing.assert_allclose(pca_scores(train, test, 4), err, rtol=1e-6)


def test_anomaly_baselines_task_on_digits(tmp_path):
    """Digit 0 as the normal class: every baseline separates it from the other digits."""
    from ae_jax.evaluation import get_task

    train_and_evaluate(digits_config(num_epochs=1), str(tmp_path))
    run = ae_jax.load(str(tmp_path))
    result = get_task("anomaly_baselines")(run, str(tmp_path), {"normal_classes": [0]})
    assert set(result["mean_auroc"]) == {"ocsvm", "pca", "knn"}
    for name, value in result["mean_auroc"].items():
        assert 0.8 < value <= 1.0, name


def test_an_unknown_baseline_is_named():
    from ae_jax.evaluation.anomaly_baselines import baseline_names

    assert baseline_names({"baselines": "ocsvm,knn"}) == ["ocsvm", "knn"]
    with pytest.raises(ValueError, match=r"unknown baseline\(s\) \['svm'\].*known: ocsvm"):
        baseline_names({"baselines": "svm"})
