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

#if RECDIFF_SIMD_AVX512
using Wide = __m512i;  // 64-bit lanes
inline Wide wideSet1(std::uint64_t x) noexcept { return _mm512_set1_epi64(static_cast<long long>(x)); }
inline Wide wideAdd(Wide a, Wide b) noexcept { return _mm512_add_epi64(a, b); }
inline Wide wideMul32(Wide a, Wide b) noexcept { return _mm512_mul_epu32(a, b); }
inline Wide wideHigh(Wide a) noexcept { return _mm512_srli_epi64(a, 32); }
inline Wide wideXor3(Wide a, Wide b, Wide c) noexcept { return _mm512_ternarylogic_epi64(a, b, c, 0x96); }
inline Wide wideIota() noexcept { return _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0); }
/// The low 32 bits of the 64-bit lanes of a, then of b, as one register of 32-bit lanes.
inline U32 widePackLow(Wide a, Wide b) noexcept {
  const __m512i index = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  return U32(_mm512_permutex2var_epi32(a, index, b));
}
#else
using Wide = __m256i;
inline Wide wideSet1(std::uint64_t x) noexcept { return _mm256_set1_epi64x(static_cast<long long>(x)); }
inline Wide wideAdd(Wide a, Wide b) noexcept { return _mm256_add_epi64(a, b); }
inline Wide wideMul32(Wide a, Wide b) noexcept { return _mm256_mul_epu32(a, b); }
inline Wide wideHigh(Wide a) noexcept { return _mm256_srli_epi64(a, 32); }
inline Wide wideXor3(Wide a, Wide b, Wide c) noexcept { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); }
inline Wide wideIota() noexcept { return _mm256_set_epi64x(3, 2, 1, 0); }
inline U32 widePackLow(Wide a, Wide b) noexcept {
  const __m256 lows = _mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), _MM_SHUFFLE(2, 0, 2, 0));
  return U32(_mm256_permute4x64_epi64(_mm256_castps_si256(lows), _MM_SHUFFLE(3, 1, 2, 0)));
}
#endif
inline constexpr int kWideLanes = kLanes / 2;

/// The Philox key schedule, broadcast once per kernel call rather than once per block batch.
struct RoundKeys {
  Wide k0[10], k1[10];
  explicit RoundKeys(const random::PhiloxKey& key) noexcept {
    std::uint32_t a = key[0], b = key[1];
    for (int r = 0; r < 10; ++r) {
      if (r > 0) {
        a += random::kPhiloxW0;
        b += random::kPhiloxW1;
      }
      k0[r] = wideSet1(a);
      k1[r] = wideSet1(b);
    }
  }
};

/// The words of blocks first, first+1, …, first+kLanes-1 (Philox4x32-10). Each counter word sits in the low
/// half of a 64-bit lane, so one unsigned 32×32→64 multiply gives hi (upper half) and lo (lower half) at once;
/// the upper halves of the other words hold garbage that no operation ever reads (the multiply reads the low
/// halves only, XOR is lane-wise, and the final pack keeps the low halves).
inline void philoxBlocks(const RoundKeys& keys, std::uint64_t stream, std::uint64_t first, U32 out[4]) noexcept {
  const Wide m0 = wideSet1(random::kPhiloxM0), m1 = wideSet1(random::kPhiloxM1);
  Wide c[2][4];
  for (int half = 0; half < 2; ++half) {
    const Wide block = wideAdd(wideSet1(first + static_cast<std::uint64_t>(half * kWideLanes)), wideIota());
    c[half][0] = block;
    c[half][1] = wideHigh(block);
    c[half][2] = wideSet1(stream);
    c[half][3] = wideSet1(stream >> 32);
  }
  for (int r = 0; r < 10; ++r) {
    for (int half = 0; half < 2; ++half) {
      Wide* x = c[half];
      const Wide p0 = wideMul32(x[0], m0), p1 = wideMul32(x[2], m1);
      const Wide n0 = wideXor3(wideHigh(p1), x[1], keys.k0[r]);
      const Wide n2 = wideXor3(wideHigh(p0), x[3], keys.k1[r]);
      x[0] = n0;
      x[1] = p1;
      x[2] = n2;
      x[3] = p0;
    }
  }
  for (int w = 0; w < 4; ++w) out[w] = widePackLow(c[0][w], c[1][w]);
}

/// The prepared key of the normal kernels.
inline RoundKeys prepareKey(const random::PhiloxKey& key) noexcept { return RoundKeys(key); }

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
inline void normalGroup(const RoundKeys& key, std::uint64_t stream, std::uint64_t base, float* out) noexcept {
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
inline void normalGroup(const RoundKeys& key, std::uint64_t stream, std::uint64_t base, double* out) noexcept {
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
