"""The zoo benchmark command on a one-model zoo of tiny configs: rows per seed, the table,
the cache, and bounds that must hold."""

import csv
import os
import textwrap

import numpy as np
import pytest

from ae_jax.benchmark import parse_setting, run_benchmark, select, zoo_configs
from tests.conftest import ROOT

TINY = textwrap.dedent('''
    """A tiny VAE for the benchmark test."""
    from configs import vae

    ZOO = dict(model="tiny VAE", paper="Kingma & Welling 2014")


    def get_config():
        config = vae.get_config()
        config.data.name = "digits"
        config.model.hidden_sizes = (32,)
        config.model.latent_dim = 4
        config.batch_size = 64
        config.tensorboard = False
        config.num_plot_images = 0
        config.num_sample_images = 0
        return config
''')


@pytest.fixture
def tiny_zoo(tmp_path):
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "tiny_vae.py").write_text(TINY)
    (configs / "not_in_zoo.py").write_text("def get_config():\n    return None\n")
    return str(configs)


def test_only_configs_with_a_zoo_entry_are_found(tiny_zoo):
    assert list(zoo_configs(tiny_zoo)) == ["tiny_vae"]
    with pytest.raises(ValueError, match="unknown \\['nope'\\]"):
        select(zoo_configs(tiny_zoo), "tiny_vae,nope")


def test_the_repository_zoo_is_found_from_its_folder():
    assert {"vae", "beta_vae", "beta_tcvae"} <= set(zoo_configs(os.path.join(ROOT, "configs")))


def test_benchmark_rows_table_cache_and_bounds(tiny_zoo, tmp_path):
    out = str(tmp_path / "bench")
    rows = run_benchmark(tiny_zoo, "all", epochs=2, seeds=2, workdir=out, test_examples=50,
                         nll_samples=64)
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
                          test_examples=50, nll_samples=64)
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
