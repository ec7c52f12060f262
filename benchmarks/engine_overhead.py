"""ae_jax's compiled training epoch against the hand-written Flax scan epoch, in one process.

    python benchmarks/engine_overhead.py [--workloads dense,deep,vae] [--rounds 11]
        [--data_dir DIR] [--out DIR]

benchmarks/speed.py times whole commands in separate processes, where start-up, memory
layout and the machine's drift between processes move an epoch by 5-15% on this 2-core CPU.
This script isolates the epoch: every arm is compiled in this process on the same on-device
Fashion-MNIST, and each round times one epoch of every arm in turn (interleaved), so that a
drift of the machine hits all arms of a round alike. Per arm it prints the median epoch
seconds and the median over rounds of the arm's time / flax-scan's time in the same round.

Arms (one training epoch each: 60,000 images, batch 128, the last partial batch dropped):
  ae_jax        `ae_jax.loops.EpochRunner`'s scanned epoch of the workload's config: the
                trainer's own path (uint8 data scaled in the step, per-example loss terms,
                the injected-hyperparameter optimizer, keys folded from the step, the
                config's scan_unroll: 4 for dense and deep, 1 for the VAE)
  flax-scan     benchmarks/peers/flax_peer.py's scanned epoch: float32 data, optax.adam, the
                batch-mean loss, keys split up front
and flax-scan with one of ae_jax's choices each, to find where a difference comes from:
  +uint8        the data kept as uint8 on the device and scaled to [0, 1] in the step
  +per-example  the loss as the mean of per-example means (dense and deep; the VAE's peer
                loss is per example already)
  +optimizer    ae_jax's optimizer of the config (inject_hyperparams(adam), eps 1e-7)
  +step-keys    the step's key folded from the step counter (ae_jax.rng), not split ahead
  +ae-bce       ae_jax's `bce_with_logits` in place of the peer's `bce_fast`
  +ae-model     the workload config's ae_jax module and initial parameters (the encoder's
                aux outputs, the (B, 784) <-> (B, 28, 28, 1) reshapes, its initialiser)
and ae_jax with one of its parts removed:
  ae-loss-only  the trainer's step reporting only the loss: no per-term metric means
                carried through the scan beside it
and ae_jax's epoch with another config.scan_unroll k than the config's own (a loop iteration
runs k steps):
  ae-unroll1, ae-unroll2, ae-unroll4
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "benchmarks", "peers")]

import flax_peer  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from flax.training import train_state  # noqa: E402

from ae_jax.data import load_dataset  # noqa: E402
from ae_jax.families import build_family  # noqa: E402
from ae_jax.loops import EpochRunner  # noqa: E402
from ae_jax.objectives.reconstruction import bce_with_logits  # noqa: E402

CONFIGS = {"dense": "configs.dense_ae", "deep": "configs.deep_ae", "vae": "configs.vae_dense_2d"}


def scaled_inputs(loss):
    """The peer's loss on uint8 rows, scaled to [0, 1] inside the step (ae_jax's layout)."""
    def scaled(params, inputs, targets, key):
        x = inputs.astype(jnp.float32) / 255.0
        return loss(params, x, x, key)
    return scaled


def per_example_loss(apply_fn):
    """mean_b (mean_d BCE(b, d)): the AE peer's loss in ae_jax's per-example form."""
    def loss(params, inputs, targets, key):
        bce = flax_peer.bce_fast(apply_fn({"params": params}, inputs), targets)
        return jnp.mean(jnp.mean(bce, axis=-1))  # (B, D) -> (B,) -> ()
    return loss


def folded_key_step(loss):
    """flax_peer.make_step with the key of step s = fold_in(key, s) (ae_jax.rng's form)."""
    def step(state, inputs, targets, key):
        step_key = jax.random.fold_in(key, state.step)
        value, grads = jax.value_and_grad(loss)(state.params, inputs, targets, step_key)
        return state.apply_gradients(grads=grads), value
    return step


def ae_model_loss(workload: str, model, example_shape):
    """The peer's loss on the ae_jax module: rows reshaped to images and the logits back."""
    def loss(params, inputs, targets, key):
        x = inputs.reshape(-1, *example_shape)  # (B, 784) -> (B, 28, 28, 1)
        if workload == "vae":
            logits, aux = model.apply({"params": params}, x, rngs={"sample": key})
            mean, logvar = aux["mean"], aux["logvar"]
            kl = -0.5 * jnp.sum(1 + logvar - mean**2 - jnp.exp(logvar), axis=-1)
            bce = flax_peer.bce_fast(logits.reshape(targets.shape), targets)
            return jnp.mean(bce.sum(-1) + kl)
        logits, _ = model.apply({"params": params}, x)
        return jnp.mean(flax_peer.bce_fast(logits.reshape(targets.shape), targets))
    return loss


def loss_only(train_step):
    """The trainer's step with every metric but the loss dropped."""
    def step(state, batch):
        state, metrics = train_step(state, batch)
        return state, {"loss": metrics["loss"]}
    return step


def make_arms(workload: str, data_dir: str | None) -> dict:
    """{arm: (initial state, epoch(state, round) -> (state, loss))}, all on the same data."""
    config = importlib.import_module(CONFIGS[workload]).get_config()
    if data_dir:
        config.data.data_dir = data_dir
    dataset = load_dataset(config.data)
    n, batch = len(dataset.train), config.batch_size
    rows = jnp.asarray(dataset.train.reshape(n, -1))  # (N, 28, 28, 1) uint8 -> (N, 784)
    floats = rows.astype(jnp.float32) / 255.0
    family = build_family(config, dataset.example_shape, n // batch)
    unroll, others = config.scan_unroll, [k for k in (1, 2, 4) if k != config.scan_unroll]
    runners = {"ae_jax": EpochRunner(family.train_step, n, batch, "scan", scan_unroll=unroll),
               "ae-loss-only": EpochRunner(loss_only(family.train_step), n, batch, "scan",
                                           scan_unroll=unroll),
               **{f"ae-unroll{k}": EpochRunner(family.train_step, n, batch, "scan",
                                               scan_unroll=k) for k in others}}

    def ae_epoch(name):
        def epoch(state, r):
            state, metrics = runners[name](state, rows, r)
            return state, metrics["loss"]
        return epoch

    model = flax_peer.make_model(workload)
    key = jax.random.PRNGKey(0)
    params = model.init(key, *((floats[:1], key) if workload == "vae" else (floats[:1],)))
    peer_loss = flax_peer.make_loss(workload, model.apply, flax_peer.bce_fast)

    def peer(loss, data, tx=None, step=flax_peer.make_step, start=params["params"]):
        own = jax.tree_util.tree_map(jnp.copy, start)  # each epoch donates its state
        state = train_state.TrainState.create(apply_fn=model.apply, params=own,
                                              tx=tx or optax.adam(1e-3))
        epoch = flax_peer.make_scan_epoch(step(loss), n, batch)
        return state, lambda s, r: epoch(s, jax.random.PRNGKey(r), data, data)

    arms = {"ae_jax": (family.init(0), ae_epoch("ae_jax")), "flax-scan": peer(peer_loss, floats),
            "+uint8": peer(scaled_inputs(peer_loss), rows)}
    if workload != "vae":
        arms["+per-example"] = peer(per_example_loss(model.apply), floats)
    arms["+optimizer"] = peer(peer_loss, floats, tx=family.tx)
    arms["+step-keys"] = peer(peer_loss, floats, step=folded_key_step)
    arms["+ae-bce"] = peer(flax_peer.make_loss(workload, model.apply, bce_with_logits), floats)
    arms["+ae-model"] = peer(ae_model_loss(workload, family.model, dataset.example_shape),
                             floats, start=family.init(0).nets["model"].params)
    arms["ae-loss-only"] = (family.init(0), ae_epoch("ae-loss-only"))
    for k in others:
        arms[f"ae-unroll{k}"] = (family.init(0), ae_epoch(f"ae-unroll{k}"))
    return arms


def measure(arms: dict, rounds: int) -> dict:
    """{arm: [epoch seconds per round]} and {arm: round 0's seconds (compiling + one epoch;
    no persistent compilation cache here)}. Each arm trains its own state on, round after
    round; the arms of a round run back to back."""
    states = {name: state for name, (state, _) in arms.items()}
    seconds = {name: [] for name in arms}
    first = {}
    for r in range(rounds + 1):
        for name, (_, epoch) in arms.items():
            start = time.perf_counter()
            states[name], loss = epoch(states[name], r)
            jax.block_until_ready((states[name], loss))
            elapsed = time.perf_counter() - start
            if r:
                seconds[name].append(elapsed)
            else:
                first[name] = elapsed
    return seconds, first


def table(workload: str, seconds: dict, first: dict) -> list[str]:
    base = seconds["flax-scan"]
    lines = []
    for name, times in seconds.items():
        ratios = [t / b for t, b in zip(times, base, strict=True)]
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        lines.append(f"| {workload} | {name} | {statistics.median(times):.3f} | "
                     f"{statistics.median(ratios):.3f} [{q1:.3f}, {q3:.3f}] | "
                     f"{first[name]:.2f} |")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="dense,deep,vae")
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--data_dir", default=None)
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = ap.parse_args()
    if args.rounds < 2:
        raise SystemExit(f"error: --rounds={args.rounds}: the quartiles need at least 2 rounds")
    workloads = args.workloads.split(",")
    unknown = sorted(set(workloads) - set(CONFIGS))
    if unknown:
        raise SystemExit(f"error: unknown workloads {unknown} (--workloads); known: "
                         f"{', '.join(CONFIGS)}")
    lines = [f"jax {jax.__version__} on {jax.devices()[0].device_kind}, {args.rounds} rounds",
             "", "| workload | arm | median epoch s | time / flax-scan, median [quartiles] "
             "| round 0 s (compile + epoch) |", "|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    results = {}
    for workload in workloads:
        seconds, first = measure(make_arms(workload, args.data_dir), args.rounds)
        results[workload] = {"epoch_seconds": seconds, "round0_seconds": first}
        rows = table(workload, seconds, first)
        print("\n".join(rows), flush=True)
        lines += rows
    stamp = time.strftime("%Y%m%d-%H%M%S")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"engine_overhead-{stamp}.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, f"engine_overhead-{stamp}.json"), "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
