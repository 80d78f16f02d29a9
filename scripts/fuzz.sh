#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ (clang, -fsanitize=fuzzer,address,undefined) and runs each for a
# fixed time. A crash, leak, timeout or broken property is saved as tests/fuzz/regressions/<target>/<kind>-<sha1>,
# which tests/cpp/fuzz_regressions_test.cpp then replays in every plain `ctest` (keep the file, fix the bug).
#
#   scripts/fuzz.sh                      every target, FUZZ_SECONDS (default 60) each
#   scripts/fuzz.sh safetensors model    only these targets
#   FUZZ_SECONDS=300 scripts/fuzz.sh     longer runs
#   FUZZ_JOBS=2 scripts/fuzz.sh          libFuzzer -fork=2 (default 1; one process per core at most)
# Targets: safetensors json tokenizer model attention vocab shapes (see tests/fuzz/fuzz_targets.h).
# The engine library is built by CMake in build/fuzz (Debug, so kernel asserts are live, at -O1); the growing
# corpus lives in build/fuzz/corpus/<target> (not committed), seeded from tests/fuzz/corpus/<target> and the
# regression inputs. Logs: build/fuzz/logs/<target>.log. Exits 1 when any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

all_targets=(safetensors json tokenizer model attention vocab shapes)
seconds=${FUZZ_SECONDS:-60}
fuzz_jobs=${FUZZ_JOBS:-1}
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [ -f "tests/fuzz/fuzz_$t.cpp" ] || { echo "fuzz.sh: unknown target '$t' (expected: ${all_targets[*]})" >&2; exit 2; }
done

CXX=${FUZZ_CXX:-clang++}
command -v "$CXX" >/dev/null || { echo "fuzz.sh: $CXX not found (clang with compiler-rt is needed)" >&2; exit 2; }
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
build=build/fuzz
jobs=$(nproc 2>/dev/null || echo 2)

# 1. The engine library, instrumented for coverage (fuzzer-no-link) and the sanitizers.
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE=Debug -DATTN_NATIVE_TESTS=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link $sanitize" -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" >/dev/null
fi
cmake --build "$build" --target attn_engine -j"$jobs"

# 2. One executable per target (relinked when its source, the shared header or the library changed).
mkdir -p "$build/logs"
for t in "${targets[@]}"; do
  exe="$build/fuzz_$t"
  if [ ! -x "$exe" ] || [ -n "$(find tests/fuzz/fuzz_$t.cpp tests/fuzz/fuzz_targets.h "$build/libattn_engine.a" \
                                  -newer "$exe" 2>/dev/null | head -1)" ]; then
    echo "fuzz.sh: building $exe"
    # shellcheck disable=SC2086
    "$CXX" -std=c++17 -g -O1 -fsanitize=fuzzer $sanitize -DATTN_SOURCE_DIR="\"$root\"" \
      -I wasm/include -I "$build/include-shims" -I /usr/include/eigen3 \
      "tests/fuzz/fuzz_$t.cpp" "$build/libattn_engine.a" -o "$exe"
  fi
done

# 3. Run each for a fixed time.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
found=()
summary=()
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  regressions="tests/fuzz/regressions/$t"
  mkdir -p "$corpus" "$regressions"
  seeds=()
  [ -d "tests/fuzz/corpus/$t" ] && seeds+=("tests/fuzz/corpus/$t")
  seeds+=("$regressions")
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=("-dict=tests/fuzz/$t.dict")
  before=$(ls "$regressions" | wc -l)
  log="$build/logs/$t.log"
  echo "fuzz.sh: $t for ${seconds}s (log $log)"
  set +e
  # Fork mode, even with one job: a crash does not end the run (-ignore_crashes), so a known, not yet fixed bug
  # in the seeds does not stop the search for the next one. Every crash is still saved.
  "$build/fuzz_$t" -fork="$fuzz_jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$regressions/" "$corpus" "${seeds[@]}" >"$log" 2>&1
  status=$?
  set -e
  # The parent's status lines: "#<executions>: cov: <edges> ft: ... crash: ..."; the last one is the total.
  execs=$( (grep -oE '^#[0-9]+: cov' "$log" || true) | tail -1 | tr -dc '0-9')
  cov=$( (grep -oE '^#[0-9]+: cov: [0-9]+' "$log" || true) | tail -1 | awk '{print $3}')
  after=$(ls "$regressions" | wc -l)
  line="$t: ${execs} executions in ${seconds}s, coverage ${cov:-?} edges, exit $status, $((after - before)) new input(s) in $regressions"
  summary+=("$line")
  if ((status != 0 || after > before)); then
    found+=("$t")
    grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|fuzz: check_|SUMMARY' "$log" | sort | uniq -c | head -10 || true
  fi
done

echo "== fuzz summary"
printf '  %s\n' "${summary[@]}"
if ((${#found[@]})); then
  echo "fuzz.sh: findings in: ${found[*]} (inputs saved under tests/fuzz/regressions/; logs in $build/logs)" >&2
  exit 1
fi
