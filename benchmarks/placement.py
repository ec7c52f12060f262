"""On-device data against the streaming path (host batches, prefetched), and the
data-parallel mesh, on the seeds' workloads through train.py.

    python benchmarks/placement.py [--workloads dense,deep] [--repeats 3]
        [--variants device,host,host16]

Variants (alternated run by run, so drifts of the machine hit all alike):
  device    data.placement=device: the dataset on the device, batches gathered in the epoch
  host      data.placement=host, stream_batches=64: 64 batches per host -> device transfer
  host16    the same with 16 batches per transfer
  mesh4     4 forced CPU devices (XLA_FLAGS), num_devices=4 (on a 2-core CPU this measures
            the sharding overhead, not a speed-up)
Prints the median steady training epoch per variant and its ratio to "device".
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from speed import run_ae_jax  # noqa: E402

VARIANTS = {
    "device": (("--config.data.placement=device",), {}),
    "host": (("--config.data.placement=host", "--config.stream_batches=64"), {}),
    "host16": (("--config.data.placement=host", "--config.stream_batches=16"), {}),
    "mesh4": (("--config.num_devices=4",),
              {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="dense,deep")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variants", default="device,host,host16")
    args = ap.parse_args()
    variants = args.variants.split(",")
    print("| workload | variant | steady train s [runs] | samples/s | final val loss | "
          "time / device |")
    print("|---|---|---|---|---|---|")
    for workload in args.workloads.split(","):
        runs = {v: [] for v in variants}
        for _ in range(args.repeats):
            for v in variants:
                overrides, env = VARIANTS[v]
                runs[v].append(run_ae_jax(workload, overrides, env))
        base = statistics.median(r["steady_train_s"] for r in runs[variants[0]])
        for v in variants:
            times = [r["steady_train_s"] for r in runs[v]]
            med = statistics.median(times)
            print(f"| {workload} | {v} | {med:.3f} [{', '.join(f'{t:.3f}' for t in times)}] | "
                  f"{statistics.median(r['samples_per_s'] for r in runs[v]):,.0f} | "
                  f"{runs[v][-1]['final_val_loss']:.4f} | {med / base:.2f} |", flush=True)


if __name__ == "__main__":
    main()
