#!/usr/bin/env bash
# Builds everything the page, the widget and the tests load: the WASM modules and the model files.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/build-wasm.sh
if [ -f scripts/convert-model.mjs ]; then node scripts/convert-model.mjs; fi
