"""benchmarks/gpu.sh's dry run (the CPU, a few images) goes through every section and prints
the tables a GPU run prints; the peers' IDX reader, speed.py's peer look-up and conv_step.py's
op-to-layer map."""

import importlib.util
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT

SCRIPTS = ["benchmarks/gpu.sh", "benchmarks/gpu_wheels.sh", "benchmarks/peers/setup_envs.sh"]
WORKLOADS = ["dense", "deep", "vae", "conv_dae"]
SECTIONS = ["install", "tests", "speed", "dense_ae", "runs_1", "runs_8"]


def _module(path: str, name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_parse(script):
    subprocess.run(["bash", "-n", script], cwd=ROOT, check=True)


def test_gpu_script_refuses_unknown_arguments():
    proc = subprocess.run(["bash", "benchmarks/gpu.sh", "--fast"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown argument '--fast'" in proc.stderr


@pytest.mark.slow
def test_dry_run_prints_every_row(tmp_path):
    proc = subprocess.run(["bash", "benchmarks/gpu.sh", "--dry_run"], cwd=ROOT,
                          capture_output=True, text=True, timeout=1500,
                          env={**os.environ, "PYTHON": sys.executable,
                               "RESULTS_DIR": str(tmp_path)})
    out = proc.stdout
    assert proc.returncode == 0, (out + proc.stderr)[-4000:]
    for workload in WORKLOADS:  # the speed table: ae_jax and both Flax peers per workload
        for framework in ("ae_jax", "flax-step", "flax-scan"):
            row = re.search(rf"^\| {workload} \| {framework} \| (.*)\|$", out, re.M)
            assert row, f"no {workload} / {framework} row"
            cells = [c.strip() for c in row.group(1).split("|")]
            assert len(cells) == 8 and float(cells[1].replace(",", "")) > 0  # us/step
            assert re.fullmatch(r"\d+ \(\d+\.\d%\)", cells[6])  # GFLOP/s (% of peak)
    assert re.search(r"^\| dense_ae \| 2 \| \d+ \| [\d.]+ \| [\d.]+ \|$", out, re.M)
    for runs in (1, 8):
        assert re.search(rf"^\| dense_ae num_runs={runs} \| 1 \| \d+ \|", out, re.M)
    assert "8 vmapped runs:" in out
    for section in SECTIONS:
        assert re.search(rf"^\| {section} \| \d+ \| ok \|$", out, re.M), section
    assert re.search(r"^\| total \| \d+ \| ok \|$", out, re.M)
    collected = (tmp_path / "tests.log").read_text()  # the dry run collects the GPU tests
    for name in ("test_experiment", "test_training", "test_parallel", "test_sweeps"):
        assert re.search(rf"tests/{name}\.py: [1-9]", collected), name
    assert (tmp_path / "workdirs" / "dense_ae_50" / "checkpoints").is_dir()


def test_peer_idx_reader_and_missing_data(tmp_path, monkeypatch):
    idx = _module("benchmarks/peers/_idx.py", "peer_idx")
    images = np.arange(2 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(2, 28, 28)
    header = bytes([0, 0, 8, 3]) + np.array([2, 28, 28], ">u4").tobytes()
    for stem in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        (tmp_path / stem).write_bytes(header + images.tobytes())
    monkeypatch.setenv(idx.DATA_ENV, str(tmp_path))
    train, test = idx.load_images(idx.data_dir(None), train_limit=1)
    assert train.shape == (1, 784) and test.shape == (2, 784)
    np.testing.assert_allclose(test, images.reshape(2, 784) / 255.0)
    with pytest.raises(SystemExit, match=r"no train-images-idx3-ubyte\[.gz\] in .*--data_dir"):
        idx.load_images(str(tmp_path / "none"))


def test_speed_peers_all_and_missing_venv_message(monkeypatch, tmp_path):
    speed = _module("benchmarks/speed.py", "speed_bench")
    assert speed.peer_names("all") == list(speed.PEERS)
    assert speed.peer_names("flax-naive,flax-scan") == ["flax-step", "flax-scan"]
    monkeypatch.setattr(speed, "ROOT", str(tmp_path))
    for var in ("TORCH_PY", "FLAX_PY"):
        monkeypatch.delenv(var, raising=False)
    assert speed.peer_python("flax-step") == sys.executable
    with pytest.raises(SystemExit, match=r"needs \.venv-torch: run `bash "
                                         r"benchmarks/peers/setup_envs.sh torch`"):
        speed.peer_python("torch-index")


def test_conv_step_profile_maps_each_op_to_its_layer_and_direction():
    hlo = "\n".join([
        '  %ynn_fusion.17 = f32[128,14,14,32]{3,2,1,0} fusion(%a, %b), kind=kCustom, '
        'metadata={op_name="jit(f)/while/body/jvp(ConvAutoencoder)/encoder/conv_1/conv"}',
        '  ROOT %dot.51 = f32[9,32]{1,0} dot(%c, %d), metadata={op_name='
        '"jit(f)/while/body/transpose(jvp(ConvAutoencoder))/decoder/output/transpose"}',
        '  %add.3 = f32[] add(%e, %f), metadata={op_name="jit(f)/while/body/add"}',
        '  %copy.1 = f32[] copy(%g)'])
    layers = _module("benchmarks/conv_step.py", "conv_step")._layer_of_ops(hlo)
    assert layers == {"ynn_fusion.17": "encoder/conv_1 fwd", "dot.51": "decoder/output bwd",
                      "add.3": "other fwd"}
