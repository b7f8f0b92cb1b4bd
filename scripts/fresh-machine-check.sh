#!/usr/bin/env bash
# The fresh-machine check (issue 18): proves the README's set-up on a new Debian 12 root, not on this machine,
# where packages installed by hand can hide a missing install step.
#
#   1. mmdebstrap builds a minimal Debian 12 (bookworm, minbase) root from Debian's archive with this
#      machine's own apt sources and apt options (the only registry our machines reach).
#   2. A clean `git clone` of this repository (its committed HEAD) is copied in, and the MovieLens mirror is
#      bound read-only into the root.
#   3. Inside the root, as a new user would: scripts/install-deps.sh; `cmake --preset release` (which must say
#      "oneDNN bf16 GEMMs ON", "Python module ON" and "MPI data parallel ON"); build the diffrec_movielens example and the Python
#      module, import it with Debian's python3 and rank with it; ctest's package tests (install,
#      find_package and add_subdirectory consumers, configure without OpenCL); the README's first command
#      (scripts/demo.sh) with the mirror, ending with the demo's test metrics.
#   4. Then the OpenCL development files are removed for real (ocl-icd-opencl-dev, opencl-c-headers) and a
#      fresh `cmake --preset release` must still configure, with bf16 off and one line saying why.
#
# Usage: scripts/fresh-machine-check.sh [--keep]       (--keep leaves the root for inspection)
#   RECDIFF_DATA_MIRROR   MovieLens mirror (a folder holding ml-100k/); default ../shared/data/movielens
#   RECDIFF_FRESH_DIR     where the root is made; default build/fresh-machine (removed afterwards)
#   RECDIFF_FRESH_EPOCHS  epochs of the demo run; default: the preset's
# Needs root (mount, chroot) and installs mmdebstrap on this machine if missing. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

keep=0
[ "${1:-}" = "--keep" ] && keep=1
mirror="${RECDIFF_DATA_MIRROR:-$repo/../shared/data/movielens}"
work="${RECDIFF_FRESH_DIR:-$repo/build/fresh-machine}"
root="$work/root"
log() { echo "fresh-machine-check: $*"; }
die() { echo "fresh-machine-check: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap --mode=root, mount, chroot)"
[ -d "$mirror/ml-100k" ] || die "no MovieLens mirror at $mirror (set RECDIFF_DATA_MIRROR to a folder holding ml-100k/)"
mirror=$(cd "$mirror" && pwd)
if ! command -v mmdebstrap >/dev/null; then
  log "installing mmdebstrap on this machine"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
fi

# This machine's apt configuration: the Debian sources file (deb822 or one-line) and the options it needs.
sources=""
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  if [ -s "$f" ] && grep -qE '^[^#]*(URIs:|deb ).*debian' "$f"; then sources=$f; break; fi
done
[ -n "$sources" ] || die "no Debian apt sources found in /etc/apt"
aptopts=()
for f in /etc/apt/apt.conf.d/*; do
  case "$(basename "$f")" in docker-*|20packagekit|50appstream|01autoremove|02autoremove-*) continue ;; esac
  [ -f "$f" ] && aptopts+=("--aptopt=$f")
done

cleanup() {
  if [ $keep = 0 ]; then rm -rf --one-file-system "$work"; else log "root kept at $root"; fi
}
rm -rf --one-file-system "$work"
mkdir -p "$root"
trap cleanup EXIT

start=$(date +%s)
log "building a Debian 12 minbase root from $sources"
mmdebstrap --variant=minbase --mode=root "${aptopts[@]}" bookworm "$root" "$sources" >"$work/mmdebstrap.log" 2>&1 \
  || { tail -20 "$work/mmdebstrap.log"; die "mmdebstrap failed"; }
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/hosts "$root/etc/hosts"

log "cloning $(git rev-parse --short HEAD) into the root"
git clone -q --no-hardlinks "$repo" "$root/root/recdiff"
mkdir -p "$root/mirror"

# Everything that runs inside the root. `set -x` so that the log shows each step as a new user would type it.
cat >"$root/root/inside.sh" <<'INSIDE'
set -euo pipefail
cd /root/recdiff
export RECDIFF_DATA_MIRROR=/mirror
step() { echo; echo "=== fresh machine: $* ==="; }
step "scripts/install-deps.sh"
bash scripts/install-deps.sh
step "cmake --preset release"
cmake --preset release | tee /tmp/configure.log
grep -q 'recdiff: oneDNN bf16 GEMMs ON' /tmp/configure.log \
  || { echo "configure did not enable oneDNN bf16 GEMMs on a machine after install-deps.sh"; exit 1; }
grep -q 'recdiff: Python module ON' /tmp/configure.log \
  || { echo "configure did not enable the Python module on a machine after install-deps.sh"; exit 1; }
grep -q 'recdiff: MPI data parallel ON' /tmp/configure.log \
  || { echo "configure did not find Open MPI (recdiff::mpi) on a machine after install-deps.sh"; exit 1; }
step "build diffrec_movielens and the Python module"
cmake --build --preset release -j "$(nproc)" --target diffrec_movielens _recdiff
step "import recdiff (Debian's python3, the build tree's package)"
PYTHONPATH=build/release/python /usr/bin/python3 -c "
import numpy as np, scipy.sparse as sp, recdiff
x = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 1, 1]], dtype=np.float32))
ids, _ = recdiff.MostPopular().fit(x).recommend(0, x[0], N=2)
print('import recdiff: MostPopular recommends', list(ids), 'to user 0')"
step "ctest: the package tests"
ctest --test-dir build/release -R '^package: ' --output-on-failure | tee /tmp/ctest.log
grep -q '100% tests passed' /tmp/ctest.log || { echo "package tests failed"; exit 1; }
step "the README's first command: scripts/demo.sh"
demo_args=()
[ -n "${RECDIFF_FRESH_EPOCHS:-}" ] && demo_args=(--epochs "$RECDIFF_FRESH_EPOCHS")
bash scripts/demo.sh "${demo_args[@]}" | tail -n 25
test -s runs/diffrec_ml-100k.json || { echo "the demo wrote no report"; exit 1; }
tr ',' '\n' <runs/diffrec_ml-100k.json | grep -E '"test\.(recall|ndcg)@20"' \
  || { echo "the demo's report has no test metrics"; exit 1; }
step "without the OpenCL development files: cmake --preset release must configure, bf16 off"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq ocl-icd-opencl-dev opencl-c-headers >/dev/null
rm -rf build/release
cmake --preset release >/tmp/configure-no-ocl.log 2>&1 || { cat /tmp/configure-no-ocl.log; exit 1; }
n=$(grep -c 'recdiff: oneDNN bf16 GEMMs OFF: .*OpenCL' /tmp/configure-no-ocl.log || true)
[ "$n" = 1 ] || { cat /tmp/configure-no-ocl.log; echo "expected one 'bf16 GEMMs OFF ... OpenCL' line, got $n"; exit 1; }
grep 'recdiff: oneDNN bf16 GEMMs' /tmp/configure-no-ocl.log
echo "fresh machine: all steps passed"
INSIDE

log "running the README's set-up inside the root"
set +e
unshare --mount --fork bash -c '
  set -e
  root=$1 mirror=$2
  mount --make-rprivate /
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --rbind /sys "$root/sys"
  mount -t tmpfs tmpfs "$root/tmp"
  mount --bind "$mirror" "$root/mirror"
  mount -o remount,bind,ro "$root/mirror"
  exec chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 RECDIFF_FRESH_EPOCHS="${RECDIFF_FRESH_EPOCHS:-}" /bin/bash /root/inside.sh
' _ "$root" "$mirror" 2>&1 | tee "$work/inside.log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || die "a step inside the fresh root failed (exit $rc); see the output above"
grep -q 'fresh machine: all steps passed' "$work/inside.log" || die "the steps inside the root did not finish"
log "passed in $(( $(date +%s) - start )) s"
