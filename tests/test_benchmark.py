"""The zoo benchmark command on a one-model zoo of tiny configs: rows per seed, the table,
the cache, and bounds that must hold."""

import csv
import os
import shutil
import textwrap

import numpy as np
import pytest

from ae_jax.benchmark import parse_setting, run_benchmark, select, zoo_configs
from ae_jax.metric_writers import read_metrics
from tests.conftest import ROOT


def tiny_config(base: str, doc: str, model: str, paper: str) -> str:
    """A zoo config file on digits: `base`'s model with one hidden layer of 32, 4 latents."""
    return textwrap.dedent(f'''
        """{doc}"""
        from configs import {base}

        ZOO = dict(model="{model}", paper="{paper}")


        def get_config():
            config = {base}.get_config()
            config.data.name = "digits"
            config.model.hidden_sizes = (32,)
            config.model.latent_dim = 4
            config.batch_size = 64
            config.tensorboard = False
            config.num_plot_images = 0
            config.num_sample_images = 0
            return config
    ''')


TINY = tiny_config("vae", "A tiny VAE for the benchmark test.", "tiny VAE",
                   "Kingma & Welling 2014")
TINY_RAE = tiny_config("rae_l2", "A tiny RAE-L2 (deterministic: no density, prior N(0, I)) "
                       "for the benchmark test.", "tiny RAE",
                       "Ghosh et al. 2020, From Variational to Deterministic")
# scoring settings small enough for the CPU: few samples, a one-epoch classifier
FAST = dict(samples=60, classifier_epochs=1, probe_examples=300)


@pytest.fixture
def tiny_zoo(tmp_path):
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "tiny_vae.py").write_text(TINY)
    (configs / "not_in_zoo.py").write_text("def get_config():\n    return None\n")
    return str(configs)


@pytest.fixture(scope="module")
def two_model_zoo(tmp_path_factory):
    """tiny_vae and a deterministic autoencoder, tiny_rae (first in the zoo's order)."""
    configs = tmp_path_factory.mktemp("zoo") / "configs"
    configs.mkdir()
    (configs / "tiny_vae.py").write_text(TINY)
    (configs / "tiny_rae.py").write_text(TINY_RAE)
    return str(configs)


LIMIT = {"data.train_limit": 400}  # digits: 400 training images, 360 test
SMALL = dict(epochs=1, seeds=1, test_examples=100, nll_samples=8, overrides=LIMIT, **FAST)


@pytest.fixture(scope="module")
def full_benchmark(two_model_zoo, tmp_path_factory):
    """(workdir, rows) of one uninterrupted two-model benchmark with SMALL settings: the
    smoke test reads it, the kill test compares with it."""
    out = str(tmp_path_factory.mktemp("full") / "bench")
    return out, run_benchmark(two_model_zoo, "all", workdir=out, **SMALL)


def test_only_configs_with_a_zoo_entry_are_found(tiny_zoo):
    assert list(zoo_configs(tiny_zoo)) == ["tiny_vae"]
    with pytest.raises(ValueError, match="unknown \\['nope'\\]"):
        select(zoo_configs(tiny_zoo), "tiny_vae,nope")


def test_the_repository_zoo_is_found_from_its_folder():
    assert {"vae", "beta_vae", "beta_tcvae"} <= set(zoo_configs(os.path.join(ROOT, "configs")))


@pytest.mark.slow
def test_benchmark_rows_table_cache_and_bounds(tiny_zoo, tmp_path):
    out = str(tmp_path / "bench")
    rows = run_benchmark(tiny_zoo, "all", epochs=2, seeds=2, workdir=out, test_examples=50,
                         nll_samples=64, overrides=LIMIT, **FAST)
    assert [r["seed"] for r in rows] == [0, 1]
    for r in rows:
        # L_K >= L_1 for the same K log-weights (Jensen): the bound lies below the -ELBO
        assert r["neg_log_px_bound"] <= r["neg_elbo"]
        assert 0 < r["bce"] and 0 < r["mse"] < 64  # 64 pixels in [0, 1]
    assert rows[0]["bce"] != rows[1]["bce"]  # two seeds, two models
    with open(os.path.join(out, "results.csv")) as f:
        table = list(csv.DictReader(f))
    assert len(table) == 2 and table[0]["config"] == "tiny_vae"
    md = open(os.path.join(out, "results.md")).read()
    bce = np.array([r["bce"] for r in rows])
    assert f"{bce.mean():.2f} +- {bce.std(ddof=1):.2f}" in md
    cache = os.path.join(out, "tiny_vae", "eval", "benchmark_run0.json")
    stamp = os.path.getmtime(cache)
    again = run_benchmark(tiny_zoo, "tiny_vae", epochs=2, seeds=2, workdir=out,
                          test_examples=50, nll_samples=64, overrides=LIMIT, **FAST)
    assert [r["bce"] for r in again] == [r["bce"] for r in rows]
    assert os.path.getmtime(cache) == stamp  # scores reused, training skipped
    assert again[0]["seconds"] == rows[0]["seconds"] > 0  # from metrics.jsonl


def test_settings_parse_json_or_keep_strings():
    assert parse_setting("data.train_limit=100") == ("data.train_limit", 100)
    assert parse_setting("data.name=fashion_mnist") == ("data.name", "fashion_mnist")
    with pytest.raises(ValueError, match="field=value"):
        parse_setting("data.name")


def test_the_table_cites_authors_and_year():
    from ae_jax.benchmark import short_citation

    assert short_citation("Burda, Grosse & Salakhutdinov 2016, Importance Weighted "
                          "Autoencoders") == "Burda, Grosse & Salakhutdinov 2016"
    assert short_citation("a title without a year") == "a title without a year"


def test_the_disentanglement_group_selects_its_five_models():
    zoo = zoo_configs(os.path.join(ROOT, "configs"))
    assert list(select(zoo, "disentanglement")) == ["vae", "beta_vae", "beta_tcvae",
                                                    "factor_vae", "dip_vae_i"]
    assert list(select(zoo, "vae,disentanglement")) == list(select(zoo, "disentanglement"))


PIXELS = textwrap.dedent('''
    """Raw pixels as features: a user-supplied extractor for the benchmark test."""


    class Pixels:
        def features(self, x):
            return x.reshape(len(x), -1)


    def pixels(dataset):
        return Pixels()
''')


def counting(monkeypatch) -> dict:
    """Patch every score group of benchmark_scores to count its calls: {group: calls}."""
    from ae_jax.evaluation import benchmark_scores

    calls = dict.fromkeys(benchmark_scores.GROUPS, 0)

    def wrap(group, fn):
        def counted(*args):
            calls[group] += 1
            return fn(*args)
        return counted

    for group, fn in list(benchmark_scores.GROUPS.items()):
        monkeypatch.setitem(benchmark_scores.GROUPS, group, wrap(group, fn))
    return calls


@pytest.mark.slow
def test_smoke_two_models_every_new_column_table_and_figure(full_benchmark):
    out, rows = full_benchmark
    assert [r["config"] for r in rows] == ["tiny_rae", "tiny_vae"]
    for r in rows:
        assert r["frechet_prior"] >= 0 and r["frechet_gmm"] >= 0
        for c in ("precision", "recall", "coverage"):
            assert 0 <= r[c] <= 1, c
        assert r["density"] >= 0
        assert r["probe"] > 0.2  # 10 digit classes: chance is 0.1
        assert all(np.isnan(r[c]) for c in ("mig", "sap", "dci_d"))  # digits: no factors
    assert np.isnan(rows[0]["neg_elbo"]) and rows[1]["neg_elbo"] > 0  # the RAE: no density
    with open(os.path.join(out, "results.csv")) as f:
        header = next(csv.reader(f))
    assert {"frechet_prior", "frechet_gmm", "precision", "recall", "density", "coverage",
            "probe", "mig", "factor_vae_score", "dci_d", "dci_c", "dci_i", "sap"} <= set(header)
    md = open(os.path.join(out, "results.md")).read()
    assert "`tiny_rae`" in md and "`tiny_vae`" in md and "Frechet GMM" in md
    assert "MIG" not in md and "NOT Inception" in md  # all-NaN columns are dropped
    assert os.path.getsize(os.path.join(out, "samples.png")) > 0


@pytest.mark.slow
def test_equal_settings_recompute_nothing_and_a_new_extractor_only_the_samples(
        full_benchmark, two_model_zoo, tmp_path, monkeypatch):
    out, rows = full_benchmark
    calls = counting(monkeypatch)
    same = lambda rows: [{k: repr(v) for k, v in r.items()} for r in rows]  # noqa: E731
    again = run_benchmark(two_model_zoo, "all", workdir=out, **SMALL)
    assert same(again) == same(rows)  # nan too
    assert not any(calls.values())  # equal settings: nothing recomputed
    out = str(tmp_path / "copy")  # the full benchmark's workdir stays as it is
    shutil.copytree(full_benchmark[0], out)
    (tmp_path / "pixel_features.py").write_text(PIXELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    pixels = run_benchmark(two_model_zoo, "tiny_vae", workdir=out,
                           **{**SMALL, "features": "pixel_features:pixels"})
    assert calls == {"reconstruction": 0, "samples": 1, "probe": 0, "disentanglement": 0}
    assert pixels[0]["bce"] == rows[1]["bce"]
    assert pixels[0]["frechet_prior"] != rows[1]["frechet_prior"]
    with pytest.raises(ValueError, match="use module:function"):
        run_benchmark(two_model_zoo, "tiny_vae", workdir=out,
                      **{**SMALL, "samples": 61, "features": "pixels"})


def snapshot(folder) -> dict:
    """{relative path: (bytes, mtime_ns)} of every file under `folder`."""
    out = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = (f.read(), os.stat(path).st_mtime_ns)
    return out


def csv_rows(workdir) -> list[dict]:
    with open(os.path.join(workdir, "results.csv")) as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_kills_between_and_inside_models_then_rerun_keep_the_first_and_equal_a_full_run(
        two_model_zoo, full_benchmark, tmp_path):
    import subprocess
    import sys

    killed = str(tmp_path / "killed")
    command = [sys.executable, "-m", "ae_jax.benchmark", f"--configs_dir={two_model_zoo}",
               "--models=all", "--epochs=1", "--seeds=1", f"--workdir={killed}",
               "--test_examples=100", "--nll_samples=8", "--samples=60",
               "--classifier_epochs=1", "--probe_examples=300", "--set=data.train_limit=400"]
    env = {**os.environ, "AE_JAX_FAULT": "benchmark_model:1"}
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr[-2000:]  # SIGKILLed after the first model
    assert not os.path.exists(os.path.join(killed, "tiny_vae", "eval"))
    first = snapshot(os.path.join(killed, "tiny_rae"))
    assert "metrics.jsonl" in first and "eval/benchmark_run0.json" in first
    assert any(p.startswith("checkpoints/") for p in first)
    before = csv_rows(killed)
    assert [r["config"] for r in before] == ["tiny_rae"]
    # killed again inside tiny_vae's only checkpoint save: its epoch's lines are written,
    # its checkpoint is not committed, so the rerun must train it again, not score nothing
    env["AE_JAX_FAULT"] = "checkpoint_save:1"  # tiny_rae is done: this save is tiny_vae's
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert read_metrics(os.path.join(killed, "tiny_vae"))[-1]["epoch"] == 1
    assert not os.path.exists(os.path.join(killed, "tiny_vae", "eval"))
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    assert snapshot(os.path.join(killed, "tiny_rae")) == first  # not retrained nor rescored
    resumed, uninterrupted = csv_rows(killed), csv_rows(full_benchmark[0])
    assert resumed[0]["seconds"] == before[0]["seconds"]  # from the first run's metrics
    # every column but the measured training seconds, exactly as written
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(resumed) == strip(uninterrupted)
    assert [r["config"] for r in resumed] == ["tiny_rae", "tiny_vae"]


@pytest.mark.slow
def test_shapes_gives_disentanglement_columns_in_the_unit_interval(tiny_zoo, tmp_path):
    out = str(tmp_path / "bench")
    shapes = {"data.shapes_num_examples": 600, "data.shapes_image_size": 32}
    rows = run_benchmark(tiny_zoo, "tiny_vae", epochs=1, seeds=1, workdir=out,
                         test_examples=120, nll_samples=8, overrides=shapes, dataset="shapes",
                         **FAST, factor_examples=480, factor_vae_votes=50)
    (row,) = rows
    for c in ("mig", "factor_vae_score", "dci_d", "dci_c", "dci_i", "sap"):
        assert 0 <= row[c] <= 1, (c, row[c])
    assert row["probe"] > 1 / 3  # the shape: 3 classes
    md = open(os.path.join(out, "results.md")).read()
    assert "FactorVAE" in md and "DCI with lasso" in md
