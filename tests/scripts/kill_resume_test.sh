#!/usr/bin/env bash
# Resumable training survives kills bit for bit (issue 22): trains an example once uninterrupted, then the same
# command line with --resume STATE --checkpoint-every N, killed (SIGKILL, or SIGTERM with `term`) at three random
# moments and rerun each time, then once to the end. The final report's metrics, best epoch, epochs run and stop
# reason, and the --save file (the best parameters, byte for byte) must equal the uninterrupted run's.
#
#   kill_resume_test.sh kill|term EXAMPLE_BINARY ARGS...      (ARGS without --data/--save/--report/--resume)
#
# The data is ML-100K from RECDIFF_DATA_MIRROR/ml-100k or RECDIFF_TEST_DATA/movielens/ml-100k; without it the
# test skips (exit 77). The kill moments are random: each run is killed a random 0-400 ms after it has written a
# new state (so every kill lands in training and every run makes progress); RECDIFF_KILL_SEED replays a seed,
# which is printed. With `term` the run must exit with code 75 after writing its state.
set -uo pipefail
mode=$1 bin=$2
shift 2
args=("$@")

data=""
for d in "${RECDIFF_DATA_MIRROR:-}/ml-100k" "${RECDIFF_TEST_DATA:-}/movielens/ml-100k"; do
  if [ -f "$d/u.data" ]; then data=$d; break; fi
done
if [ -z "$data" ]; then
  echo "SKIP: no ML-100K (set RECDIFF_DATA_MIRROR or RECDIFF_TEST_DATA)"
  exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.out; do echo "--- $f"; tail -n 5 "$f"; done; exit 1; }

seed=${RECDIFF_KILL_SEED:-$(( $(date +%s%N) % 32768 ))}
echo "kill seed $seed (RECDIFF_KILL_SEED=$seed replays the kill moments), mode $mode"
RANDOM=$seed

common=(--data "$data" --no-progress)
"$bin" "${args[@]}" "${common[@]}" --save "$work/ref.rdc" --report "$work/ref.json" >"$work/ref.out" 2>&1 ||
  fail "uninterrupted run failed"

state="$work/run.state"
resumed=(--resume "$state" --save "$work/run.rdc" --report "$work/run.json")
mtime() { stat -c %y "$1" 2>/dev/null || echo none; }
kills=0
for round in 1 2 3; do
  before=$(mtime "$state")
  "$bin" "${args[@]}" "${common[@]}" "${resumed[@]}" >"$work/run$round.out" 2>&1 &
  pid=$!
  # wait until this run has written a state (training is under way), at most 120 s
  for _ in $(seq 1 2400); do
    [ "$(mtime "$state")" != "$before" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  delay=$(( RANDOM % 400 ))
  sleep "$(printf '0.%03d' "$delay")"
  if kill -0 "$pid" 2>/dev/null; then
    if [ "$mode" = term ]; then kill -TERM "$pid"; else kill -KILL "$pid"; fi
    { wait "$pid"; } 2>/dev/null  # no "Killed" line from the shell
    code=$?
    kills=$((kills + 1))
    echo "round $round: signalled ${delay} ms after a new state; exit code $code; $(grep -h 'training state' "$work/run$round.out" | head -n 1)"
    if [ "$mode" = term ] && [ "$code" -ne 75 ] && [ "$code" -ne 0 ]; then fail "SIGTERM: exit code $code, expected 75"; fi
    if [ "$mode" = term ] && [ "$code" -eq 75 ] && ! grep -q "interrupted by signal 15" "$work/run$round.out"; then
      fail "SIGTERM: exit 75 without the interruption message"
    fi
  else
    wait "$pid"
    echo "round $round: the run ended before the signal (exit $?)"
  fi
done
[ "$kills" -ge 1 ] || fail "no run was interrupted (training too short for the kill moments)"

"$bin" "${args[@]}" "${common[@]}" "${resumed[@]}" >"$work/final.out" 2>&1 || fail "the final resumed run failed"
grep -q "continuing from it" "$work/final.out" || fail "the final run did not continue from the state"

cmp "$work/ref.rdc" "$work/run.rdc" || fail "the --save files (best parameters) differ"
python3 - "$work/ref.json" "$work/run.json" <<'EOF' || fail "the reports differ"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ["metrics", "best_epoch", "epochs_run", "stop_reason", "diverged"]
bad = [k for k in keys if a.get(k) != b.get(k)]
for k in bad:
    print(k, "uninterrupted:", a.get(k), "resumed:", b.get(k))
print("compared", len(a["metrics"]), "metrics:", "identical" if not bad else "DIFFERENT")
sys.exit(1 if bad else 0)
EOF
echo "PASS: $kills interruptions ($mode), the resumed run's metrics and parameters are bit-identical"
