#!/usr/bin/env bash
# The bad-input table of docs/reliability.md (issue 22), row by row: each bad input is given to an example binary
# (or the fetch script) and must give the row's exit code and a message containing the row's text.
#
#   bad_input_test.sh SOURCE_DIR DIFFREC_MOVIELENS_BINARY [--markdown]
#
# The data is made here: a small raw MovieLens folder in the ML-100K format (invented ratings, nothing from
# GroupLens), broken copies of it, and DiffRec .npy splits written with numpy. --markdown prints each row as the
# docs' table has it (the line of the output with the checked text), to refresh the table.
set -uo pipefail
src=$1 bin=$2 markdown=${3:-}

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# --- data ------------------------------------------------------------------------------------------------------
good="$work/ml-100k"
mkdir -p "$good"
# 40 users x 15 ratings of 60 items, ratings 1-5, increasing timestamps (a deterministic LCG).
awk 'BEGIN { s = 7; t = 881250000;
  for (u = 1; u <= 40; u++) for (k = 0; k < 15; k++) {
    s = (s * 1103515245 + 12345) % 2147483648; i = 1 + (u * 7 + k * 4) % 60; r = 1 + s % 5; t += 1 + s % 50;
    printf "%d\t%d\t%d\t%d\n", u, i, r, t } }' >"$good/u.data"
for i in $(seq 1 60); do echo "$i|Item $i (1995)|01-Jan-1995||http://example.invalid/$i|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0"; done >"$good/u.item"
broken() {  # broken NAME SED_EXPRESSION: a copy of the good folder whose u.data went through sed
  mkdir -p "$work/$1"
  cp "$good/u.item" "$work/$1/"
  sed "$2" "$good/u.data" >"$work/$1/u.data"
}
broken fields '17s/\t[0-9]*$//'           # line 17: three fields
broken rating '23s/\t[0-9]\t/\tfive\t/'   # line 23: a non-numeric rating
broken negid '5s/^[0-9]*/-3/'             # line 5: a negative user id
mkdir -p "$work/empty" "$work/nofiles"
cp "$good/u.item" "$work/empty/" && : >"$work/empty/u.data"
echo "not movielens" >"$work/nofiles/readme.txt"
# DiffRec .npy splits (written by hand: the .npy v1.0 layout): good arrays, then a bad header, a float dtype,
# and a missing valid split.
python3 - "$work" <<'EOF'
import os, struct, sys
w = sys.argv[1]
def npy(path, rows, descr="<i8"):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%d, 2), }" % (descr, len(rows))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    fmt = "<d" if descr == "<f8" else "<q"
    body = b"".join(struct.pack(fmt, v) for r in rows for v in r)
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body)
pairs = [[u, (u * 3 + k) % 20] for u in range(10) for k in range(6)]
for name in ("npy_badheader", "npy_dtype", "npy_missing"):
    os.makedirs(os.path.join(w, name))
    for split, rows in (("train", pairs[0::3]), ("valid", pairs[1::3]), ("test", pairs[2::3])):
        if name == "npy_missing" and split == "valid":
            continue
        npy(os.path.join(w, name, split + "_list.npy"), rows, "<f8" if name == "npy_dtype" and split == "train" else "<i8")
with open(os.path.join(w, "npy_badheader", "train_list.npy"), "r+b") as f:
    f.seek(10)
    f.write(b"{'descr': '<i8', 'fortran_order': Maybe")
EOF

# --- a trained model and a training state to damage ---------------------------------------------------------------
base=(--preset ml-100k --data "$good" --epochs 2 --eval-every 1 --dims [16] --steps 5 --batch-size 16 --no-baselines
      --threads 1 --topk 10,20 --no-progress)
if ! "$bin" "${base[@]}" --save "$work/model.rdc" --resume "$work/good.state" >"$work/setup.out" 2>&1; then
  echo "FAIL: the good run failed:"; cat "$work/setup.out"; exit 1
fi
head -c 200 "$work/model.rdc" >"$work/truncated.rdc"
head -c 300 "$work/good.state" >"$work/truncated.state"
echo "garbage" >"$work/garbage.rdc"
# A state of format version 2 with a valid checksum: it must be refused by its version, not by its checksum.
python3 - "$work/good.state" "$work/v2.state" <<'EOF'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
b[8:12] = struct.pack("<I", 2)
h = 0xcbf29ce484222325
for c in b[:-8]:
    h = ((h ^ c) * 0x100000001b3) % (1 << 64)
b[-8:] = struct.pack("<Q", h)
open(sys.argv[2], "wb").write(bytes(b))
EOF
mkdir -p "$work/readonly" && chmod 555 "$work/readonly"
# as root a read-only folder is still writable: /proc refuses file creation for everyone
unwritable="/proc/recdiff-no-such-folder"

# --- the rows ---------------------------------------------------------------------------------------------------
failures=0 rows=0
# row TABLE_ID EXIT SUBSTRING COMMAND...   (the command's stdout and stderr are searched)
row() {
  local id=$1 want=$2 text=$3
  shift 3
  local out code
  out=$("$@" 2>&1)
  code=$?
  rows=$((rows + 1))
  if [ -n "$markdown" ]; then
    local first
    first=$(printf '%s\n' "$out" | grep -F -m1 -- "$text")  # the line with the checked text
    first=$(printf '%s' "$first" | sed "s|$work|…|g; s/|/\\\\|/g")
    printf '| %s | %s | `%s` |\n' "$id" "$code" "$first"
  fi
  if [ "$code" != "$want" ] || [[ "$out" != *"$text"* ]]; then
    echo "FAIL row $id: exit $code (want $want), output without '$text':"
    printf '%s\n' "$out" | head -n 8 | sed 's/^/    /'
    failures=$((failures + 1))
  fi
}
# dr FLAGS...: the binary with the row's flags, and every flag of a small good run that the row does not give
# (CLI11 refuses a flag given twice).
defaults=(--preset ml-100k --data "$good" --epochs 1 --dims [16] --steps 5 --batch-size 16 --no-baselines
          --threads 1 --topk 10,20 --no-progress)
dr() {
  local given=" $* " cmd=("$bin") i=0
  while [ $i -lt ${#defaults[@]} ]; do
    local flag=${defaults[$i]} value=${defaults[$((i + 1))]:-}
    if [ "$flag" = --no-baselines ] || [ "$flag" = --no-progress ]; then
      cmd+=("$flag"); i=$((i + 1))
    else
      [[ "$given" == *" $flag "* ]] || cmd+=("$flag" "$value")
      i=$((i + 2))
    fi
  done
  "${cmd[@]}" "$@"
}

# CLI values (CLI11 validation: exit 105 for a value error, 109 for an extra argument, 106 for a wrong flag)
row C1 105 "--epochs: '-1' is not a whole number >= 0" dr --epochs -1
row C2 105 "--epochs: 'abc' is not a whole number >= 0" dr --epochs abc
row C3 1 "DiffRec: batchSize must be positive, got 0" dr --batch-size 0
row C4 105 "--batch-size: 'batch_size' = '-5' is not a whole number >= 0" dr --batch-size -5
row C5 105 "--batch-size: 'batch_size' = 'x' is not a whole number >= 0" dr --batch-size x
row C6 105 "--lr: 'lr' = 'abc'" dr --lr abc
row C7 1 "Adam: learningRate must be a finite number >= 0, got -0.1" dr --lr -0.1
row C8 1 "Adam: learningRate must be a finite number >= 0, got nan" dr --lr nan
row C9 1 "DiffRec: steps must be positive, got 0" dr --steps 0
row C10 105 "--steps: 'steps' = '-3' is not a whole number >= 0" dr --steps -3
row C11 105 "--dims: 'dims' = '[0]' is not a comma-separated list of positive whole numbers" dr --dims [0]
row C12 105 "--dims: 'dims' = '[abc]' is not a comma-separated list of positive whole numbers" dr --dims [abc]
row C13 1 "DiffRecMlp: dims must name at least one hidden width" dr --dims []
row C14 105 "--topk: expected a comma-separated list of positive whole numbers" dr --topk 0
row C15 105 "--topk: expected a comma-separated list" dr --topk 10,x
row C16 2 "--threads must be >= 0" dr --threads -1
row C17 104 "Could not convert: --threads = abc" dr --threads abc
row C18 109 "The following argument was not expected: --no-such-flag" dr --no-such-flag
row C19 105 "--model: foo not in" dr --model foo
row C20 105 "--mean-type: foo not in" dr --mean-type foo
row C21 105 "checkpoint interval '0': expected N (batches) or Ne (epochs), N > 0" dr --resume "$work/c21.state" --checkpoint-every 0
row C22 105 "checkpoint interval '5x'" dr --resume "$work/c22.state" --checkpoint-every 5x
row C23 105 "--eval-every: '0' is not a whole number >= 1" dr --eval-every 0
row C24 105 "--patience: '-1' is not a whole number >= 1" dr --patience -1
row C25 105 "--seed: '-1' is not a whole number >= 0" dr --seed -1
row C26 104 "Could not convert: --min-rating = abc" dr --min-rating abc
row C27 114 "--resume: 1 required TEXT missing" dr --resume
row C28 1 "Adam: learningRate must be a finite number >= 0, got inf" dr --lr inf
# Hyperparameters
row H1 1 "LinearVarianceSchedule: noiseMin must not exceed noiseMax, got noiseMin = 0.01 and noiseMax = 0.001" dr --noise-min 0.01 --noise-max 0.001
row H2 1 "LinearVarianceSchedule: noiseScale must be positive, got noiseScale = -1" dr --noise-scale -1
row H3 105 "need 0 < w-min <= w-max" dr --model tdiffrec --w-min 0
row H4 105 "L-DiffRec supports x0 only" dr --model ldiffrec --mean-type eps
row H5 3 "diverged: non-finite loss or gradient in epoch 1, batch" dr --lr 1e30 --resume "$work/h5.state" --checkpoint-every 1
# the same command again: the state before the divergence was kept (not a finished one), so it resumes there
row H6 3 "training state: resumed from epoch 1, batch 1" dr --lr 1e30 --resume "$work/h5.state" --checkpoint-every 1
row H7 3 "keeps the last state before the divergence; running the same command again continues from it" dr --lr 1e30 --resume "$work/h5.state" --checkpoint-every 1
# Data files and splits
row D1 1 "--data $work/missing: not a folder" dr --data "$work/missing"
row D2 1 "$work/nofiles" dr --data "$work/nofiles"
row D3 1 "$work/fields/u.data:17" dr --data "$work/fields"
row D4 1 "$work/rating/u.data:23" dr --data "$work/rating"
row D5 1 "$work/negid/u.data:5" dr --data "$work/negid"
row D6 1 "$work/empty/u.data" dr --data "$work/empty"
row D7 1 "$work/npy_badheader/train_list.npy" dr --data "$work/npy_badheader"
row D8 1 "$work/npy_dtype/train_list.npy" dr --data "$work/npy_dtype"
row D9 1 "$work/npy_missing/valid_list.npy: cannot open file: No such file or directory" dr --data "$work/npy_missing"
row D10 105 "give --data FOLDER or --synthetic NAME" "$bin" --preset ml-100k --epochs 1
# Checkpoints (--load) and training states (--resume)
row K1 1 "$work/none.rdc: cannot open for reading: No such file or directory" dr --load "$work/none.rdc"
row K2 1 "$work/truncated.rdc: truncated checkpoint" dr --load "$work/truncated.rdc"
row K3 1 "$work/garbage.rdc: not a recdiff checkpoint (bad magic bytes)" dr --load "$work/garbage.rdc"
row K4 1 "checkpoint parameter shapes do not match the model" dr --dims [32] --load "$work/model.rdc"
row K5 1 "$work: cannot read: it is a directory, not a file" dr --load "$work"
row S1 1 "$work/truncated.state: corrupted training state: checksum mismatch" dr --resume "$work/truncated.state"
row S2 1 "it was written by model 'diffrec', this run trains 'tdiffrec'" dr --epochs 2 --eval-every 1 --model tdiffrec --resume "$work/good.state"
row S3 1 "other hyperparameters: lr = 0.001 in the file, 0.002 in this run" dr --epochs 2 --eval-every 1 --lr 0.002 --resume "$work/good.state"
row S4 1 "training state format version 2 is not supported (this build reads version 1)" dr --epochs 2 --eval-every 1 --resume "$work/v2.state"
row S5 1 "$work/garbage.rdc: not a recdiff training state (bad magic bytes)" dr --epochs 2 --eval-every 1 --resume "$work/garbage.rdc"
row S6 1 "it was written for other data (fingerprint of the splits" dr --epochs 2 --eval-every 1 --min-rating 3 --resume "$work/good.state"
# Environment and output paths
row E1 105 "--report: cannot write '$unwritable/r.json': cannot create its folder $unwritable" dr --report "$unwritable/r.json"
row E2 105 "--save: cannot write '$unwritable/m.rdc'" dr --save "$unwritable/m.rdc"
row E3 105 "--log: cannot write '$unwritable/l.csv'" dr --log "$unwritable/l.csv"
row E4 105 "--resume: cannot write '$unwritable/s.state'" dr --resume "$unwritable/s.state"
row E5 1 "$work/nowhere" env RECDIFF_DATA_MIRROR="$work/nowhere" bash "$src/scripts/fetch-movielens.sh" ml-100k "$work/dest"

echo "$rows rows, $failures failed"
[ "$failures" -eq 0 ]
