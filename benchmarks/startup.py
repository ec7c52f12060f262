"""Where a short training command spends its time before and after its first step, with JAX's
persistent compilation cache cold and warm.

    python benchmarks/startup.py [--config configs/dense_ae.py] [--repeats 3]

Each repeat runs, in fresh processes and alternating so that machine load hits all alike:
`python -c "import train"` (the imports alone), then the 1-epoch command

    python train.py --config=<config> --workdir=<fresh dir> --config.num_epochs=1

once with an empty cache folder (cold: every program compiles) and once more with the cache
the cold run filled (warm). The phases come from the command's own log timestamps, measured
from the moment the process was started:

  imports + data   until the data line ("data: ..."): Python, JAX, Flax, Orbax, the IDX files
  set-up           until "training epochs ...": model init, summary, state, workdir files
  first epoch      until the "epoch 1/1" line: compiling (or loading) and running epoch 1
                   and its test evaluation
  finish           until the process exits: the last checkpoint, plots, metrics files

Printed: the median of each phase over the repeats, in seconds, cold and warm.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAMP = re.compile(r"^I\d{4} (\d\d):(\d\d):(\d\d\.\d+) ")
MARKERS = {"imports + data": "data: ", "set-up": "training epochs", "first epoch": "epoch 1/1"}


def seconds_of_day(line: str) -> float | None:
    """The absl log timestamp of a line (seconds since midnight), None for other lines."""
    match = STAMP.match(line)
    if not match:
        return None
    h, m, s = match.groups()
    return int(h) * 3600 + int(m) * 60 + float(s)


def phases(log: list[str], started: float, ended: float) -> dict[str, float]:
    """Seconds of each phase from log lines and the process's start / end (time of day)."""
    marks = {}
    for line in log:
        t = seconds_of_day(line)
        for name, marker in MARKERS.items():
            if t is not None and marker in line and name not in marks:
                marks[name] = t
    missing = [n for n in MARKERS if n not in marks]
    if missing:
        raise RuntimeError(f"the command's log lacks {missing}; last lines: {log[-5:]}")
    out, previous = {}, started
    for name in MARKERS:
        out[name] = marks[name] - previous
        previous = marks[name]
    out["finish"] = ended - previous
    out["total"] = ended - started
    return out


def now_of_day() -> float:
    t = datetime.datetime.now()
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


def run_command(config: str, cache: str) -> dict[str, float]:
    """One 1-epoch training command in a fresh workdir with the cache in `cache`."""
    env = {**os.environ, "AE_JAX_CACHE_DIR": cache}
    with tempfile.TemporaryDirectory() as workdir:
        cmd = [sys.executable, "train.py", f"--config={config}", f"--workdir={workdir}",
               "--config.num_epochs=1", "--config.progress_bar=False"]
        started = now_of_day()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        ended = now_of_day()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return phases((proc.stderr + proc.stdout).splitlines(), started, ended)


def import_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import train"], cwd=ROOT, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="configs/dense_ae.py")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[dict]] = {"cold": [], "warm": []}
    imports = []
    for _ in range(args.repeats):
        imports.append(import_seconds())
        with tempfile.TemporaryDirectory() as cache:
            rows["cold"].append(run_command(args.config, cache))
            rows["warm"].append(run_command(args.config, cache))
    names = [*MARKERS, "finish", "total"]
    print(f"{args.config}, 1 epoch, median of {args.repeats} (seconds); "
          f"`import train` alone: {statistics.median(imports):.2f} s")
    print("| cache | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for cache, runs in rows.items():
        cells = [f"{statistics.median(r[n] for r in runs):.2f}" for n in names]
        print(f"| {cache} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
