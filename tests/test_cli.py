"""The command line's discoverability: --list_configs, --show_config, and fields' comments."""

import os
import subprocess
import sys

import pytest

from ae_jax.cli import config_summaries, field_comments, show_config
from configs import default, vae
from tests.conftest import ROOT

CONFIGS = os.path.join(ROOT, "configs")


def _leaf_fields(config, prefix=""):
    for key in config.keys():
        value = config[key]
        if hasattr(value, "keys") and key not in ("terms", "warmup_epochs"):
            yield from _leaf_fields(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_every_field_of_the_base_config_has_its_comment():
    comments = field_comments(os.path.join(CONFIGS, "default.py"))
    fields = list(_leaf_fields(default.get_config()))
    assert len(fields) > 100
    assert [f for f in fields if not comments.get(f)] == []
    assert comments["optimizer.rho"] == comments["discriminator_optimizer.rho"]
    assert comments["optimizer.rho"].endswith("rmsprop 0.9)")  # a comment over two lines


def test_show_config_gives_each_field_its_value_and_meaning():
    config = vae.get_config()
    text = show_config(config, field_comments(os.path.join(CONFIGS, "default.py")))
    lines = text.split("\n")
    assert "loss.terms = {'kl': 1.0}" in text
    assert next(line for line in lines if line.startswith("num_epochs = 20 ")).endswith(
        "# passes over the training split")
    assert len(lines) == len(list(_leaf_fields(config)))


def test_list_configs_names_every_config_with_a_summary():
    rows = dict(config_summaries(CONFIGS))
    files = sorted(f"configs/{n}" for n in os.listdir(CONFIGS)
                   if n.endswith(".py") and not n.startswith("_"))
    assert sorted(rows) == files
    assert all(rows.values())
    assert rows["configs/quickstart.py"].startswith("Quick start")


@pytest.mark.slow
def test_the_flags_print_and_exit_without_a_workdir():
    listed = subprocess.run([sys.executable, "train.py", "--list_configs"], cwd=ROOT,
                            capture_output=True, text=True)
    assert listed.returncode == 0 and "configs/vae.py" in listed.stdout
    shown = subprocess.run([sys.executable, "train.py", "--config=configs/quickstart.py",
                            "--show_config", "--config.loss.terms.l1_activity=1e-5"],
                           cwd=ROOT, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert "data.name = 'digits'" in shown.stdout
    assert "loss.terms = {'l1_activity': 1e-05}" in shown.stdout
    missing = subprocess.run([sys.executable, "train.py", "--config=configs/quickstart.py"],
                             cwd=ROOT, capture_output=True, text=True)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: --workdir=<dir> is required")


def test_a_missing_config_file_is_one_line_naming_it(tmp_path):
    proc = subprocess.run([sys.executable, "train.py", "--config=configs/nope.py",
                           f"--workdir={tmp_path / 'w'}"], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: --config: no config file 'configs/nope.py' "
                                  "(train.py --list_configs lists the shipped ones)\n")
    assert not (tmp_path / "w").exists()
