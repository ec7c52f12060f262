#!/usr/bin/env bash
# Fill, on a machine with network and this repository, what benchmarks/gpu.sh needs on a GPU
# machine that has JAX (with CUDA), flax, optax and orbax-checkpoint but no network:
#
#   bash benchmarks/gpu_wheels.sh
#
#   benchmarks/wheels/                 wheels of the pure-Python needs of ae_jax that such a
#                                      machine lacks (PACKAGES below), without their own
#                                      dependencies (absl-py, PyYAML, protobuf, numpy: those
#                                      come with the JAX stack)
#   benchmarks/gpu_data/fashion-mnist/ the four Fashion-MNIST IDX files, copied from
#                                      $AE_JAX_DATA_DIR or a folder ae_jax finds them in,
#                                      else downloaded (and checksummed) by ae_jax
#
# Then copy the repository with both folders to the GPU machine and run gpu.sh there.
# Environment: PACKAGES (default "ml-collections tensorboardX tqdm"); EXTRA, more packages
# for a GPU machine without them, e.g. EXTRA="matplotlib scikit-learn scipy pillow pytest"
# (binary wheels: for the GPU machine's Python and platform below); PY_VERSION of the GPU
# machine's python (default 3.12); PLATFORMS (default: manylinux x86-64 tags); PYTHON, the
# interpreter here (default: the project's .venv, else python3). Old wheels in
# benchmarks/wheels are removed first (two versions of one package stop the install).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHEELS=$ROOT/benchmarks/wheels
DATA=$ROOT/benchmarks/gpu_data/fashion-mnist
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  [ -x "$ROOT/.venv/bin/python" ] && PYTHON=$ROOT/.venv/bin/python
fi
PACKAGES=${PACKAGES:-"ml-collections tensorboardX tqdm"}
EXTRA=${EXTRA:-}
PY_VERSION=${PY_VERSION:-3.12}
PLATFORMS=${PLATFORMS:-"manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 \
manylinux2014_x86_64 manylinux1_x86_64"}

start=$SECONDS
mkdir -p "$WHEELS"
rm -f "$WHEELS"/*.whl
platform_args=()
for p in $PLATFORMS; do platform_args+=(--platform "$p"); done
# shellcheck disable=SC2086  # package lists are word lists
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --implementation cp \
  --python-version "$PY_VERSION" "${platform_args[@]}" -d "$WHEELS" $PACKAGES $EXTRA
echo "wheels in $WHEELS:"
ls -1 "$WHEELS"

mkdir -p "$DATA"
(cd "$ROOT" && "$PYTHON" - "$DATA" <<'EOF'
"""Copy the four IDX files from where ae_jax finds them, else download them there."""
import glob, os, shutil, sys

from ae_jax.data import download
from ae_jax.data.idx import find_idx_dir

target = sys.argv[1]
cache = download.cache_dir("fashion_mnist")
source = (find_idx_dir("fashion_mnist", os.environ.get("AE_JAX_DATA_DIR"))
          or find_idx_dir("fashion_mnist", cache))
if source is None:
    source = download.ensure_files("fashion_mnist", target)
if os.path.abspath(source) != os.path.abspath(target):
    for path in glob.glob(os.path.join(source, "*-ubyte*")):
        shutil.copy(path, target)
print(f"Fashion-MNIST from {source} in {target}: {sorted(os.listdir(target))}")
EOF
)
du -sh "$WHEELS" "$DATA"
echo "ready in $((SECONDS - start)) s; on the GPU machine: bash benchmarks/gpu.sh"
