"""Speed of ae_jax on the seeds' four workloads, optionally side by side with the peers.

    python benchmarks/speed.py [--workloads dense,deep,vae,conv_dae] [--repeats 3]
        [--peers all | keras-tf,keras-jax,torch-dataloader,torch-index,flax-step,flax-scan]
        [--peers_dir DIR] [--data_dir DIR] [--epochs N] [--train_limit N] [--test_limit N]
        [--no_skip] [--out DIR]

Each workload trains through `train.py` (the product path: on-device data, the configured
loop shape, evaluation every epoch) in a fresh workdir and subprocess; with --peers the peer
scripts of benchmarks/peers (keras_peer.py, torch_peer.py, flax_peer.py) run the same
workload, alternating with ae_jax run by run so that drifts of the machine hit both alike.
Each peer runs in its own virtualenv, made by `bash benchmarks/peers/setup_envs.sh`
(.venv-keras, .venv-torch), or with the interpreter in KERAS_PY / TORCH_PY / FLAX_PY; the
Flax peers run by default with this script's interpreter, so on the same JAX and device as
ae_jax. Per workload it prints the median steady training epoch (epochs 2..N), us/step,
samples/s, compile seconds (first epoch minus steady), peak RSS, final validation loss,
achieved GFLOP/s (XLA's cost analysis of one ae_jax training step x steps per second) as a
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
PEERS_DIR = os.path.join(ROOT, "benchmarks", "peers")
SETUP = "bash benchmarks/peers/setup_envs.sh"
FULL_TRAIN = 60000  # Fashion-MNIST's training images

# workload -> (config file, epochs, training images per epoch)
WORKLOADS = {
    "dense": ("configs/dense_ae.py", 3, FULL_TRAIN),
    "deep": ("configs/deep_ae.py", 3, FULL_TRAIN),
    "vae": ("configs/vae_dense_2d.py", 2, FULL_TRAIN),
    "conv_dae": ("configs/denoising_conv_ae.py", 2, 20000),
}

# name -> (interpreter variable, its default venv (None: this interpreter), script, args, env)
PEERS = {
    "keras-tf": ("KERAS_PY", ".venv-keras", "keras_peer.py", [],
                 {"KERAS_BACKEND": "tensorflow"}),
    "keras-jax": ("KERAS_PY", ".venv-keras", "keras_peer.py", [], {"KERAS_BACKEND": "jax"}),
    "torch-dataloader": ("TORCH_PY", ".venv-torch", "torch_peer.py",
                         ["--loader", "dataloader"], {}),
    "torch-index": ("TORCH_PY", ".venv-torch", "torch_peer.py", ["--loader", "index"], {}),
    "flax-step": ("FLAX_PY", None, "flax_peer.py", ["--bce", "fast"], {}),
    "flax-scan": ("FLAX_PY", None, "flax_peer.py", ["--scan", "--bce", "fast"], {}),
}
ALIASES = {"flax-naive": "flax-step"}  # the name of earlier tables

# Not run side by side on a CPU: one epoch takes minutes (conv gradients inside lax.scan on
# XLA:CPU ran 126 s per 20,000-image epoch, measured on 2026-11-23 on the 2-core CPU).
CPU_SKIP = {("conv_dae", "flax-scan")}


def peer_names(spec: str) -> list[str]:
    """--peers: a comma list of PEERS names (or ALIASES), or `all`."""
    names = [ALIASES.get(p, p) for p in spec.split(",") if p]
    if names == ["all"]:
        return list(PEERS)
    unknown = [p for p in names if p not in PEERS]
    if unknown:
        raise SystemExit(f"error: unknown peers {unknown}; known: all, {', '.join(PEERS)}")
    return list(dict.fromkeys(names))


def peer_python(peer: str) -> str:
    """The interpreter of a peer: $KERAS_PY / $TORCH_PY / $FLAX_PY, else its venv in the
    repository root (made by setup_envs.sh), else (Flax) this interpreter."""
    env_var, venv, *_ = PEERS[peer]
    if os.environ.get(env_var):
        return os.environ[env_var]
    if venv is None:
        return sys.executable
    python = os.path.join(ROOT, venv, "bin", "python")
    if not os.path.exists(python):
        target = venv.removeprefix(".venv-")
        raise SystemExit(f"error: peer {peer} needs {venv}: run `{SETUP} {target}` "
                         f"(or set {env_var} to a python that has it)")
    return python


# The runs' environment: this process's as it started (main() changes its own for its jax).
CHILD_ENV = dict(os.environ)


def _run(cmd, env=None, cwd=ROOT):
    """(stdout, wall seconds, peak RSS MiB) of one subprocess (rusage from os.wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env={**CHILD_ENV, **(env or {})},
                                stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{err.read()[-3000:]}")
        return out.read(), wall, usage.ru_maxrss / 1024


def run_ae_jax(workload: str, overrides: tuple[str, ...] = (), env: dict | None = None,
               epochs: int | None = None, train_limit: int | None = None,
               test_limit: int | None = None, data_dir: str = "") -> dict:
    """One train.py run of `workload` (plus `overrides`, e.g. "--config.data.placement=host")
    in a fresh workdir; its steady epoch, samples/s, whole-process wall and peak RSS.
    `epochs` and `train_limit` replace the workload's (WORKLOADS); `test_limit` validates on
    the first test images only."""
    config, default_epochs, default_limit = WORKLOADS[workload]
    limit = min(train_limit or default_limit, FULL_TRAIN)
    extra = [f"--config.data.train_limit={limit}"] if limit < FULL_TRAIN else []
    if test_limit:
        extra.append(f"--config.data.test_limit={test_limit}")
    if data_dir:
        extra.append(f"--config.data.data_dir={data_dir}")
    with tempfile.TemporaryDirectory() as workdir:
        cmd = [sys.executable, "train.py", f"--config={config}", f"--workdir={workdir}",
               f"--config.num_epochs={epochs or default_epochs}", "--config.progress_bar=False",
               "--config.tensorboard=False", "--config.checkpoint_every_epochs=1000",
               "--config.data.name=fashion_mnist", *extra, *overrides]
        _, wall, rss = _run(cmd, env=env)
        rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
        with open(os.path.join(workdir, "config.json")) as f:
            batch = json.load(f)["batch_size"]
    train = [r["seconds"] for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    steps = limit // batch
    steady = statistics.median(train[1:] or train)
    return {"framework": "ae_jax", "steady_train_s": steady, "first_epoch_s": train[0],
            "samples_per_s": steps * batch / steady, "final_val_loss": test[-1]["loss"],
            "whole_process_s": wall, "peak_rss_mib": rss, "steps_per_epoch": steps}


def run_peer(peer: str, workload: str, peers_dir: str, epochs: int | None = None,
             train_limit: int | None = None, test_limit: int | None = None,
             data_dir: str = "") -> dict:
    """One run of a peer script on `workload`; the numbers of its JSON line."""
    _, _, script, extra, env = PEERS[peer]
    _, default_epochs, default_limit = WORKLOADS[workload]
    limit = min(train_limit or default_limit, FULL_TRAIN)
    cmd = [peer_python(peer), os.path.join(peers_dir, script), "--model", workload,
           "--epochs", str(epochs or default_epochs), "--batch", "128", *extra]
    if limit < FULL_TRAIN:
        cmd += ["--train_limit", str(limit)]
    if test_limit:
        cmd += ["--test_limit", str(test_limit)]
    if data_dir:
        cmd += ["--data_dir", data_dir]
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


def matmul_peak_gflops(n: int) -> float:
    """GFLOP/s of an n x n float32 matmul in jax (default precision), median of 10."""
    import jax
    import jax.numpy as jnp

    a = jnp.ones((n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        f(a).block_until_ready()
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def summarize(runs: dict[str, list[dict]], flops: float, peak: float) -> dict:
    """Medians over the runs of each framework, with GFLOP/s from one ae_jax step's FLOPs
    (each framework's samples/s / 128 steps per second) and that as a fraction of `peak`."""
    summary = {}
    for name, rs in runs.items():
        med = {k: statistics.median(x[k] for x in rs) for k in rs[0] if k != "framework"}
        med["runs"] = [x["steady_train_s"] for x in rs]
        gflops = flops * med["samples_per_s"] / 128 / 1e9
        med.update(step_gflop=flops / 1e9, gflops=gflops, peak_fraction=gflops / peak)
        summary[name] = med
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default="dense,deep,vae,conv_dae")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peers", default="", help="all, or a comma list of " + ",".join(PEERS))
    ap.add_argument("--peers_dir", default=PEERS_DIR, help="directory of the peer scripts")
    ap.add_argument("--data_dir", default=os.environ.get("AE_JAX_DATA_DIR", ""),
                    help="Fashion-MNIST IDX folder (default: $AE_JAX_DATA_DIR, else each "
                         "side's default: ae_jax's data.data_dir search, the peers' _idx.py)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs of every workload "
                    "(default: " + ", ".join(f"{w} {v[1]}" for w, v in WORKLOADS.items()) + ")")
    ap.add_argument("--train_limit", type=int, default=None, help="training images per "
                    "epoch (default: 60,000; conv_dae 20,000)")
    ap.add_argument("--test_limit", type=int, default=None,
                    help="validate on the first N test images (default: all 10,000)")
    ap.add_argument("--no_skip", action="store_true", help="also run what a CPU skips: "
                    + ", ".join(f"{w} {p}" for w, p in sorted(CPU_SKIP)))
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = ap.parse_args()
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        ap.error(f"unknown workloads {unknown}; known: {', '.join(WORKLOADS)}")
    peers = peer_names(args.peers)
    if peers and not os.path.isfile(os.path.join(args.peers_dir, "_idx.py")):
        ap.error(f"--peers_dir={args.peers_dir} holds no peer scripts")
    for peer in peers:  # every missing venv is told before anything runs
        peer_python(peer)
    # This process keeps its jax (peak, FLOPs) while the runs start theirs: no preallocation
    # here, so that a GPU's memory stays for them.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax

    backend, kind = jax.default_backend(), jax.devices()[0].device_kind
    peak = matmul_peak_gflops(2048 if backend == "cpu" else 8192)
    print(f"device: {kind} ({backend}); float32 matmul peak (jax): {peak:.0f} GFLOP/s",
          flush=True)
    skip = CPU_SKIP if backend == "cpu" and not args.no_skip else set()
    sizes = dict(epochs=args.epochs, train_limit=args.train_limit, test_limit=args.test_limit,
                 data_dir=args.data_dir)
    results = {}
    for workload in workloads:
        flops = step_flops(workload)
        runs: dict[str, list[dict]] = {}
        names = ["ae_jax", *(p for p in peers if (workload, p) not in skip)]
        for r in range(args.repeats):
            for name in names:  # alternate frameworks run by run
                res = (run_ae_jax(workload, **sizes) if name == "ae_jax"
                       else run_peer(name, workload, args.peers_dir, **sizes))
                runs.setdefault(name, []).append(res)
                print(f"  {workload} {name} run {r + 1}: steady {res['steady_train_s']:.3f} s",
                      flush=True)
        results[workload] = summarize(runs, flops, peak)
    os.makedirs(args.out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(args.out, f"speed-{stamp}.json"), "w") as f:
        json.dump({"device": kind, "backend": backend, "matmul_peak_gflops": peak,
                   "epochs": args.epochs, "train_limit": args.train_limit,
                   "test_limit": args.test_limit, "results": results}, f, indent=2)
    table = render(results, peak, kind)
    with open(os.path.join(args.out, f"speed-{stamp}.md"), "w") as f:
        f.write(table)
    print(table)


def render(results: dict, peak: float, device: str = "") -> str:
    lines = [f"float32 matmul peak measured in this run: {peak:.0f} GFLOP/s"
             + (f" ({device})" if device else ""), "",
             "| workload | framework | steady train s [runs] | us/step | samples/s | compile s | "
             "peak RSS MiB | final val loss | GFLOP/s (% peak) | time / ae_jax |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for workload, summary in results.items():
        ours = summary["ae_jax"]["steady_train_s"]
        steps = summary["ae_jax"]["steps_per_epoch"]  # every framework drops the last batch
        for name, s in summary.items():
            runs = ", ".join(f"{x:.3f}" for x in s["runs"])
            compile_s = s["first_epoch_s"] - s["steady_train_s"]
            gf = f"{s['gflops']:.0f} ({100 * s['peak_fraction']:.1f}%)" if "gflops" in s else ""
            lines.append(
                f"| {workload} | {name} | {s['steady_train_s']:.3f} [{runs}] | "
                f"{1e6 * s['steady_train_s'] / steps:,.0f} | {s['samples_per_s']:,.0f} | "
                f"{compile_s:.2f} | {s['peak_rss_mib']:.0f} | "
                f"{s['final_val_loss']:.4f} | {gf} | {s['steady_train_s'] / ours:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
