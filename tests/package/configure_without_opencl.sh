#!/usr/bin/env bash
# Issue 18: a machine with libdnnl-dev but without the OpenCL development files must configure recdiff, and a
# consumer's find_package(recdiff), with bf16 off and one status line, never a failed configure.
# OpenCL is hidden with CMAKE_DISABLE_FIND_PACKAGE_OpenCL (what a machine without ocl-icd-opencl-dev looks
# like to CMake); scripts/fresh-machine-check.sh does the same with the packages really removed.
# Usage: configure_without_opencl.sh <source-dir> <installed-prefix> <work-dir> <c++-compiler>
set -euo pipefail
src=$1 prefix=$2 work=$3 cxx=$4
rm -rf "$work"; mkdir -p "$work"
has_dnnl_config=0
for d in /usr/lib/*/cmake/dnnl /usr/lib/cmake/dnnl /usr/local/lib/cmake/dnnl; do
  [ -f "$d/dnnl-config.cmake" ] && has_dnnl_config=1
done
expect_reason="oneDNN not found"
if [ $has_dnnl_config = 1 ] && grep -q 'set(DNNL_GPU_RUNTIME "OCL")' /usr/lib/*/cmake/dnnl/dnnl-config.cmake 2>/dev/null; then
  expect_reason="needs the OpenCL development files"
fi

check_log() {  # <log> <what>
  local n
  n=$(grep -c 'recdiff: oneDNN bf16 GEMMs OFF: ' "$1" || true)
  if [ "$n" != 1 ]; then echo "FAIL ($2): expected one 'bf16 GEMMs OFF' line, got $n"; cat "$1"; exit 1; fi
  if [ $has_dnnl_config = 1 ] && ! grep -q "recdiff: oneDNN bf16 GEMMs OFF: .*${expect_reason}" "$1"; then
    echo "FAIL ($2): the line does not say '${expect_reason}'"; cat "$1"; exit 1
  fi
  grep 'recdiff: oneDNN bf16 GEMMs' "$1"
}

# 1. Our own configure.
if ! cmake -S "$src" -B "$work/self" -DCMAKE_DISABLE_FIND_PACKAGE_OpenCL=ON -DCMAKE_CXX_COMPILER="$cxx" \
     -DRECDIFF_BUILD_TESTS=OFF -DRECDIFF_BUILD_EXAMPLES=OFF >"$work/self.log" 2>&1; then
  echo "FAIL: recdiff's own configure failed without OpenCL"; cat "$work/self.log"; exit 1
fi
check_log "$work/self.log" "recdiff configure"

# 2. A consumer of the installed package: configures, builds, runs, and was compiled without bf16.
if ! cmake -S "$src/tests/package/find_package_consumer" -B "$work/consumer" -DCMAKE_DISABLE_FIND_PACKAGE_OpenCL=ON \
     -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release >"$work/consumer.log" 2>&1; then
  echo "FAIL: find_package(recdiff) failed without OpenCL"; cat "$work/consumer.log"; exit 1
fi
check_log "$work/consumer.log" "find_package(recdiff)"
cmake --build "$work/consumer" >"$work/consumer-build.log" 2>&1 || { cat "$work/consumer-build.log"; exit 1; }
out=$("$work/consumer/consumer")
echo "$out"
grep -q 'bf16 GEMMs compiled in: no' <<<"$out" || { echo "FAIL: the consumer was compiled with bf16"; exit 1; }
echo "configure without OpenCL: recdiff and a find_package consumer configure with bf16 off"
