#!/usr/bin/env bash
# Install the Python training dependencies into a virtualenv (CPU is enough) and run the training
# tests. Reuses the virtualenv when its lock file is unchanged, so a warm run only runs pytest.
#
#   bash training/ci.sh                 # venv at <repo>/.venv
#   LORA_EDGE_VENV=/path bash training/ci.sh
#   bash training/ci.sh -k golden       # extra arguments go to pytest
#
# Why the lock file and --no-deps: torch's PyPI wheel for x86-64 Linux is a CUDA build, and a plain
# `pip install torch` also pulls triton and CUDA extras (5.6 GB, measured). The NVIDIA runtime
# libraries are still needed on CPU (torch's libraries link them at load time) but triton (~1 GB,
# torch.compile only), cusolver, cccl and cuda-bindings are not; the lock lists exactly what is.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LORA_EDGE_VENV:-$repo/.venv}"
lock="$repo/training/requirements-ci.lock"
python="${PYTHON:-python3}"

die() { echo "training/ci.sh: $*" >&2; exit 1; }

command -v "$python" >/dev/null || die "$python not found (need Python 3.11+)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "need Python 3.11+, have $("$python" -V 2>&1)"

want="$(sha256sum "$lock" | cut -d' ' -f1)"
stamp="$venv/.lora-edge-lock-sha256"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "training/ci.sh: reusing $venv (lock unchanged)"
else
  echo "training/ci.sh: installing Python dependencies into $venv (first run: ~2 min, ~4.3 GB)"
  start=$(date +%s)
  rm -rf "$venv"
  "$python" -m venv "$venv" || die "could not create a virtualenv at $venv"
  # --no-deps: the lock is the complete set; letting pip resolve torch's metadata would add triton etc.
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$lock" \
    || die "pip install of $lock failed"
  "$venv/bin/python" -c 'import torch, transformers, peft, safetensors, tokenizers' \
    || die "the installed packages do not import"
  echo "$want" > "$stamp"
  echo "training/ci.sh: installed in $(( $(date +%s) - start )) s, $(du -sh "$venv" | cut -f1)"
fi

cd "$repo"
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1
# One torch thread: the models are tiny, and on 2 busy cores two spinning OpenMP threads ran 10x slower.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec "$venv/bin/python" -m pytest training/tests -q -p no:cacheprovider "$@"
