"""One training step of the seeds' 32-32 conv denoising autoencoder, three ways, on XLA.

    python benchmarks/conv_step.py [--rounds 5] [--steps 20]
    python benchmarks/conv_step.py --profile   # the scanned "cpu" step's time by layer

  plain      nn.Conv / nn.max_pool / jnp.repeat in Keras's order (pool after bias and relu):
             what plain Flax (and ae_jax before ae_jax/models/conv_ops.py) computes
  lax        ae_jax, model.conv_impl=lax: XLA convolutions, pool before bias and activation
  cpu        ae_jax, model.conv_impl=cpu: the conv_ops formulations (the CPU default)
  cpu@scan8  the "cpu" step inside an 8-step lax.scan, per step: what a training epoch runs
             (loop "auto" scans conv_impl=cpu models; XLA's own conv gradients ran about
             1.5 s per step inside the scan, which is why conv_impl=lax keeps loop="steps")
  cpu@scan8/whole  the same with the layers run on the whole batch at once, not on
             ae_jax.models.conv.CPU_SUB_BATCHES sub-batches side by side

Forward + backward + Adam, batch 128, Gaussian corruption 0.5, BCE, the state donated, batches
gathered by index from uint8 Fashion-MNIST on the device. The variants run interleaved, round
by round, so drifts of a shared machine hit all alike; it prints the median ms per step.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import statistics
import sys
import tempfile
import time

import flax.linen as nn
import jax
import jax.numpy as jnp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ae_jax.data import load_dataset  # noqa: E402
from ae_jax.families import build_family  # noqa: E402
from ae_jax.loops import _run_steps  # noqa: E402
from ae_jax.models import conv as conv_module  # noqa: E402
from ae_jax.state import Net, State  # noqa: E402
from configs import denoising_conv_ae  # noqa: E402


def traced_with_pieces(pieces: int, fn):
    """fn, traced with the "cpu" layers run on `pieces` sub-batches (the setting is read
    when jit traces it)."""
    def traced(*args):
        saved, conv_module.CPU_SUB_BATCHES = conv_module.CPU_SUB_BATCHES, pieces
        try:
            return fn(*args)
        finally:
            conv_module.CPU_SUB_BATCHES = saved
    return traced


class PlainDAE(nn.Module):
    """The same model as Keras and plain Flax write it."""

    @nn.compact
    def __call__(self, x):
        def conv(features, h):
            return nn.Conv(features, (3, 3), padding="SAME")(h)

        def pool(h):
            return nn.max_pool(h, (2, 2), strides=(2, 2), padding="SAME")

        def up(h):
            return jnp.repeat(jnp.repeat(h, 2, axis=1), 2, axis=2)

        h = pool(nn.relu(conv(32, x)))
        code = pool(nn.relu(conv(32, h)))
        h = up(nn.relu(conv(32, code)))
        h = up(nn.relu(conv(32, h)))
        return conv(1, h), {"code": code, "hidden": ()}


def _layer_of_ops(hlo_text: str) -> dict:
    """{HLO instruction name: "<layer> fwd|bwd"} from the op names in its metadata (the
    Flax module path, e.g. encoder/conv_1; bwd for ops under a transpose, i.e. gradients)."""
    layers = {}
    for m in re.finditer(r'^\s*(?:ROOT )?%?([\w.\-]+) = .*?op_name="([^"]+)"', hlo_text, re.M):
        name, op = m.groups()
        layer = re.search(r"((?:encoder|decoder)/\w+)", op)
        layers[name] = (layer.group(1) if layer else "other") + (
            " bwd" if "transpose(" in op else " fwd")
    return layers


def profile_by_layer(fn, state, data, idx, steps: int):
    """Trace one call of the jitted `fn` (`steps` training steps; its state donated) with
    jax.profiler, after an untraced one (the first call after `compile()` ran about 2x slower
    here), and print its ops' time per step, summed by layer and direction."""
    layers = _layer_of_ops(fn.lower(state, data, idx).compile().as_text())
    state = jax.block_until_ready(fn(state, data, idx))[0]
    with tempfile.TemporaryDirectory() as trace_dir:
        jax.profiler.start_trace(trace_dir)
        jax.block_until_ready(fn(state, data, idx))
        jax.profiler.stop_trace()
        trace = glob.glob(os.path.join(trace_dir, "**", "*.trace.json.gz"), recursive=True)
        events = json.load(gzip.open(trace[0]))["traceEvents"]
    totals = collections.Counter()
    for e in events:
        if e.get("ph") == "X" and e.get("name") in layers:
            totals[layers[e["name"]]] += e["dur"] / 1e3 / steps  # us -> ms per step
    print(f"ms per step by layer (one traced call of {steps} scanned steps): "
          f"{sum(totals.values()):.1f} in all")
    print("| layer | ms/step |")
    print("|---|---|")
    for layer, ms in totals.most_common():
        print(f"| {layer} | {ms:.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--profile", action="store_true",
                    help='print the scanned "cpu" step\'s time by layer instead')
    args = ap.parse_args()
    config = denoising_conv_ae.get_config()
    config.data.train_limit = 20000
    dataset = load_dataset(config.data)
    shape = dataset.example_shape
    data = jax.device_put(dataset.train.reshape(len(dataset.train), -1))  # (N, 784) uint8
    states = {}
    for impl in ("lax", "cpu"):
        config.model.conv_impl = impl
        family = build_family(config, shape, 1)  # its model, objective, corruption, Adam
        states[impl] = family.init(0)
    # The family's step reads the network's apply function from the state, so a state of
    # PlainDAE trains with the very same step (corruption, BCE, Adam).
    key = jax.random.PRNGKey(0)
    plain = PlainDAE()
    states["plain"] = State.create(key, {"model": Net.create(
        plain, family.tx, plain.init(key, jnp.zeros((1, *shape))))})
    step = family.train_step
    one = jax.jit(lambda s, d, i: _run_steps(step, s, d, i, unroll=True), donate_argnums=0)
    scan = jax.jit(lambda s, d, i: _run_steps(step, s, d, i, unroll=1), donate_argnums=0)
    variants = {name: (one, 1) for name in ("plain", "lax", "cpu")}
    variants["cpu@scan8"] = (scan, 8)
    whole = jax.jit(traced_with_pieces(1, lambda s, d, i: _run_steps(step, s, d, i, unroll=1)),
                    donate_argnums=0)
    variants["cpu@scan8/whole"] = (whole, 8)
    for name in ("cpu@scan8", "cpu@scan8/whole"):
        states[name] = jax.tree_util.tree_map(jnp.copy, states["cpu"])
    if args.profile:
        idx = jax.random.randint(jax.random.PRNGKey(0), (8, 128), 0, len(data))
        return profile_by_layer(scan, states["cpu@scan8"], data, idx, steps=8)
    key = jax.random.PRNGKey(0)
    times = {name: [] for name in variants}
    for r in range(args.rounds + 1):  # round 0 compiles
        for name, (fn, k) in variants.items():
            calls = max(1, args.steps // k)
            idx = jax.random.randint(jax.random.fold_in(key, r), (calls, k, 128), 0, len(data))
            state = states[name]
            state, m = fn(state, data, idx[0])
            jax.block_until_ready(m)
            t0 = time.perf_counter()
            for c in range(1, calls):
                state, m = fn(state, data, idx[c])
            jax.block_until_ready(m)
            states[name] = state
            if r:
                times[name].append(1e3 * (time.perf_counter() - t0) / ((calls - 1) * k))
    print(f"backend {jax.default_backend()}; ms per training step, median of {args.rounds} "
          "interleaved rounds [min-max]")
    print("| variant | ms/step | time / cpu |")
    print("|---|---|---|")
    base = statistics.median(times["cpu"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.1f} [{min(ts):.1f}-{max(ts):.1f}] | {med / base:.2f} |")


if __name__ == "__main__":
    main()
