"""Wall time of R runs of one architecture trained together (vmapped, one compiled program)
against R = 1, on Fashion-MNIST with the seeds' dense autoencoder by default.

    python benchmarks/runs_scaling.py [--config configs/dense_ae.py] [--runs 1,2,4,8,16]
        [--epochs 3] [--end-to-end]

Prints steady epoch seconds (median of epochs 2..N) for each R, the time per run, and the
ratio to R = 1 (the target: 8 runs in under 3x the time of one). With --end-to-end it also
times the whole `train.py --config.num_runs=R` command (start-up, data, compilation, every
epoch with its evaluation, checkpoints), which is what a user waits for.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ae_jax.data import load_dataset  # noqa: E402
from ae_jax.families import build_family  # noqa: E402
from ae_jax.loops import EpochRunner, choose_loop  # noqa: E402
from ae_jax.runs import create_run_states  # noqa: E402


def load_config(path: str):
    spec = importlib.util.spec_from_file_location("bench_config", os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


def epoch_seconds(config, dataset, num_runs: int, epochs: int) -> list[float]:
    config = config.copy_and_resolve_references()
    config.num_epochs = epochs  # the optimizer's schedule spans the epochs trained here
    family = build_family(config, dataset.example_shape, len(dataset.train) // config.batch_size)
    state = create_run_states(family, list(range(num_runs)))
    loop = choose_loop(config.loop, family.prefers_steps_on_cpu())
    runner = EpochRunner(family.train_step, len(dataset.train), config.batch_size, loop,
                         config.steps_per_call, runs=True)
    data = jax.device_put(jnp.asarray(dataset.train.reshape(len(dataset.train), -1)))
    times = []
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        state, metrics = runner(state, data, epoch)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="configs/dense_ae.py")
    ap.add_argument("--runs", default="1,2,4,8,16")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--end-to-end", action="store_true")
    args = ap.parse_args()
    config = load_config(args.config)
    dataset = load_dataset(config.data)
    print(f"{args.config} on {dataset.describe()}; backend {jax.default_backend()}")
    print("| runs | steady epoch s | s per run | time / 1 run |")
    print("|---|---|---|---|")
    base = None
    for r in [int(x) for x in args.runs.split(",")]:
        steady = statistics.median(epoch_seconds(config, dataset, r, args.epochs)[1:])
        base = base or steady
        print(f"| {r} | {steady:.3f} | {steady / r:.3f} | {steady / base:.2f} |", flush=True)
    if args.end_to_end:
        print(f"\nwhole train.py command, {args.epochs} epochs")
        print("| runs | wall s | wall / 1 run |")
        print("|---|---|---|")
        base = None
        for r in [int(x) for x in args.runs.split(",")]:
            wall = train_py_seconds(args.config, r, args.epochs)
            base = base or wall
            print(f"| {r} | {wall:.1f} | {wall / base:.2f} |", flush=True)


def train_py_seconds(config: str, num_runs: int, epochs: int) -> float:
    with tempfile.TemporaryDirectory() as workdir:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "train.py", f"--config={config}",
                        f"--workdir={workdir}", f"--config.num_runs={num_runs}",
                        f"--config.num_epochs={epochs}", "--config.progress_bar=False",
                        "--config.tensorboard=False"], cwd=ROOT, check=True,
                       capture_output=True)
        return time.perf_counter() - t0


if __name__ == "__main__":
    main()
