#!/usr/bin/env bash
# ctest "distributed: mpi only rank 0 writes files": diffrec_movielens under mpirun -np N on a tiny generated
# MovieLens-format folder, every rank in its own working directory with the same relative --save, --log and
# --report paths. Rank 0's directory must hold all three (a valid checkpoint, CSV and JSON with world_size N),
# every other rank's none, and stdout one "report written" line.
# Usage: mpi_rank0_writes.sh <mpirun> <diffrec_movielens> <work dir> <ranks>
set -euo pipefail
mpirun=$1 binary=$2 work=$3 ranks=$4
rm -rf "$work"
mkdir -p "$work/data"
for r in $(seq 0 $((ranks - 1))); do mkdir -p "$work/rank$r"; done
# 40 users x 30 items, ratings 4-5 (kept by the preset's threshold 4), distinct timestamps.
awk 'BEGIN { srand(7); t = 1000; for (u = 1; u <= 40; u++) for (i = 1; i <= 30; i++) if (rand() < 0.4 || i == u % 30 + 1)
       printf "%d\t%d\t%d\t%d\n", u, i, 4 + int(rand() * 2), t++ }' >"$work/data/u.data"
cd "$work"
"$mpirun" --allow-run-as-root --oversubscribe -np "$ranks" -x OMP_NUM_THREADS=1 \
  bash -c 'cd rank$OMPI_COMM_WORLD_RANK && exec "$0" "$@"' "$binary" --preset ml-100k --data "$work/data" \
  --dims 16 --steps 5 --epochs 2 --eval-every 1 --no-baselines --no-progress --threads 1 \
  --save model.ckpt --log log.csv --report report.json >stdout.txt
for f in model.ckpt log.csv report.json; do
  [ -s "rank0/$f" ] || { echo "FAIL: rank 0 did not write $f"; exit 1; }
done
grep -q "\"world_size\": *$ranks" rank0/report.json || { echo "FAIL: report.json has no world_size $ranks"; exit 1; }
for r in $(seq 1 $((ranks - 1))); do
  if [ -n "$(ls -A "rank$r")" ]; then echo "FAIL: rank $r wrote $(ls -A "rank$r")"; exit 1; fi
done
n=$(grep -c "report written to" stdout.txt || true)
[ "$n" = 1 ] || { echo "FAIL: $n 'report written' lines on stdout (rank 0 alone prints)"; exit 1; }
echo "ok: only rank 0 of $ranks wrote model.ckpt, log.csv, report.json"
