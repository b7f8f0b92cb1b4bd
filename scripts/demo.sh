#!/usr/bin/env bash
# The README's main command: installs what is missing, builds the release preset, fetches MovieLens 100K
# (from RECDIFF_DATA_MIRROR when set, else from GroupLens with checksums) and trains + evaluates DiffRec on it.
# Extra arguments go to the example binary, e.g. scripts/demo.sh --epochs 10.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target diffrec_movielens
bash scripts/fetch-movielens.sh ml-100k data
mkdir -p runs
exec build/release/examples/diffrec_movielens --preset ml-100k --data data/ml-100k \
  --threads "$(nproc)" --log runs/diffrec_ml-100k.csv --report runs/diffrec_ml-100k.json "$@"
