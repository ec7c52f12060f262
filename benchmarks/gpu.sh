#!/usr/bin/env bash
# ae_jax on a GPU, in one command (about 6 minutes on one H100 or H200):
#
#   bash benchmarks/gpu.sh              on the GPU machine
#   bash benchmarks/gpu.sh --dry_run    anywhere: on the CPU, tiny sizes (AE_JAX_GPU_DRY_RUN=1)
#
# The GPU machine needs Python with JAX (CUDA), flax, optax, orbax-checkpoint, numpy, scipy,
# scikit-learn, matplotlib, pillow and pytest, and no network: the rest of ae_jax's needs
# travel as wheels in benchmarks/wheels/ and Fashion-MNIST in benchmarks/gpu_data/, both
# filled beforehand by `bash benchmarks/gpu_wheels.sh` on a machine with network.
#
#   1 install   the wheels (pip --no-index --no-deps), then `pip install --no-deps -e .`
#   2 tests     the device-relevant tests: bitwise resume, bfloat16 compute, streamed vs
#               on-device epochs and placement, one-device mesh errors, vmapped runs
#               (the 4-device mesh tests need 4 devices and stay with the CPU suite)
#   3 speed     benchmarks/speed.py: the four workloads, ae_jax next to the Flax peers
#               (flax-step, flax-scan) on the same device: us/step, samples/s, GFLOP/s and
#               fraction of the measured float32 matmul peak
#   4 dense_ae  `train.py --config=configs/dense_ae.py --config.num_epochs=50`, end to end
#   5 runs      dense_ae with --config.num_runs=8 against 1 (vmapped runs)
#
# Then one table of every section's seconds and status. Results (speed tables, workdirs,
# logs) go to $RESULTS_DIR (default benchmarks/results/gpu-<date>). Environment: PYTHON
# (default python3), AE_JAX_DATA_DIR (default benchmarks/gpu_data/fashion-mnist when there),
# REPEATS (speed runs per framework, default 1), SPEED_EPOCHS (default 5), RUNS_EPOCHS
# (default 10). Exit status 1 if a section failed.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DRY=${AE_JAX_GPU_DRY_RUN:-0}
for arg in "$@"; do
  case $arg in
    --dry_run|--dry-run) DRY=1 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "unknown argument '$arg' (--dry_run, --help)" >&2; exit 2 ;;
  esac
done
PY=${PYTHON:-python3}
WHEELS=$ROOT/benchmarks/wheels
RESULTS=${RESULTS_DIR:-$ROOT/benchmarks/results/gpu-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$RESULTS"
if [ -z "${AE_JAX_DATA_DIR:-}" ] && [ -d "$ROOT/benchmarks/gpu_data/fashion-mnist" ]; then
  export AE_JAX_DATA_DIR=$ROOT/benchmarks/gpu_data/fashion-mnist
fi
DATA_FLAG=()
[ -n "${AE_JAX_DATA_DIR:-}" ] && DATA_FLAG=(--config.data.data_dir="$AE_JAX_DATA_DIR")
export PYTHONUNBUFFERED=1 PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}

if [ "$DRY" = 1 ]; then  # every section, on the CPU, on a few images
  export JAX_PLATFORMS=cpu
  REPEATS=1 SPEED_EPOCHS=2 LONG_EPOCHS=2 RUNS_EPOCHS=1
  SPEED_SIZES=(--train_limit 128 --test_limit 100 --no_skip)  # one step an epoch
  TRAIN_SIZES=(--config.data.train_limit=256 --config.data.test_limit=100)
  PYTEST_MODE=(--collect-only -q)  # the selection resolves; the CPU suite runs the tests
else
  REPEATS=${REPEATS:-1} SPEED_EPOCHS=${SPEED_EPOCHS:-5} LONG_EPOCHS=50
  RUNS_EPOCHS=${RUNS_EPOCHS:-10}
  SPEED_SIZES=() TRAIN_SIZES=() PYTEST_MODE=(-q)
fi

NAMES=() SECONDS_TAKEN=() STATUS=() FAILED=0
section() {  # section NAME COMMAND...: run it, log it, time it
  local name=$1 start=$SECONDS rc
  shift
  echo; echo "== $name: $*"
  "$@" 2>&1 | tee "$RESULTS/$name.log"
  rc=${PIPESTATUS[0]}
  NAMES+=("$name"); SECONDS_TAKEN+=($((SECONDS - start)))
  if [ "$rc" = 0 ]; then STATUS+=(ok); else STATUS+=("FAILED ($rc)"); FAILED=1; fi
}

install() {
  shopt -s nullglob
  local wheels=("$WHEELS"/*.whl)
  if [ "$DRY" = 1 ]; then
    echo "dry run: would pip install ${#wheels[@]} wheels from $WHEELS and -e ."
  else
    if [ ${#wheels[@]} -gt 0 ]; then
      "$PY" -m pip install --quiet --no-index --no-deps "${wheels[@]}" || return
    fi
    # --no-build-isolation: setuptools (with wheel) from this environment, nothing fetched;
    # without them ae_jax still runs from the checkout (PYTHONPATH)
    "$PY" -m pip install --quiet --no-index --no-deps --no-build-isolation -e . ||
      echo "warning: pip install -e . failed; running ae_jax from $ROOT (PYTHONPATH)"
  fi
  "$PY" - "$DRY" <<'EOF'
import importlib.util, sys
need = ["jax", "flax", "optax", "orbax.checkpoint", "ml_collections", "absl", "numpy",
        "scipy", "sklearn", "matplotlib", "PIL", "tqdm", "tensorboardX", "pytest", "ae_jax"]
missing = [m for m in need if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"error: missing {', '.join(missing)}: run `bash benchmarks/gpu_wheels.sh` "
             "(EXTRA=... for binary packages) on a machine with network, copy "
             "benchmarks/wheels here")
import jax
devices = jax.devices()
print(f"jax {jax.__version__}, backend {jax.default_backend()}: {devices}")
if sys.argv[1] != "1" and jax.default_backend() != "gpu":
    sys.exit("error: jax sees no GPU (use --dry_run for a check on the CPU)")
EOF
}

gpu_tests() {
  "$PY" -m pytest "${PYTEST_MODE[@]}" -p no:randomly \
    tests/test_experiment.py tests/test_training.py tests/test_parallel.py \
    tests/test_sweeps.py \
    -k "resume_is_bitwise or bfloat16 or streamed or streaming or placement \
or misconfiguration or vmapped_sweep"
}

speed() {
  "$PY" benchmarks/speed.py --workloads dense,deep,vae,conv_dae --repeats "$REPEATS" \
    --epochs "$SPEED_EPOCHS" --peers flax-step,flax-scan --out "$RESULTS/speed" \
    "${SPEED_SIZES[@]}"
}

train() {  # train WORKDIR EPOCHS [OVERRIDES...]: the user's command, timed by `section`
  local workdir=$1 epochs=$2
  shift 2
  "$PY" train.py --config=configs/dense_ae.py --config.num_epochs="$epochs" \
    --workdir="$workdir" --config.progress_bar=False "${DATA_FLAG[@]}" "${TRAIN_SIZES[@]}" "$@"
}

summary() {  # the runs' table, from their workdirs' metrics.jsonl and the section times
  "$PY" - "$RESULTS" "${SECONDS_TAKEN[3]:-0}" "${SECONDS_TAKEN[4]:-0}" \
    "${SECONDS_TAKEN[5]:-0}" <<'EOF'
import json, os, statistics, sys

results, walls = sys.argv[1], [float(x) for x in sys.argv[2:]]
rows = [("dense_ae", "dense_ae_50"), ("dense_ae num_runs=1", "runs_1"),
        ("dense_ae num_runs=8", "runs_8")]
print("| run | epochs | wall s | steady train s/epoch | test loss |")
print("|---|---|---|---|---|")
steady = {}
for (label, name), wall in zip(rows, walls):
    path = os.path.join(results, "workdirs", name, "metrics.jsonl")
    if not os.path.exists(path):
        print(f"| {label} | - | {wall:.0f} | - | - |")
        continue
    metrics = [json.loads(line) for line in open(path)]
    train = [r["seconds"] for r in metrics if r["split"] == "train"]
    loss = [r["loss"] for r in metrics if r["split"] == "test"][-1]
    loss = statistics.mean(loss) if isinstance(loss, list) else loss  # a mean over runs
    steady[name] = statistics.median(train[1:] or train)
    print(f"| {label} | {len(train)} | {wall:.0f} | {steady[name]:.3f} | {loss:.4f} |")
if "runs_1" in steady and "runs_8" in steady:
    print(f"\n8 vmapped runs: {steady['runs_8'] / steady['runs_1']:.2f}x the steady epoch of "
          f"one, {walls[2] / max(walls[1], 1):.2f}x its whole command")
EOF
}

TOTAL_START=$SECONDS
section install install
section tests gpu_tests
section speed speed
section dense_ae train "$RESULTS/workdirs/dense_ae_50" "$LONG_EPOCHS"
section runs_1 train "$RESULTS/workdirs/runs_1" "$RUNS_EPOCHS" --config.num_runs=1
section runs_8 train "$RESULTS/workdirs/runs_8" "$RUNS_EPOCHS" --config.num_runs=8

echo
[ -f "$RESULTS/speed.log" ] && sed -n '/^float32 matmul peak measured/,$p' "$RESULTS/speed.log"
echo
summary | tee "$RESULTS/runs.md"
echo
echo "| section | seconds | status |"
echo "|---|---|---|"
for i in "${!NAMES[@]}"; do
  echo "| ${NAMES[$i]} | ${SECONDS_TAKEN[$i]} | ${STATUS[$i]} |"
done
echo "| total | $((SECONDS - TOTAL_START)) | $([ "$FAILED" = 0 ] && echo ok || echo FAILED) |"
echo "results in $RESULTS"
exit "$FAILED"
