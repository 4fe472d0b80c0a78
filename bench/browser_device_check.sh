#!/usr/bin/env bash
# The browser bench on a machine with a real GPU: WebGPU (the machine's GPU, through chromium's
# Vulkan backend) against WASM in one headless chromium page, on the demo model in int4 and int8
# with an r=16 adapter. SwiftShader figures from CI show only that the path works; these are the
# speed figures. Needs Node.js 20+, this repo's node_modules (npm ci) and a chromium with Vulkan.
# Nothing is downloaded. Takes a few minutes.
#
#   bash bench/browser_device_check.sh                 # GPU, results to bench/results/<date>-browser-gpu.json
#   bash bench/browser_device_check.sh --swiftshader   # the same run on software WebGPU (CI-like)
#
# Environment: CHROMIUM_PATH (default /usr/bin/chromium), BENCH_ARGS (extra bench:browser arguments,
# e.g. "--tokens 64 --rounds 5").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
gpu=--gpu kind=gpu
case "${1:-}" in
  --swiftshader) gpu= kind=swiftshader ;;
  "") ;;
  -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "browser_device_check: unknown argument $1 (use --swiftshader or --help)" >&2; exit 2 ;;
esac

command -v node >/dev/null || { echo "browser_device_check: no node on PATH (Node.js 20+ is needed)" >&2; exit 1; }
[[ -d "$root/node_modules/playwright-core" ]] || { echo "browser_device_check: run npm ci in $root first" >&2; exit 1; }
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
[[ -x "$chromium" ]] || { echo "browser_device_check: no chromium at $chromium (apt-get install chromium, or set CHROMIUM_PATH)" >&2; exit 1; }
if [[ -n $gpu ]] && command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >&2; fi

mkdir -p "$root/bench/results"
out="$root/bench/results/$(date -u +%Y-%m-%d)-browser-$kind.json"
cd "$root"
# shellcheck disable=SC2086
CHROMIUM_PATH="$chromium" node node_modules/.bin/tsx bench/browser.ts --json $gpu ${BENCH_ARGS:-} > "$out"
echo "browser_device_check: results in ${out#$root/}" >&2
cat "$out"
