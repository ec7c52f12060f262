"""Ten one-class models as one vmapped program vs ten sequential runs, printing a table.

    python benchmarks/one_class_runs.py [--epochs 3] [--arms epochs,processes]
        [--config configs/anomaly_fmnist.py]

Both arms train the config's model on each class's own training subset (`data.one_class`,
the EpochRunner's `run_indices`) for the same epochs from the same seeds.

  epochs     in one process, the training epochs alone: one EpochRunner(runs=True) over the
             stacked state vs one EpochRunner(runs=False), compiled once, called for each
             class in turn. The two alternate epoch by epoch, so that load on a shared machine
             hits both alike; the table gives the first epoch (compile included) and the
             median of the later ones, each for all R models.
  processes  the product path a user runs: one `train.py` with num_runs = R vs R `train.py`
             commands with num_runs = 1 and one_class = (c,), each paying start-up, data
             loading, compilation, per-epoch test evaluation and checkpoints.

The final training loss of each class is compared between the arms of `epochs` (the same
maths; batched matmuls may round differently).
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
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ae_jax.data import load_dataset  # noqa: E402
from ae_jax.engine.workdir import one_class_indices  # noqa: E402
from ae_jax.families import build_family  # noqa: E402
from ae_jax.loops import EpochRunner  # noqa: E402
from ae_jax.runs import create_run_states  # noqa: E402
from ae_jax.state import run_slice  # noqa: E402


def load_config(path: str):
    spec = importlib.util.spec_from_file_location("bench_config", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


def _timed(fn):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - t0


def epochs_arm(config, epochs: int) -> dict:
    """{arm: [seconds of epoch e for all R models]} and the final losses of each arm."""
    ds = load_dataset(config.data)
    table = one_class_indices(ds.train_labels, tuple(config.data.one_class))  # (R, N_r)
    r, n_r = table.shape
    config = config.copy_and_resolve_references()
    config.num_epochs = epochs  # the optimizer's schedule spans the epochs trained here
    family = build_family(config, ds.example_shape, n_r // config.batch_size)
    step = family.train_step
    data = jax.device_put(ds.train.reshape(len(ds.train), -1))  # (N, D)
    init = create_run_states(family, [config.seed + i for i in range(r)])
    vmapped = EpochRunner(step, n_r, config.batch_size, "scan", runs=True, run_indices=table)
    single = EpochRunner(step, n_r, config.batch_size, "scan", run_indices=table[0])
    stacked = jax.tree_util.tree_map(jnp.copy, init)
    states = [jax.tree_util.tree_map(jnp.copy, run_slice(init, i)) for i in range(r)]
    seconds = {"vmapped": [], "sequential": []}
    losses = {"vmapped": None, "sequential": np.zeros(r)}
    for epoch in range(1, epochs + 1):
        (stacked, m), s = _timed(lambda st=stacked, e=epoch: vmapped(st, data, e))
        seconds["vmapped"].append(s)
        losses["vmapped"] = np.asarray(m["loss"])
        total = 0.0
        for i in range(r):
            single.run_indices = jnp.asarray(table[i])  # same shape: no recompilation
            (states[i], m), s = _timed(lambda i=i, e=epoch: single(states[i], data, e))
            total += s
            losses["sequential"][i] = float(m["loss"])
        seconds["sequential"].append(total)
    return {"seconds": seconds, "losses": losses, "runs": r, "n_r": n_r, "dataset": ds.name}


def processes_arm(config_path: str, config, epochs: int) -> dict:
    """{arm: wall seconds} of train.py subprocesses in fresh workdirs."""
    base = [sys.executable, "train.py", f"--config={config_path}",
            f"--config.num_epochs={epochs}", "--config.progress_bar=False",
            "--config.tensorboard=False"]

    def train(workdir, *extra):
        t0 = time.perf_counter()
        subprocess.run([*base, f"--workdir={workdir}", *extra], cwd=ROOT, check=True,
                       capture_output=True)
        return time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        out = {"vmapped": train(os.path.join(tmp, "all"))}
        out["sequential"] = sum(
            train(os.path.join(tmp, f"class{c}"), "--config.num_runs=1",
                  f"--config.data.one_class=({c},)")
            for c in config.data.one_class)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/anomaly_fmnist.py")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--arms", default="epochs,processes")
    args = parser.parse_args()
    config = load_config(os.path.join(ROOT, args.config))
    arms = args.arms.split(",")
    print(f"{config.data.name}: {len(config.data.one_class)} one-class runs, model "
          f"{config.model.name} {tuple(config.model.hidden_sizes)} latent "
          f"{config.model.latent_dim}, batch {config.batch_size}, {args.epochs} epochs, "
          f"backend {jax.default_backend()} ({os.cpu_count()} cores)")
    print("| measure                                | vmapped | sequential | seq / vmap |")
    print("|----------------------------------------|--------:|-----------:|-----------:|")

    def row(name, v, s):
        print(f"| {name:<38} | {v:7.2f} | {s:10.2f} | {s / v:10.2f} |")

    if "epochs" in arms:
        res = epochs_arm(config, args.epochs)
        sec = res["seconds"]
        row("first epoch, all runs (s, + compile)", sec["vmapped"][0], sec["sequential"][0])
        if args.epochs > 1:
            row("median later epoch, all runs (s)", statistics.median(sec["vmapped"][1:]),
                statistics.median(sec["sequential"][1:]))
        row("training epochs in total (s)", sum(sec["vmapped"]), sum(sec["sequential"]))
    if "processes" in arms:
        res_p = processes_arm(args.config, config, args.epochs)
        row("train.py end to end (s)", res_p["vmapped"], res_p["sequential"])
    if "epochs" in arms:
        diff = np.max(np.abs(res["losses"]["vmapped"] - res["losses"]["sequential"]))
        print(f"max |final training loss, vmapped - sequential| over the runs: {diff:.1e}")


if __name__ == "__main__":
    main()
