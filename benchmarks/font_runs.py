"""Many runs in one program: N seeds of the font AE vmapped against N separate runs.

    python benchmarks/font_runs.py [--runs 5,10] [--epochs 150] [--out runs/bench_font_runs]

Both sides go through `train_and_evaluate` with configs/fonts_ae.py (the course's best
architecture, 150 epochs of SGD, batches of 4): "vmapped" is one call with num_runs = N,
"separate" is N calls with num_runs = 1, one after another in one process (each compiles its
own epoch program; the eager initialisation compiles are shared). Reported per side: wall
time, CPU time of the process, and the mean epoch time after the first epoch (from
metrics.jsonl, so without compilation). Writes `<out>/font_runs.json` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ae_jax.engine import quiet_libraries, train_and_evaluate  # noqa: E402
from ae_jax.metric_writers import read_metrics  # noqa: E402
from configs import fonts_ae  # noqa: E402


def _config(epochs: int, num_runs: int, seed: int):
    config = fonts_ae.get_config()
    config.num_epochs = epochs
    config.num_runs = num_runs
    config.seed = seed
    config.progress_bar = False
    config.checkpoint_every_epochs = epochs  # one checkpoint at the end, as a finished run
    return config


def _steady_epoch_seconds(workdir: str) -> float:
    seconds = [r["seconds"] for r in read_metrics(workdir)
               if r["split"] == "train" and r["epoch"] > 1]
    return sum(seconds) / max(1, len(seconds))


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench(n: int, epochs: int, root: str) -> dict:
    vm_dir = os.path.join(root, f"vmapped_{n}")
    vm_wall, vm_cpu = _timed(lambda: train_and_evaluate(_config(epochs, n, 0), vm_dir))
    dirs = [os.path.join(root, f"separate_{n}_{s}") for s in range(n)]

    def separate():
        for s, d in enumerate(dirs):
            train_and_evaluate(_config(epochs, 1, s), d)

    sep_wall, sep_cpu = _timed(separate)
    return {"runs": n, "epochs": epochs,
            "vmapped_wall_s": vm_wall, "vmapped_cpu_s": vm_cpu,
            "vmapped_epoch_s": _steady_epoch_seconds(vm_dir),
            "separate_wall_s": sep_wall, "separate_cpu_s": sep_cpu,
            "separate_epoch_s": sum(_steady_epoch_seconds(d) for d in dirs),
            "speedup_wall": sep_wall / vm_wall}


def table(rows: list[dict]) -> str:
    head = ["N runs", "vmapped wall s", "separate wall s", "speed-up", "vmapped CPU s",
            "separate CPU s", "vmapped s/epoch", "separate s/epoch (sum of N)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join([
            str(r["runs"]), f"{r['vmapped_wall_s']:.1f}", f"{r['separate_wall_s']:.1f}",
            f"{r['speedup_wall']:.1f}x", f"{r['vmapped_cpu_s']:.1f}",
            f"{r['separate_cpu_s']:.1f}", f"{r['vmapped_epoch_s']:.4f}",
            f"{r['separate_epoch_s']:.4f}"]) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="5,10")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    quiet_libraries()
    root = tempfile.mkdtemp(prefix="font_runs_")
    try:
        rows = [bench(int(n), args.epochs, root) for n in args.runs.split(",")]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    text = table(rows)
    print(f"configs/fonts_ae.py, {args.epochs} epochs, {os.cpu_count()} CPUs\n\n{text}")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "font_runs.json"), "w") as f:
            json.dump(rows, f, indent=1)
        with open(os.path.join(args.out, "font_runs.md"), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
