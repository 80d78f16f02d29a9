#!/usr/bin/env bash
# npm pack / npm publish: builds what the package holds and is missing or older than its sources: the WASM
# modules (web/src/lib/wasm/, needs the Emscripten set-up), the compact model (web/public/models/
# use-lite.i8.safetensors) and the widget folder (dist/widget/). Does nothing when all are up to date.
set -euo pipefail
exec 1>&2  # npm pack --json prints its JSON on stdout: the build logs go to stderr
cd "$(dirname "$0")/.."
newer() { [ -n "$(find "$@" -newer "$1" -print -quit 2>/dev/null)" ]; }  # is any of $2.. newer than $1?
for wasm in web/src/lib/wasm/attn_{simd,scalar,simd_mt,simd_relaxed,simd_mt_relaxed}.wasm; do
  if [ ! -f "$wasm" ] || newer "$wasm" wasm CMakeLists.txt; then
    echo "prepack: building the WASM modules ($wasm is missing or older than wasm/)"
    source scripts/env.sh
    bash scripts/build-wasm.sh
    break
  fi
done
node scripts/convert-model.mjs
widget=dist/widget/attention-view.js
if [ ! -f "$widget" ] || newer "$widget" web/src/widget web/src/lib web/public/models/use-lite.i8.safetensors vite.config.js; then
  echo "prepack: building dist/widget/"
  npx vite build --mode widget --logLevel warn
fi
