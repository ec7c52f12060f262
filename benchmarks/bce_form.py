"""The BCE form's cost: the dense AE's training epoch with log1p(exp(min(z, -z))) (today's
form, whose gradient at z = 0 is right) against log1p(exp(-|z|)) (the earlier one), each
compiled once, then run alternately in one process.

    python benchmarks/bce_form.py --repeats 10 [--data fashion_mnist]

Prints the seconds of each steady epoch (median and spread) and the ratio old / new.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ae_jax.objectives as objectives  # noqa: E402
from ae_jax.data import load_dataset  # noqa: E402
from ae_jax.families import build_family  # noqa: E402
from ae_jax.loops import EpochRunner  # noqa: E402
from configs import dense_ae  # noqa: E402


def abs_form(logits, targets):
    """The earlier form: max(z, 0) - z y + log1p(exp(-|z|))."""
    return jnp.maximum(logits, 0.0) - logits * targets + jnp.log1p(jnp.exp(-jnp.abs(logits)))


def compiled_epoch(config, dataset, bce):
    """(runner, state, data) with `bce` traced into the step."""
    steps = len(dataset.train) // config.batch_size
    family = build_family(config, dataset.example_shape, steps)
    runner = EpochRunner(family.train_step, len(dataset.train), config.batch_size, "scan")
    data = jnp.asarray(dataset.train.reshape(len(dataset.train), -1))  # (N, H, W, C) -> (N, D)
    saved = objectives.bce_with_logits
    objectives.bce_with_logits = bce
    try:
        state, metrics = runner(family.init(config.seed), data, 1)  # compiles
        jax.block_until_ready(metrics)
    finally:
        objectives.bce_with_logits = saved
    return runner, state, data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--data", default="fashion_mnist")
    args = parser.parse_args()
    config = dense_ae.get_config()
    config.data.name = args.data
    dataset = load_dataset(config.data)
    arms = {"min(z, -z)": compiled_epoch(config, dataset, objectives.bce_with_logits),
            "-|z|": compiled_epoch(config, dataset, abs_form)}
    seconds = {name: [] for name in arms}
    losses = {}
    for epoch in range(2, args.repeats + 2):
        for name, (runner, state, data) in arms.items():
            t0 = time.perf_counter()
            state, metrics = runner(state, data, epoch)
            losses[name] = float(metrics["loss"])  # waits for the device
            seconds[name].append(time.perf_counter() - t0)
            arms[name] = (runner, state, data)
    for name, s in seconds.items():
        print(f"{name:>12}: median {np.median(s):.3f} s per epoch (min {min(s):.3f}, max "
              f"{max(s):.3f}), last train loss {losses[name]:.6f}")
    ratio = np.median(np.array(seconds["-|z|"]) / np.array(seconds["min(z, -z)"]))
    print(f"old / new, median of the paired ratios: {ratio:.3f}")


if __name__ == "__main__":
    main()
