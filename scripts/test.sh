#!/usr/bin/env bash
# The README's test command: installs what is missing, then configures, builds and runs ctest in the
# `release` preset (SIMD, -march=native) and the `asan` preset (AddressSanitizer + UBSan, RECDIFF_NO_SIMD),
# then runs each libFuzzer target for a bounded time. Exits non-zero on any failure.
#   RECDIFF_DATA_MIRROR=<…/data/movielens>  lets data tests use a local MovieLens mirror (CI sets it)
#   RECDIFF_TEST_JOBS (default: nproc)       parallel build and test jobs
#   RECDIFF_FUZZ_SECONDS (default 15)        per fuzz target; 0 skips fuzzing
#   RECDIFF_FRESH_CHECK (default 1 as root)  0 skips scripts/fresh-machine-check.sh (the README's set-up on a
#                                            new Debian 12 root; needs root and the MovieLens mirror)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs="${RECDIFF_TEST_JOBS:-$(nproc)}"

# ccache, when this machine has it, only speeds up repeated builds (same compiler, same flags, same sources);
# a fresh machine builds without it.
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD"
fi

passed=0 failed=0
run_preset() {
  local preset=$1 log
  echo "=== preset ${preset}: configure, build, test ==="
  cmake --preset "$preset" "${launcher[@]}" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  log="build/${preset}/ctest.log"
  ctest --preset "$preset" -j "$jobs" 2>&1 | tee "$log"
  local summary
  summary=$(grep -Eo '[0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)
  if [ -n "$summary" ]; then
    local f t
    f=$(echo "$summary" | awk '{print $1}'); t=$(echo "$summary" | awk '{print $NF}')
    passed=$((passed + t - f)); failed=$((failed + f))
  fi
}

start=$(date +%s)

# First the set-up itself, on a fresh Debian root: a package missing from install-deps.sh fails here even
# when this machine has it installed by hand (issue 18).
fresh="${RECDIFF_FRESH_CHECK:-1}"
if [ "$fresh" != "0" ] && [ "$(id -u)" -ne 0 ]; then
  echo "=== fresh-machine check skipped: needs root (RECDIFF_FRESH_CHECK=0 silences this) ==="
elif [ "$fresh" != "0" ]; then
  echo "=== fresh-machine check (scripts/fresh-machine-check.sh) ==="
  if bash scripts/fresh-machine-check.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi

run_preset release
run_preset asan

fuzz_seconds="${RECDIFF_FUZZ_SECONDS:-15}"
if [ "$fuzz_seconds" != "0" ]; then
  echo "=== fuzzers (clang-14, libFuzzer + ASan + UBSan), ${fuzz_seconds}s each ==="
  cmake -S . -B build/fuzz "${launcher[@]}" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRECDIFF_BUILD_FUZZERS=ON -DRECDIFF_BUILD_TESTS=OFF -DRECDIFF_BUILD_EXAMPLES=OFF -DRECDIFF_BUILD_PYTHON=OFF -DRECDIFF_INSTALL=OFF >/dev/null
  cmake --build build/fuzz -j "$jobs"
  sh fuzz/run_fuzzers.sh build/fuzz "$fuzz_seconds"
fi
echo "scripts/test.sh: fresh-machine check, release and asan presets and fuzzers done in $(( $(date +%s) - start )) s"
echo "tests: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
