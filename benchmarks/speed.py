"""Speed of ae_jax on the seeds' four workloads, optionally side by side with the peers.

    python benchmarks/speed.py [--workloads dense,deep,vae,conv_dae] [--repeats 3]
        [--peers keras-tf,keras-jax,torch-index,flax-scan --peers_dir DIR] [--out ...]

Each workload trains through `train.py` (the product path: on-device data, the configured
loop shape, evaluation every epoch) in a fresh workdir and subprocess; with --peers the peer
scripts in --peers_dir (keras_peer.py, torch_peer.py, flax_naive_peer.py; the repository does
not ship them yet) run the same workload, alternating with ae_jax run by run so that drifts
of the machine hit both alike. Per workload it prints the median steady training
epoch (epochs 2..N), samples/s, compile seconds (first epoch minus steady), peak RSS, final
validation loss, achieved GFLOP/s (XLA's cost analysis of one training step x steps) as a
fraction of the float32 matmul peak measured in this run, and each peer's time / ae_jax's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist"

# workload -> (config file, epochs, extra overrides, peer args)
WORKLOADS = {
    "dense": ("configs/dense_ae.py", 3, [], []),
    "deep": ("configs/deep_ae.py", 3, [], []),
    "vae": ("configs/vae_dense_2d.py", 2, [], []),
    "conv_dae": ("configs/denoising_conv_ae.py", 2, ["--config.data.train_limit=20000"],
                 ["--train-limit", "20000"]),
}

PEERS = {  # name -> (python env variable, script, extra args, env)
    "keras-tf": ("KERAS_PY", "keras_peer.py", [], {"KERAS_BACKEND": "tensorflow"}),
    "keras-jax": ("KERAS_PY", "keras_peer.py", [], {"KERAS_BACKEND": "jax"}),
    "torch-index": ("TORCH_PY", "torch_peer.py", ["--loader", "index"], {}),
    "flax-naive": ("FLAX_PY", "flax_naive_peer.py", ["--bce", "fast"], {}),
    "flax-scan": ("FLAX_PY", "flax_naive_peer.py", ["--scan", "--bce", "fast"], {}),
}


# Not run side by side: one epoch takes minutes (conv gradients inside lax.scan on XLA:CPU ran
# 126 s per 20,000-image epoch, measured on 2026-11-23 on the 2-core CPU).
SKIP = {("conv_dae", "flax-scan")}


def _run(cmd, env=None, cwd=ROOT):
    """(stdout, wall seconds, peak RSS MiB) of one subprocess (rusage from os.wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})},
                                stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{err.read()[-3000:]}")
        return out.read(), wall, usage.ru_maxrss / 1024


def run_ae_jax(workload: str, overrides: tuple[str, ...] = (), env: dict | None = None) -> dict:
    """One train.py run of `workload` (plus `overrides`, e.g. "--config.data.placement=host")
    in a fresh workdir; its steady epoch, samples/s, whole-process wall and peak RSS."""
    config, epochs, extra, _ = WORKLOADS[workload]
    with tempfile.TemporaryDirectory() as workdir:
        cmd = [sys.executable, "train.py", f"--config={config}", f"--workdir={workdir}",
               f"--config.num_epochs={epochs}", "--config.progress_bar=False",
               "--config.tensorboard=False", "--config.checkpoint_every_epochs=1000",
               "--config.data.name=fashion_mnist", *extra, *overrides]
        _, wall, rss = _run(cmd, env=env)
        rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
        with open(os.path.join(workdir, "config.json")) as f:
            batch = json.load(f)["batch_size"]
    train = [r["seconds"] for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    limit = 20000 if workload == "conv_dae" else 60000
    steps = limit // batch
    steady = statistics.median(train[1:])
    return {"framework": "ae_jax", "steady_train_s": steady, "first_epoch_s": train[0],
            "samples_per_s": steps * batch / steady, "final_val_loss": test[-1]["loss"],
            "whole_process_s": wall, "peak_rss_mib": rss, "steps_per_epoch": steps}


def run_peer(peer: str, workload: str, peers_dir: str) -> dict:
    env_var, script, extra, env = PEERS[peer]
    python = os.environ.get(env_var, sys.executable)
    _, epochs, _, peer_args = WORKLOADS[workload]
    cmd = [python, os.path.join(peers_dir, script), "--model", workload, "--epochs",
           str(epochs), "--batch", "128", "--data", DATA, *peer_args, *extra]
    out, wall, rss = _run(cmd, env=env)
    line = [json.loads(x) for x in out.splitlines() if x.startswith('{"framework"')][-1]
    return {"framework": peer, "steady_train_s": line["steady_train_s"],
            "first_epoch_s": line["first_epoch_s"], "samples_per_s": line["samples_per_s"],
            "final_val_loss": line["final_val_loss"], "whole_process_s": wall,
            "peak_rss_mib": rss}


def step_flops(workload: str) -> float:
    """FLOPs of one training step from XLA's cost analysis of the compiled step."""
    import jax
    import jax.numpy as jnp
    from ml_collections import config_flags  # noqa: F401  (config files import it)

    sys.path.insert(0, ROOT)
    from ae_jax.families import build_family

    path = WORKLOADS[workload][0]
    module = __import__(f"configs.{os.path.basename(path)[:-3]}", fromlist=["get_config"])
    config = module.get_config()
    shape = (28, 28, 1)
    family = build_family(config, shape, 1)  # the model, objective, corruption, optimizer
    state = family.init(0)
    batch = jnp.zeros((config.batch_size, 784), jnp.uint8)
    cost = jax.jit(family.train_step).lower(state, batch).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    return float(cost["flops"])


def matmul_peak_gflops() -> float:
    import jax
    import jax.numpy as jnp

    a = jnp.ones((2048, 2048), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        f(a).block_until_ready()
        times.append(time.perf_counter() - t0)
    return 2 * 2048**3 / statistics.median(times) / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="dense,deep,vae,conv_dae")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peers", default="", help="comma list of " + ",".join(PEERS))
    ap.add_argument("--peers_dir", default="", help="directory of the peer scripts")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = ap.parse_args()
    workloads = [w for w in args.workloads.split(",") if w]
    peers = [p for p in args.peers.split(",") if p]
    if peers and not os.path.isdir(args.peers_dir):
        ap.error("--peers needs --peers_dir, the directory holding the peer scripts")
    peak = matmul_peak_gflops()
    print(f"float32 matmul peak (jax, 2048^2): {peak:.0f} GFLOP/s")
    results = {}
    for workload in workloads:
        flops = step_flops(workload)
        runs: dict[str, list[dict]] = {}
        names = ["ae_jax", *(p for p in peers if (workload, p) not in SKIP)]
        for r in range(args.repeats):
            for name in names:  # alternate frameworks run by run
                res = (run_ae_jax(workload) if name == "ae_jax"
                       else run_peer(name, workload, args.peers_dir))
                runs.setdefault(name, []).append(res)
                print(f"  {workload} {name} run {r + 1}: steady {res['steady_train_s']:.3f} s",
                      flush=True)
        summary = {}
        for name, rs in runs.items():
            med = {k: statistics.median(x[k] for x in rs) for k in rs[0] if k != "framework"}
            med["runs"] = [x["steady_train_s"] for x in rs]
            summary[name] = med
        ours = summary["ae_jax"]
        gflops = flops * ours["steps_per_epoch"] / ours["steady_train_s"] / 1e9
        ours.update(step_gflop=flops / 1e9, gflops=gflops, peak_fraction=gflops / peak)
        results[workload] = summary
    os.makedirs(args.out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(args.out, f"speed-{stamp}.json"), "w") as f:
        json.dump({"matmul_peak_gflops": peak, "results": results}, f, indent=2)
    table = render(results, peak)
    with open(os.path.join(args.out, f"speed-{stamp}.md"), "w") as f:
        f.write(table)
    print(table)


def render(results: dict, peak: float) -> str:
    lines = [f"float32 matmul peak measured in this run: {peak:.0f} GFLOP/s", "",
             "| workload | framework | steady train s [runs] | us/step | samples/s | compile s | "
             "peak RSS MiB | final val loss | GFLOP/s (% peak) | time / ae_jax |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for workload, summary in results.items():
        ours = summary["ae_jax"]["steady_train_s"]
        steps = summary["ae_jax"]["steps_per_epoch"]  # every framework drops the last batch
        for name, s in summary.items():
            runs = ", ".join(f"{x:.3f}" for x in s["runs"])
            compile_s = s["first_epoch_s"] - s["steady_train_s"]
            gf = (f"{s['gflops']:.0f} ({100 * s['peak_fraction']:.0f}%)" if "gflops" in s
                  else "")
            lines.append(
                f"| {workload} | {name} | {s['steady_train_s']:.3f} [{runs}] | "
                f"{1e6 * s['steady_train_s'] / steps:,.0f} | {s['samples_per_s']:,.0f} | "
                f"{compile_s:.2f} | {s['peak_rss_mib']:.0f} | "
                f"{s['final_val_loss']:.4f} | {gf} | {s['steady_train_s'] / ours:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
