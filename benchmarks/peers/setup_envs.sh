#!/usr/bin/env bash
# One virtualenv per peer framework, in the repository root, for benchmarks/speed.py --peers:
#
#   bash benchmarks/peers/setup_envs.sh            # .venv-keras and .venv-torch
#   bash benchmarks/peers/setup_envs.sh keras      # only some: keras, torch, flax
#
#   .venv-keras  tensorflow-cpu, keras, jax    keras_peer.py, KERAS_BACKEND=tensorflow or jax
#   .venv-torch  torch                         torch_peer.py
#   .venv-flax   jax, flax, optax (optional)   flax_peer.py; by default speed.py runs it with
#                                              its own interpreter, the project's venv, which
#                                              has jax, flax and optax already
#
# Environment: PYTHON, the interpreter the venvs are made from (default python3);
# KERAS_SPEC, TORCH_SPEC, FLAX_SPEC, the pip requirements of each (defaults below);
# TORCH_PIP_ARGS, extra pip arguments for torch: PyPI's Linux torch wheel brings CUDA
# libraries (gigabytes); for the CPU-only wheel pass PyTorch's CPU index, e.g.
# TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu". A venv that already
# exists is updated in place. Each peer prints the versions it ran with in its JSON line.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-python3}
KERAS_SPEC=${KERAS_SPEC:-"tensorflow-cpu keras jax numpy"}
TORCH_SPEC=${TORCH_SPEC:-"torch numpy"}
FLAX_SPEC=${FLAX_SPEC:-"jax flax optax numpy"}
TORCH_PIP_ARGS=${TORCH_PIP_ARGS:-}

make_env() {  # make_env NAME PIP-ARGS...: $ROOT/.venv-NAME with the packages installed
  local name=$1 dir="$ROOT/.venv-$1" start=$SECONDS
  shift
  echo "== $dir: pip install $*"
  [ -x "$dir/bin/python" ] || "$PYTHON" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --upgrade pip
  # shellcheck disable=SC2086  # the specs are word lists on purpose
  "$dir/bin/python" -m pip install --quiet "$@"
  "$dir/bin/python" - "$name" <<'EOF'
import importlib.metadata as md, sys
names = {"keras": ("tensorflow-cpu", "keras", "jax"), "torch": ("torch",),
         "flax": ("jax", "flax", "optax")}[sys.argv[1]]
print("   ", ", ".join(f"{n} {md.version(n)}" for n in names))
EOF
  echo "   ready in $((SECONDS - start)) s"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(keras torch)
for target in "${targets[@]}"; do
  case $target in
    # shellcheck disable=SC2086
    keras) make_env keras $KERAS_SPEC ;;
    # shellcheck disable=SC2086
    torch) make_env torch $TORCH_PIP_ARGS $TORCH_SPEC ;;
    # shellcheck disable=SC2086
    flax) make_env flax $FLAX_SPEC ;;
    *) echo "unknown peer environment '$target' (keras, torch, flax)" >&2; exit 2 ;;
  esac
done
echo "done: python benchmarks/speed.py --peers=all"
