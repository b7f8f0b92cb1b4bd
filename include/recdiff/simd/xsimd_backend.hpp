#ifndef RECDIFF_SIMD_XSIMD_BACKEND_HPP
#define RECDIFF_SIMD_XSIMD_BACKEND_HPP

/// \file simd/xsimd_backend.hpp
/// The AVX-512 / AVX2 backend of simd/kernels.hpp, through xsimd batches: the VecOps of batches (so that the
/// generic math of simd/math.hpp runs on them), Philox4x32-10 on 16 or 8 counters at once, and the element-wise
/// loops. Included by kernels.hpp only when simd/config.hpp selected a vector backend.

#include <cstdint>
#include <type_traits>

#include "config.hpp"
#include "math.hpp"
#include "scalar.hpp"

#if RECDIFF_SIMD_XSIMD

// GCC 12's AVX-512 intrinsics seed their pass-through operand with `__m512i __Y = __Y;`, which -Wuninitialized
// reports once the intrinsic is inlined here (GCC bug 105593, fixed in GCC 13). The pragma covers the inlined
// code of this header only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace recdiff::simd::detail {

/// Fused multiply-add a·b + c with one rounding. Not xsimd::fma: xsimd 8.1 has no AVX-512 specialisation and
/// falls back to a·b + c, which rounds twice unless the compiler happens to contract it.
inline xsimd::batch<float, Arch> fusedMulAdd(const xsimd::batch<float, Arch>& a, const xsimd::batch<float, Arch>& b,
                                             const xsimd::batch<float, Arch>& c) noexcept {
#if RECDIFF_SIMD_AVX512
  return _mm512_fmadd_ps(a, b, c);
#else
  return _mm256_fmadd_ps(a, b, c);
#endif
}
inline xsimd::batch<double, Arch> fusedMulAdd(const xsimd::batch<double, Arch>& a,
                                              const xsimd::batch<double, Arch>& b,
                                              const xsimd::batch<double, Arch>& c) noexcept {
#if RECDIFF_SIMD_AVX512
  return _mm512_fmadd_pd(a, b, c);
#else
  return _mm256_fmadd_pd(a, b, c);
#endif
}

template <class T, class A>
struct VecOps<xsimd::batch<T, A>> {
  using Scalar = T;
  using V = xsimd::batch<T, A>;
  using Mask = xsimd::batch_bool<T, A>;
  static V fma(const V& a, const V& b, const V& c) noexcept { return fusedMulAdd(a, b, c); }
  static V sqrt(const V& a) noexcept { return xsimd::sqrt(a); }
  static V select(const Mask& m, const V& a, const V& b) noexcept { return xsimd::select(m, a, b); }
  static Mask eq(const V& a, const V& b) noexcept { return a == b; }
  static Mask lt(const V& a, const V& b) noexcept { return a < b; }
  /// x = m·2^e with m in [0.5, 1), for positive normal x. The exponent becomes a float by the exact trick
  /// (2^23 + e_biased) - (2^23 + 126), which needs no integer-to-float conversion.
  static V frexpHalf(const V& x, V& e) noexcept {
    if constexpr (sizeof(T) == 4) {
      using U = xsimd::batch<std::uint32_t, A>;
      const U bits = xsimd::bitwise_cast<U>(x);
      e = xsimd::bitwise_cast<V>((bits >> 23) | U(0x4b000000u)) - V(8388608.0f + 126.0f);
      return xsimd::bitwise_cast<V>((bits & U(0x007fffffu)) | U(0x3f000000u));
    } else {
      using U = xsimd::batch<std::uint64_t, A>;
      const U bits = xsimd::bitwise_cast<U>(x);
      e = xsimd::bitwise_cast<V>((bits >> 52) | U(0x4330000000000000ull)) - V(4503599627370496.0 + 1022.0);
      return xsimd::bitwise_cast<V>((bits & U(0x000fffffffffffffull)) | U(0x3fe0000000000000ull));
    }
  }
};

using U32 = xsimd::batch<std::uint32_t, Arch>;
using I32 = xsimd::batch<std::int32_t, Arch>;
inline constexpr int kLanes = static_cast<int>(U32::size);
static_assert(random::kBlocksPerGroup % kLanes == 0, "a group must be a whole number of registers");

/// (hi, lo) = the 64-bit products a·m, lane by lane (xsimd 8.1 has no widening multiply).
inline void mulHiLo(const U32& a, std::uint32_t m, U32& hi, U32& lo) noexcept {
#if RECDIFF_SIMD_AVX512
  const __m512i x = a;
  const __m512i mm = _mm512_set1_epi32(static_cast<int>(m));
  const __m512i even = _mm512_mul_epu32(x, mm);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), mm);
  hi = U32(_mm512_mask_blend_epi32(static_cast<__mmask16>(0xAAAA), _mm512_srli_epi64(even, 32), odd));
  lo = U32(_mm512_mask_blend_epi32(static_cast<__mmask16>(0xAAAA), even, _mm512_slli_epi64(odd, 32)));
#else
  const __m256i x = a;
  const __m256i mm = _mm256_set1_epi32(static_cast<int>(m));
  const __m256i even = _mm256_mul_epu32(x, mm);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), mm);
  hi = U32(_mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA));
  lo = U32(_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA));
#endif
}

/// Philox4x32-10 on kLanes counters (c0, c1, stream) at once; out = the four output words.
inline void philoxLanes(U32 c0, U32 c1, std::uint64_t stream, const random::PhiloxKey& key, U32 out[4]) noexcept {
  U32 c2(static_cast<std::uint32_t>(stream)), c3(static_cast<std::uint32_t>(stream >> 32));
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += random::kPhiloxW0;
      k1 += random::kPhiloxW1;
    }
    U32 hi0, lo0, hi1, lo1;
    mulHiLo(c0, random::kPhiloxM0, hi0, lo0);
    mulHiLo(c2, random::kPhiloxM1, hi1, lo1);
    c0 = hi1 ^ c1 ^ U32(k0);
    c1 = lo1;
    c2 = hi0 ^ c3 ^ U32(k1);
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/// The words of blocks first, first+1, …, first+kLanes-1.
inline void philoxBlocks(const random::PhiloxKey& key, std::uint64_t stream, std::uint64_t first,
                         U32 out[4]) noexcept {
  alignas(64) static constexpr std::uint32_t kIota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const auto lo = static_cast<std::uint32_t>(first), hi = static_cast<std::uint32_t>(first >> 32);
  if (lo <= 0xFFFFFFFFu - static_cast<std::uint32_t>(kLanes - 1)) {  // no carry into the high word
    philoxLanes(U32(lo) + U32::load_aligned(kIota), U32(hi), stream, key, out);
  } else {
    alignas(64) std::uint32_t l[16], h[16];
    for (int j = 0; j < kLanes; ++j) {
      const std::uint64_t block = first + static_cast<std::uint64_t>(j);
      l[j] = static_cast<std::uint32_t>(block);
      h[j] = static_cast<std::uint32_t>(block >> 32);
    }
    philoxLanes(U32::load_aligned(l), U32::load_aligned(h), stream, key, out);
  }
}

/// Vector front end, float: (u, φ, q) from the words (a, b), exactly as boxMullerInputs(uint32, uint32, …).
inline void boxMullerInputs(const U32& a, const U32& b, xsimd::batch<float, Arch>& u,
                            xsimd::batch<float, Arch>& phi, xsimd::batch<float, Arch>& q) noexcept {
  using F = xsimd::batch<float, Arch>;
  u = xsimd::batch_cast<float>(xsimd::bitwise_cast<I32>((a >> 8) + U32(1u))) * F(0x1p-24f);
  const U32 k = b >> 8;
  const U32 quadrant = (k + U32(1u << 21)) >> 22;
  const I32 s = xsimd::bitwise_cast<I32>(k) - xsimd::bitwise_cast<I32>(quadrant << 22);
  phi = xsimd::batch_cast<float>(s) * F(kAngleStepFloat);
  q = xsimd::batch_cast<float>(xsimd::bitwise_cast<I32>(quadrant & U32(3u)));
}

/// One group of float normals (64 values) of the group whose first block is `base`.
inline void normalGroup(const random::PhiloxKey& key, std::uint64_t stream, std::uint64_t base,
                        float* out) noexcept {
  using F = xsimd::batch<float, Arch>;
  constexpr int kSlot = static_cast<int>(random::kBlocksPerGroup);
  for (int h = 0; h < kSlot; h += kLanes) {
    U32 w[4];
    philoxBlocks(key, stream, base + static_cast<std::uint64_t>(h), w);
    F u, phi, q, z0, z1;
    boxMullerInputs(w[0], w[1], u, phi, q);
    boxMullerReduced(u, phi, q, z0, z1);
    z0.store_unaligned(out + h);
    z1.store_unaligned(out + kSlot + h);
    boxMullerInputs(w[2], w[3], u, phi, q);
    boxMullerReduced(u, phi, q, z0, z1);
    z0.store_unaligned(out + 2 * kSlot + h);
    z1.store_unaligned(out + 3 * kSlot + h);
  }
}

/// One group of double normals (32 values). The Philox words go through the scalar front end (exact integer
/// conversions), the logarithm and sine/cosine through double batches.
inline void normalGroup(const random::PhiloxKey& key, std::uint64_t stream, std::uint64_t base,
                        double* out) noexcept {
  using D = xsimd::batch<double, Arch>;
  constexpr int kSlot = static_cast<int>(random::kBlocksPerGroup);
  constexpr int kDoubles = static_cast<int>(D::size);
  for (int h = 0; h < kSlot; h += kLanes) {
    U32 w[4];
    philoxBlocks(key, stream, base + static_cast<std::uint64_t>(h), w);
    alignas(64) std::uint32_t w0[16], w1[16], w2[16], w3[16];
    w[0].store_aligned(w0);
    w[1].store_aligned(w1);
    w[2].store_aligned(w2);
    w[3].store_aligned(w3);
    alignas(64) double u[16], phi[16], q[16];
    for (int j = 0; j < kLanes; ++j)
      boxMullerInputs((static_cast<std::uint64_t>(w1[j]) << 32) | w0[j], (static_cast<std::uint64_t>(w3[j]) << 32) | w2[j],
                      u[j], phi[j], q[j]);
    for (int j = 0; j < kLanes; j += kDoubles) {
      D z0, z1;
      boxMullerReduced(D::load_aligned(u + j), D::load_aligned(phi + j), D::load_aligned(q + j), z0, z1);
      z0.store_unaligned(out + h + j);
      z1.store_unaligned(out + kSlot + h + j);
    }
  }
}

/// out[j] = fma(a, x[j], b·e[j]).
template <class S>
inline void axpbyRow(S a, const S* x, S b, const S* e, S* out, Index n) noexcept {
  using V = xsimd::batch<S, Arch>;
  constexpr Index kW = static_cast<Index>(V::size);
  const V va(a), vb(b);
  Index j = 0;
  for (; j + kW <= n; j += kW)
    fusedMulAdd(va, V::load_unaligned(x + j), vb * V::load_unaligned(e + j)).store_unaligned(out + j);
  for (; j < n; ++j) out[j] = std::fma(a, x[j], b * e[j]);
}

/// out[j] = fma(c1, x[j], fma(c2, y[j], s·e[j])).
template <class S>
inline void reverseRow(S c1, const S* x, S c2, const S* y, S s, const S* e, S* out, Index n) noexcept {
  using V = xsimd::batch<S, Arch>;
  constexpr Index kW = static_cast<Index>(V::size);
  const V v1(c1), v2(c2), vs(s);
  Index j = 0;
  for (; j + kW <= n; j += kW)
    fusedMulAdd(v1, V::load_unaligned(x + j), fusedMulAdd(v2, V::load_unaligned(y + j), vs * V::load_unaligned(e + j)))
        .store_unaligned(out + j);
  for (; j < n; ++j) out[j] = std::fma(c1, x[j], std::fma(c2, y[j], s * e[j]));
}

/// out[j] = fma(c1, x[j], c2·y[j]).
template <class S>
inline void reverseRowNoNoise(S c1, const S* x, S c2, const S* y, S* out, Index n) noexcept {
  using V = xsimd::batch<S, Arch>;
  constexpr Index kW = static_cast<Index>(V::size);
  const V v1(c1), v2(c2);
  Index j = 0;
  for (; j + kW <= n; j += kW)
    fusedMulAdd(v1, V::load_unaligned(x + j), v2 * V::load_unaligned(y + j)).store_unaligned(out + j);
  for (; j < n; ++j) out[j] = std::fma(c1, x[j], c2 * y[j]);
}

/// Adam on [0, n) of the spans, as simd::scalar::adamUpdate.
template <class S>
inline void adamSpan(const AdamCoefficients<S>& k, S* param, const S* grad, S* expAvg, S* expAvgSq,
                     Index n) noexcept {
  using V = xsimd::batch<S, Arch>;
  constexpr Index kW = static_cast<Index>(V::size);
  const V beta1(k.beta1), oneMinusBeta1(k.oneMinusBeta1), beta2(k.beta2), oneMinusBeta2(k.oneMinusBeta2);
  const V negStep(k.negStepSize), sqrtBc2(k.sqrtBiasCorrection2), eps(k.eps), l2(k.l2), decay(k.decay);
  Index i = 0;
  for (; i + kW <= n; i += kW) {
    V g = V::load_unaligned(grad + i), p = V::load_unaligned(param + i);
    if (k.hasL2) g = fusedMulAdd(l2, p, g);
    if (k.hasDecay) p = p * decay;
    const V m = fusedMulAdd(beta1, V::load_unaligned(expAvg + i), oneMinusBeta1 * g);
    const V v = fusedMulAdd(beta2, V::load_unaligned(expAvgSq + i), (oneMinusBeta2 * g) * g);
    const V denom = xsimd::sqrt(v) / sqrtBc2 + eps;
    m.store_unaligned(expAvg + i);
    v.store_unaligned(expAvgSq + i);
    fusedMulAdd(negStep, m / denom, p).store_unaligned(param + i);
  }
  for (; i < n; ++i) {
    S g = grad[i], p = param[i];
    if (k.hasL2) g = std::fma(k.l2, p, g);
    if (k.hasDecay) p = p * k.decay;
    const S m = std::fma(k.beta1, expAvg[i], k.oneMinusBeta1 * g);
    const S v = std::fma(k.beta2, expAvgSq[i], (k.oneMinusBeta2 * g) * g);
    const S denom = std::sqrt(v) / k.sqrtBiasCorrection2 + k.eps;
    expAvg[i] = m;
    expAvgSq[i] = v;
    param[i] = std::fma(k.negStepSize, m / denom, p);
  }
}

}  // namespace recdiff::simd::detail

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // RECDIFF_SIMD_XSIMD
#endif  // RECDIFF_SIMD_XSIMD_BACKEND_HPP
