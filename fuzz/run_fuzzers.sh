#!/bin/sh
# Runs every recdiff fuzz target for a bounded time, starting from the seed corpus in fuzz/corpus/<target>.
# Usage: fuzz/run_fuzzers.sh <build-dir> [seconds per target, default 20] [target ...]
# Exit status: 0 when no target found a crash; crash inputs are written to <build-dir>/fuzz-artifacts/.
set -eu
build=${1:?usage: run_fuzzers.sh <build-dir> [seconds] [target ...]}
seconds=${2:-20}
shift $(( $# >= 2 ? 2 : $# ))
here=$(cd "$(dirname "$0")" && pwd)
targets=${*:-"fuzz_movielens_ratings fuzz_movielens_titles fuzz_delimited fuzz_sequences fuzz_npy"}
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
status=0
for t in $targets; do
  bin=$(find "$build" -type f -name "$t" -perm -u+x | head -n 1)
  if [ -z "$bin" ]; then echo "run_fuzzers: $t not built in $build" >&2; status=1; continue; fi
  work="$build/fuzz-corpus/$t"           # grows between runs; the seed corpus in the tree is read-only input
  mkdir -p "$work"
  echo "== $t for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$artifacts/$t-" "$work" "$here/corpus/$t" 2>"$build/fuzz-$t.log"; then
    echo "run_fuzzers: $t FAILED (see $build/fuzz-$t.log and $artifacts)" >&2
    tail -n 40 "$build/fuzz-$t.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|cov:" "$build/fuzz-$t.log" | tail -n 2
  fi
done
exit $status
