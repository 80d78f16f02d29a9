#!/usr/bin/env bash
# npm test: set up if needed, build, then run every suite: native C++ (CTest + GoogleTest), the C++ tests
# compiled to WASM under Node, a bounded fuzzing run (4 s per target, 7 targets), JS (Vitest, Node), the page
# and the package (Playwright, headless Chromium), the widget in Firefox and WebKit (Vitest driving
# firefox-esr and WebKitGTK's MiniBrowser).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
source scripts/env.sh
# dist/widget/ (the folder authors copy) and dist/site/: the package and cross-browser tests load the former.
npx vite build --logLevel warn
npx vite build --mode widget --logLevel warn
jobs=$(nproc)

echo "== native C++ (CTest + GoogleTest)"
cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/native -j"$jobs"
ctest --test-dir build/native --output-on-failure -j"$jobs"

echo "== native C++ under AddressSanitizer + UndefinedBehaviorSanitizer (skips the two 4096x4096 cases)"
bash scripts/sanitize.sh

echo "== fuzzing (libFuzzer + ASan + UBSan), a bounded run of every target (scripts/fuzz.sh; FUZZ_SECONDS each)"
FUZZ_SECONDS=${FUZZ_SECONDS:-4} bash scripts/fuzz.sh

echo "== C++ tests compiled to WASM (SIMD, scalar, and SIMD with relaxed SIMD's multiply-add), run under Node"
bash scripts/build-wasm.sh --tests
ctest --test-dir build/wasm-tests-simd --output-on-failure
ctest --test-dir build/wasm-tests-scalar --output-on-failure
ctest --test-dir build/wasm-tests-relaxed --output-on-failure

echo "== JS (Vitest under Node, incl. WebGPU through Dawn + SwiftShader)"
npx vitest run

echo "== page, widget and npm package (Playwright, headless Chromium)"
npx playwright test

echo "== widget in Firefox (WebDriver BiDi) and WebKit (WebKitWebDriver, Xvfb), headless"
npx vitest run --config vitest.browsers.config.js
