#ifndef RECDIFF_SIMD_CONFIG_HPP
#define RECDIFF_SIMD_CONFIG_HPP

/// \file simd/config.hpp
/// Compile-time choice of the SIMD backend of the kernels in simd/kernels.hpp:
///   RECDIFF_SIMD_AVX512  AVX-512F (xsimd's best AVX-512 architecture), 16 floats per register;
///   RECDIFF_SIMD_AVX2    AVX2 with FMA, 8 floats per register;
///   RECDIFF_SIMD_SCALAR  the plain scalar code (also when RECDIFF_NO_SIMD is 1, or xsimd is not installed).
/// Exactly one of them is 1. Selection follows the compiler's target flags (__AVX512F__, __AVX2__ + __FMA__),
/// i.e. what recdiff::native (-march=native) or your own -m flags enable; it never probes the CPU at run time.
/// AVX2 without FMA falls back to scalar: the kernels are bit-identical across backends only because every
/// multiply-add is a single fused operation, which AVX2 alone cannot do in one rounding.
/// Vector code goes through xsimd (Debian libxsimd-dev 8.1, header-only), plus a few integer intrinsics for the
/// 32×32→64-bit multiply of Philox that xsimd 8.1 does not offer.

#include "../config.hpp"

#if !RECDIFF_NO_SIMD && defined(__has_include)
#if __has_include(<xsimd/xsimd.hpp>)
#if defined(__AVX512F__)
#define RECDIFF_SIMD_AVX512 1
#elif defined(__AVX2__) && defined(__FMA__)
#define RECDIFF_SIMD_AVX2 1
#endif
#endif
#endif

#if !defined(RECDIFF_SIMD_AVX512)
#define RECDIFF_SIMD_AVX512 0
#endif
#if !defined(RECDIFF_SIMD_AVX2)
#define RECDIFF_SIMD_AVX2 0
#endif
#if RECDIFF_SIMD_AVX512 || RECDIFF_SIMD_AVX2
#define RECDIFF_SIMD_SCALAR 0
#define RECDIFF_SIMD_XSIMD 1
#include <immintrin.h>

#include <xsimd/xsimd.hpp>
#else
#define RECDIFF_SIMD_SCALAR 1
#define RECDIFF_SIMD_XSIMD 0
#endif

namespace recdiff::simd {

/// Name of the backend compiled in: "avx512", "avx2" or "scalar".
inline constexpr const char* kBackend = RECDIFF_SIMD_AVX512 ? "avx512" : (RECDIFF_SIMD_AVX2 ? "avx2" : "scalar");

#if RECDIFF_SIMD_XSIMD
#if RECDIFF_SIMD_AVX512
using Arch = xsimd::default_arch;
static_assert(std::is_base_of_v<xsimd::avx512f, Arch>, "recdiff simd: expected an AVX-512 xsimd architecture");
#else
using Arch = xsimd::default_arch;
static_assert(std::is_base_of_v<xsimd::avx2, Arch> && !std::is_base_of_v<xsimd::avx512f, Arch>,
              "recdiff simd: expected an AVX2 xsimd architecture");
#endif
/// Values of type Scalar per SIMD register of the backend.
template <class Scalar>
inline constexpr int kWidth = static_cast<int>(xsimd::batch<Scalar, Arch>::size);
#else
template <class Scalar>
inline constexpr int kWidth = 1;
#endif

}  // namespace recdiff::simd

#endif  // RECDIFF_SIMD_CONFIG_HPP
