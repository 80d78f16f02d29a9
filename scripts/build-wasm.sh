#!/usr/bin/env bash
# Builds the WASM engine with Emscripten (emcmake + CMake), incrementally:
#   web/src/lib/wasm/attn_simd.{mjs,wasm}    (-msimd128)       from build/wasm-simd
#   web/src/lib/wasm/attn_scalar.{mjs,wasm}  (no SIMD)         from build/wasm-scalar
#   web/src/lib/wasm/attn_simd_mt.{mjs,wasm} + attn_simd_mt.worker.js (-msimd128 -pthread: the threaded build,
#                                            for cross-origin isolated pages) from build/wasm-simd-mt
#   web/src/lib/wasm/attn_simd_relaxed.{mjs,wasm} (-msimd128 -mrelaxed-simd: relaxed SIMD's multiply-add, for
#                                            browsers that have it; scripts/relaxed-simd.mjs) from build/wasm-simd-relaxed
#   web/src/lib/wasm/attn_simd_mt_relaxed.{mjs,wasm} + attn_simd_mt_relaxed.worker.js (both: the threaded build
#                                            with relaxed SIMD's multiply-add) from build/wasm-simd-mt-relaxed
# With --tests it instead builds the GoogleTest executables for Node (ctest --test-dir build/wasm-tests-simd,
# build/wasm-tests-scalar, build/wasm-tests-relaxed). A second run with nothing changed only checks timestamps.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

tests=0
for arg in "$@"; do
  case "$arg" in
    --tests) tests=1 ;;
    *) echo "build-wasm.sh: unknown argument '$arg' (expected --tests)" >&2; exit 2 ;;
  esac
done
jobs=$(nproc 2>/dev/null || echo 2)

# configure <build dir> <cmake args...>: only when the cache is missing (CMake re-configures by itself
# when CMakeLists.txt or a globbed directory changes).
configure() {
  local dir=$1; shift
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    emcmake cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  fi
}

if ((tests)); then
  configure build/wasm-tests-simd -DATTN_SIMD=ON -DATTN_WASM_TESTS=ON
  configure build/wasm-tests-scalar -DATTN_SIMD=OFF -DATTN_WASM_TESTS=ON
  configure build/wasm-tests-relaxed -DATTN_SIMD=ON -DATTN_RELAXED_SIMD=ON -DATTN_WASM_TESTS=ON
  cmake --build build/wasm-tests-simd -j"$jobs"
  cmake --build build/wasm-tests-scalar -j"$jobs"
  cmake --build build/wasm-tests-relaxed -j"$jobs"
else
  configure build/wasm-simd -DATTN_SIMD=ON
  configure build/wasm-scalar -DATTN_SIMD=OFF
  configure build/wasm-simd-mt -DATTN_SIMD=ON -DATTN_THREADS=ON
  configure build/wasm-simd-relaxed -DATTN_SIMD=ON -DATTN_RELAXED_SIMD=ON
  configure build/wasm-simd-mt-relaxed -DATTN_SIMD=ON -DATTN_THREADS=ON -DATTN_RELAXED_SIMD=ON
  cmake --build build/wasm-simd -j"$jobs"
  cmake --build build/wasm-scalar -j"$jobs"
  cmake --build build/wasm-simd-mt -j"$jobs"
  cmake --build build/wasm-simd-relaxed -j"$jobs"
  cmake --build build/wasm-simd-mt-relaxed -j"$jobs"
  ls -l web/src/lib/wasm/attn_simd.mjs web/src/lib/wasm/attn_simd.wasm \
        web/src/lib/wasm/attn_simd_relaxed.mjs web/src/lib/wasm/attn_simd_relaxed.wasm \
        web/src/lib/wasm/attn_scalar.mjs web/src/lib/wasm/attn_scalar.wasm \
        web/src/lib/wasm/attn_simd_mt.mjs web/src/lib/wasm/attn_simd_mt.wasm \
        web/src/lib/wasm/attn_simd_mt.worker.js \
        web/src/lib/wasm/attn_simd_mt_relaxed.mjs web/src/lib/wasm/attn_simd_mt_relaxed.wasm \
        web/src/lib/wasm/attn_simd_mt_relaxed.worker.js | awk '{print "build-wasm:", $5, $9}'
fi
