#!/usr/bin/env bash
# npm run bench: build if needed, then measure attention in headless Chromium against the peers
# (scripts/bench/run.mjs serves web/bench/ on port 5175). Prints the tables; writes bench/results.json,
# bench/table.txt and bench/chart.svg. Arguments pass through (--quick, --rounds N, --no-model, --no-webgpu, --no-widget).
# Figures only: not a test, nothing asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
[ -d node_modules/onnxruntime-web ] || bash scripts/setup.sh

# Build when a WASM module is missing or older than any engine source, or the model file is missing.
needs_build=0
for f in web/src/lib/wasm/attn_{simd,scalar,simd_mt,simd_relaxed,simd_mt_relaxed}.wasm; do
  [ -f "$f" ] || needs_build=1
done
if [ "$needs_build" = 0 ] && [ -n "$(find wasm CMakeLists.txt scripts/build-wasm.sh -newer web/src/lib/wasm/attn_simd.wasm -type f 2>/dev/null | head -1)" ]; then
  needs_build=1
fi
if [ -f scripts/convert-model.mjs ] && [ ! -f web/public/models/use-lite.f16.safetensors ]; then needs_build=1; fi
if [ "$needs_build" = 1 ]; then
  echo "bench: building (scripts/build.sh)"
  bash scripts/build.sh || echo "bench: the build failed; benching whatever exists (missing pieces are skipped)"
fi

node scripts/bench/run.mjs "$@"
# The widget's budget (bytes and first heatmap on the built sample post); --no-widget skips it.
case " $* " in
  *" --no-widget "*) ;;
  *) node scripts/bench/widget.mjs
     node scripts/bench/widget-network.mjs ;;  # the widget folder on a 10 Mbit/s link: poster and live
esac
