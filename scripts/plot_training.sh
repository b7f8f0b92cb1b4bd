#!/usr/bin/env bash
# Renders a training curve (loss per epoch, and validation Recall@20 where evaluated) from the CSV log that
# diffrec_movielens --log writes, to a PNG with gnuplot.
#   scripts/plot_training.sh runs/diffrec_ml-1m_clean.csv docs/img/diffrec_ml-1m_clean.png ["title"]
set -euo pipefail
csv=${1:?usage: plot_training.sh LOG.csv OUT.png [title]}
out=${2:?usage: plot_training.sh LOG.csv OUT.png [title]}
title=${3:-"DiffRec training: $(basename "$csv" .csv)"}
command -v gnuplot >/dev/null || { echo "plot_training: gnuplot is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
[ -s "$csv" ] || { echo "plot_training: $csv is empty or missing" >&2; exit 1; }
# Columns by name: train::CsvLog's (sum_loss, valid.recall@20, test.recall@20) or the older logs' (loss,
# valid_recall@20, test_recall@20).
column() {  # the 1-based index of the first header name among "$@", or nothing
  head -n 1 "$csv" | tr -d '\r' | awk -F, -v names="$*" \
    'BEGIN { n = split(names, want, " ") } { for (w = 1; w <= n; ++w) for (i = 1; i <= NF; ++i) if ($i == want[w]) { print i; exit } }'
}
loss=$(column sum_loss loss); valid=$(column valid.recall@20 valid_recall@20); test=$(column test.recall@20 test_recall@20)
[ "$(head -n 1 "$csv" | cut -d, -f1)" = epoch ] && [ -n "$loss" ] && [ -n "$valid" ] && [ -n "$test" ] ||
  { echo "plot_training: $csv is not a diffrec_movielens --log file (header: $(head -n 1 "$csv"))" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
tmp="$(mktemp "$(dirname "$out")/.plot.XXXXXX.png")"
trap 'rm -f "$tmp"' EXIT
gnuplot <<GP
set terminal pngcairo size 900,480 font "DejaVu Sans,10" noenhanced
set output "$tmp"
set datafile separator ","
set datafile missing ""
set key below horizontal
set title "$title"
set xlabel "epoch"
set ylabel "training loss (sum over batches)"
set y2label "Recall@20"
set ytics nomirror
set y2tics
set grid
plot "$csv" every ::1 using 1:$loss with lines lw 2 title "loss", \
     "$csv" every ::1 using 1:$valid axes x1y2 with linespoints pt 7 lw 2 title "valid Recall@20", \
     "$csv" every ::1 using 1:$test axes x1y2 with linespoints pt 5 lw 1 dt 2 title "test Recall@20"
GP
mv "$tmp" "$out"
trap - EXIT
echo "plot_training: wrote $out"
