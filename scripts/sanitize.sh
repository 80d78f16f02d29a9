#!/usr/bin/env bash
# Builds the native C++ tests with AddressSanitizer + UndefinedBehaviorSanitizer in build/asan and runs them with
# ctest. CMake cache flags only (CMakeLists.txt is not changed): Debug so that the kernels' asserts are live,
# at -O1 so that it stays fast; -fno-sanitize-recover=all makes any UB report fail its test. That includes
# tests/cpp/fuzz_regressions_test.cpp, which replays every kept fuzz crash and hostile model file under ASan.
#
#   scripts/sanitize.sh                  the fast subset (skips the n = 4096 x 4096 case, see SANITIZE_EXCLUDE)
#   SANITIZE_ALL=1 scripts/sanitize.sh   every test
#   SANITIZE_EXCLUDE='regex' ...         ctest -E regex instead of the default
#   SANITIZE_CXX=g++ ...                 another compiler (default clang++, else g++; clang's UBSan also
#                                        checks float-cast-overflow)
# Extra arguments go to ctest (e.g. -R Safetensors). Exits non-zero when a test fails or a sanitizer fires.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/asan
jobs=$(nproc 2>/dev/null || echo 2)
cxx=${SANITIZE_CXX:-}
if [ -z "$cxx" ]; then
  if command -v clang++ >/dev/null; then cxx=clang++; else cxx=g++; fi
fi
flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"

# Re-configure when the compiler or the flags differ from the cache's (the cache keeps the first ones otherwise).
if [ -f "$build/CMakeCache.txt" ] && ! grep -qxF "ATTN_SANITIZE_STAMP:STRING=$cxx $flags" "$build/CMakeCache.txt"; then
  rm -rf "$build"
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DATTN_SANITIZE_STAMP:STRING="$cxx $flags" >/dev/null
fi
cmake --build "$build" -j"$jobs"

# detect_leaks: LeakSanitizer at exit; halt_on_error / print_stacktrace: a UB report fails the test with a stack.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exclude=${SANITIZE_EXCLUDE:-q4096_k4096}
args=(--test-dir "$build" --output-on-failure -j"$jobs" --timeout 600)
if [ -z "${SANITIZE_ALL:-}" ] && [ -n "$exclude" ]; then
  args+=(-E "$exclude")
  echo "sanitize.sh: skipping tests matching '$exclude' (SANITIZE_ALL=1 runs them)"
fi
ctest "${args[@]}" "$@"
