#!/usr/bin/env bash
# The README's test command: installs what is missing, then configures, builds and runs ctest in the
# `release` preset (SIMD, -march=native) and the `asan` preset (AddressSanitizer + UBSan, RECDIFF_NO_SIMD),
# then runs each libFuzzer target for a bounded time. Exits non-zero on any failure.
#   RECDIFF_DATA_MIRROR=<…/data/movielens>  lets data tests use a local MovieLens mirror (CI sets it)
#   RECDIFF_TEST_JOBS (default: nproc)       parallel build and test jobs
#   RECDIFF_FUZZ_SECONDS (default 15)        per fuzz target; 0 skips fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs="${RECDIFF_TEST_JOBS:-$(nproc)}"

run_preset() {
  local preset=$1
  echo "=== preset ${preset}: configure, build, test ==="
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  ctest --preset "$preset" -j "$jobs"
}

start=$(date +%s)
run_preset release
run_preset asan

fuzz_seconds="${RECDIFF_FUZZ_SECONDS:-15}"
if [ -f fuzz/CMakeLists.txt ] && [ "$fuzz_seconds" != "0" ]; then
  echo "=== fuzzers (clang-14, libFuzzer + ASan), ${fuzz_seconds}s each ==="
  cmake -S . -B build/fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRECDIFF_BUILD_FUZZERS=ON -DRECDIFF_BUILD_TESTS=OFF -DRECDIFF_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build build/fuzz -j "$jobs"
  for exe in build/fuzz/fuzz/fuzz_*; do
    [ -x "$exe" ] || continue
    name=$(basename "$exe")
    corpus="build/fuzz/corpus/${name}"
    mkdir -p "$corpus"
    seeds=(); [ -d "fuzz/corpus/${name}" ] && seeds=("fuzz/corpus/${name}")
    echo "--- ${name}"
    "$exe" -max_total_time="$fuzz_seconds" -print_final_stats=0 "$corpus" "${seeds[@]}" 2>&1 | tail -n 25
  done
fi
echo "scripts/test.sh: all presets passed in $(( $(date +%s) - start )) s"
