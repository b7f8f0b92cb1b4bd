#!/usr/bin/env bash
# Renders alphaBar and SNR against t for every named schedule, at T = 1000 and T = 40, to
# docs/img/schedules.png (gnuplot, Debian package `gnuplot`). The numbers come from the example binary
# `schedule_table`, so the picture shows exactly what the library computes.
#
#   docs/scripts/plot_schedules.sh [path/to/schedule_table] [output.png]
#
# Default binary: build/release/examples/schedule_table (cmake --preset release && cmake --build ...).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="${1:-$root/build/release/examples/schedule_table}"
out="${2:-$root/docs/img/schedules.png}"
command -v gnuplot >/dev/null || { echo "plot_schedules.sh: gnuplot not found (apt-get install gnuplot)" >&2; exit 1; }
[[ -x "$bin" ]] || { echo "plot_schedules.sh: no schedule_table binary at $bin (build the examples first)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# name|extra flags|label. DiffRec's linear-var with its command-line defaults and beta_1 fixed to 1e-5.
schedules=(
  "linear||linear (Ho, 1000/T)"
  "cosine||cosine"
  "sqrt||sqrt"
  "trunc_cos||trunc\\_cos"
  "trunc_lin||trunc\\_lin (DiffuRec)"
  "pw_lin||pw\\_lin"
  "exp||exp (DreamRec)"
  "binomial||binomial"
  "linear-var|--noise-scale 0.1 --noise-min 0.0001 --noise-max 0.02 --beta1 1e-5|linear-var (DiffRec)"
)
for steps in 1000 40; do
  for entry in "${schedules[@]}"; do
    IFS='|' read -r name flags _ <<<"$entry"
    # shellcheck disable=SC2086
    "$bin" --schedule "$name" --steps "$steps" $flags >"$tmp/${name}_${steps}.csv"
  done
done

plots() {  # $1 = steps, $2 = column (3 = alpha_bar, 9 = snr)
  local first=1 line=""
  for entry in "${schedules[@]}"; do
    IFS='|' read -r name _ label <<<"$entry"
    [[ $first -eq 1 ]] || line+=", "
    line+="'$tmp/${name}_$1.csv' using 1:$2 with lines lw 2 title '$label'"
    first=0
  done
  echo "$line"
}

mkdir -p "$(dirname "$out")"
gnuplot <<GP
set terminal pngcairo size 1600,1000 font 'DejaVu Sans,11'
# nine distinguishable colours (Okabe-Ito plus two), dashed for the DiffRec and DreamRec ones
set linetype 1 lc rgb '#000000' dt 1
set linetype 2 lc rgb '#E69F00' dt 1
set linetype 3 lc rgb '#56B4E9' dt 1
set linetype 4 lc rgb '#009E73' dt 1
set linetype 5 lc rgb '#D55E00' dt 1
set linetype 6 lc rgb '#0072B2' dt 1
set linetype 7 lc rgb '#CC79A7' dt 2
set linetype 8 lc rgb '#999999' dt 1
set linetype 9 lc rgb '#8B0000' dt 2
set output '$out'
set datafile separator ','
set key autotitle columnhead
set multiplot layout 2,2 title 'recdiff noise schedules: alphaBar and SNR = alphaBar / (1 - alphaBar) against t'
set grid
set xlabel 't'
set ylabel 'alphaBar'
set title 'T = 1000'
unset key
set lmargin at screen 0.05
set rmargin at screen 0.42
plot $(plots 1000 3)
set title 'T = 40'
set key outside right top vertical font ',10'
set lmargin at screen 0.49
set rmargin at screen 0.86
plot $(plots 40 3)
set logscale y
set format y '10^{%L}'
set ylabel 'SNR (log scale)'
set title 'T = 1000'
unset key
set lmargin at screen 0.05
set rmargin at screen 0.42
plot $(plots 1000 9)
set title 'T = 40'
set key outside right top vertical font ',10'
set lmargin at screen 0.49
set rmargin at screen 0.86
plot $(plots 40 9)
unset multiplot
GP
echo "wrote $out"
