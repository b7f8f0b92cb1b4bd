#!/usr/bin/env bash
# Installs exactly the Debian packages recdiff's build, tests, examples, benchmarks and plots need.
# Idempotent: does nothing when every package is present. Uses sudo when not root.
set -euo pipefail

packages=(
  g++ make cmake                 # compiler and build (CMake >= 3.21; Debian 12 ships 3.25)
  libeigen3-dev                  # Eigen 3.4: the library's only dependency
  catch2                         # Catch2 v2.13: tests
  nlohmann-json3-dev             # tests read the golden JSON files; examples write --report JSON
  libcli11-dev                   # example command lines
  libbenchmark-dev               # Google Benchmark 1.7
  libxsimd-dev                   # SIMD kernels (header-only)
  libopenmpi-dev openmpi-bin     # optional: Open MPI 4.1, data-parallel training (recdiff::mpi, docs/distributed.md)
  libdnnl-dev                    # optional: oneDNN, bf16 GEMMs (nn::GemmPrecision::kBf16); the build works without
  ocl-icd-opencl-dev             # Debian's oneDNN CMake config requires OpenCL (issue 18); without it bf16 is off
  clang-14 libomp-14-dev libclang-rt-14-dev   # the clang preset, OpenMP for clang, libFuzzer runtime
  gnuplot-nox                    # schedule and training-curve plots
  python3-dev pybind11-dev python3-pybind11   # the Python module (python/, RECDIFF_BUILD_PYTHON)
  python3-numpy python3-scipy python3-pytest  # its arrays, CSR input and tests
  curl unzip ca-certificates     # scripts/fetch-movielens.sh (download path only)
)

missing=()
for p in "${packages[@]}"; do
  [[ "$p" == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
