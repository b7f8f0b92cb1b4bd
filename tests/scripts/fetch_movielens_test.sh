#!/usr/bin/env bash
# ctest: scripts/fetch-movielens.sh copies a verified mirror, refuses a tampered one and leaves nothing behind.
set -uo pipefail
script="$1/scripts/fetch-movielens.sh"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. A mirror whose u.data does not match the official checksum is refused; DEST stays empty.
mkdir -p "$work/bad/ml-100k"
printf '1\t2\t3\t881250949\n' > "$work/bad/ml-100k/u.data"
if bash "$script" ml-100k "$work/dest" --mirror "$work/bad" 2> "$work/err"; then fail "tampered mirror accepted"; fi
grep -q "does not match the official file" "$work/err" || fail "unexpected message: $(cat "$work/err")"
[ -z "$(ls -A "$work/dest")" ] || fail "half-written folder left behind: $(ls -A "$work/dest")"

# 2. A mirror without any ratings file is refused.
mkdir -p "$work/empty/ml-100k"
if bash "$script" ml-100k "$work/dest" --mirror "$work/empty" 2>/dev/null; then fail "empty mirror accepted"; fi

# 3. Unknown names are refused with the list of known ones.
if bash "$script" ml-3m "$work/dest" --mirror "$work/bad" 2> "$work/err"; then fail "unknown release accepted"; fi
grep -q "unknown release 'ml-3m'" "$work/err" || fail "unexpected message: $(cat "$work/err")"

# 4. The real mirror (when present) is copied and verified, via the environment variable.
if [ -n "${RECDIFF_DATA_MIRROR:-}" ] && [ -d "${RECDIFF_DATA_MIRROR}/ml-100k" ]; then
  RECDIFF_DATA_MIRROR="$RECDIFF_DATA_MIRROR" bash "$script" ml-100k "$work/dest" || fail "real mirror refused"
  [ "$(wc -l < "$work/dest/ml-100k/u.data")" -eq 100000 ] || fail "u.data incomplete"
  # and a tampered copy of it is refused
  cp -R "$RECDIFF_DATA_MIRROR/ml-100k" "$work/tampered-ml-100k" && chmod -R u+w "$work/tampered-ml-100k"
  mkdir -p "$work/tampered" && mv "$work/tampered-ml-100k" "$work/tampered/ml-100k"
  sed -i '1s/^1/2/' "$work/tampered/ml-100k/u.item"
  if bash "$script" ml-100k "$work/dest2" --mirror "$work/tampered" 2>/dev/null; then fail "tampered u.item accepted"; fi
  echo "real mirror: copied and verified; tampered copy refused"
else
  echo "RECDIFF_DATA_MIRROR not set: real-mirror case skipped"
fi
echo "fetch-movielens: all cases passed"
