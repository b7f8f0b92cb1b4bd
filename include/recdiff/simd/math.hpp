#ifndef RECDIFF_SIMD_MATH_HPP
#define RECDIFF_SIMD_MATH_HPP

/// \file simd/math.hpp
/// The arithmetic of the normal generator, written once for a scalar (float, double) or a SIMD batch V:
/// logarithm, sine and cosine by polynomial kernels, and Box–Muller from the raw Philox words.
///
/// Every multiply-add is an explicit fused multiply-add (VecOps<V>::fma) and the only other operations are
/// +, -, *, /, sqrt, exact conversions and bit manipulation — all correctly rounded in IEEE 754 — so a scalar
/// and a vector instantiation give bit-identical results whatever the compiler's -ffp-contract setting. That is
/// what makes a draw independent of the SIMD width. Accuracy against libm (tests/simd/normal_test.cpp):
/// logarithm and sine/cosine within a few ulp; the normals within 2^-20·max(1, |z|) (float) and 2^-48·max(1, |z|)
/// (double) of libm's Box–Muller on the same inputs.
///
/// Polynomials: the float logarithm and sine/cosine use the minimax coefficients of Cephes (logf, sinf, cosf,
/// S. L. Moshier); the double ones those of fdlibm (e_log.c, k_sin.c, k_cos.c, Sun Microsystems). Both are
/// published, freely usable approximations; the code around them is ours.

#include <bit>
#include <cmath>
#include <cstdint>

#include "../random/philox.hpp"

namespace recdiff::simd::detail {

/// Operations the generic kernels need beyond the arithmetic operators. Specialised for float and double here
/// and for xsimd batches in simd/xsimd_backend.hpp.
template <class V>
struct VecOps;

template <>
struct VecOps<float> {
  using Scalar = float;
  static float fma(float a, float b, float c) noexcept { return std::fma(a, b, c); }
  static float sqrt(float a) noexcept { return std::sqrt(a); }
  static float select(bool m, float a, float b) noexcept { return m ? a : b; }
  static bool eq(float a, float b) noexcept { return a == b; }
  static bool lt(float a, float b) noexcept { return a < b; }
  /// x = m·2^e with m in [0.5, 1), for positive normal x.
  static float frexpHalf(float x, float& e) noexcept {
    const auto bits = std::bit_cast<std::uint32_t>(x);
    e = static_cast<float>(static_cast<std::int32_t>(bits >> 23) - 126);
    return std::bit_cast<float>((bits & 0x007fffffu) | 0x3f000000u);
  }
};

template <>
struct VecOps<double> {
  using Scalar = double;
  static double fma(double a, double b, double c) noexcept { return std::fma(a, b, c); }
  static double sqrt(double a) noexcept { return std::sqrt(a); }
  static double select(bool m, double a, double b) noexcept { return m ? a : b; }
  static bool eq(double a, double b) noexcept { return a == b; }
  static bool lt(double a, double b) noexcept { return a < b; }
  static double frexpHalf(double x, double& e) noexcept {
    const auto bits = std::bit_cast<std::uint64_t>(x);
    e = static_cast<double>(static_cast<std::int64_t>(bits >> 52) - 1022);
    return std::bit_cast<double>((bits & 0x000fffffffffffffull) | 0x3fe0000000000000ull);
  }
};

/// Natural logarithm of a positive normal x (no checks for 0, infinities or NaN: the generator never needs them).
template <class V>
inline V logPositive(V x) noexcept {
  using Ops = VecOps<V>;
  using S = typename Ops::Scalar;
  V e;
  V m = Ops::frexpHalf(x, e);  // x = m·2^e, m in [0.5, 1)
  const auto small = Ops::lt(m, V(S(0.70710678118654752440)));
  e = Ops::select(small, e - V(S(1)), e);
  const V f = Ops::select(small, (m + m) - V(S(1)), m - V(S(1)));  // exact; f in [-0.293, 0.414)
  if constexpr (sizeof(S) == 4) {
    // Cephes logf: log(1+f) = f - f²/2 + f³·P(f).
    const V z = f * f;
    V p = V(7.0376836292e-2f);
    p = Ops::fma(p, f, V(-1.1514610310e-1f));
    p = Ops::fma(p, f, V(1.1676998740e-1f));
    p = Ops::fma(p, f, V(-1.2420140846e-1f));
    p = Ops::fma(p, f, V(1.4249322787e-1f));
    p = Ops::fma(p, f, V(-1.6668057665e-1f));
    p = Ops::fma(p, f, V(2.0000714765e-1f));
    p = Ops::fma(p, f, V(-2.4999993993e-1f));
    p = Ops::fma(p, f, V(3.3333331174e-1f));
    V y = (f * z) * p;
    y = Ops::fma(e, V(-2.12194440e-4f), y);  // low part of ln 2
    y = Ops::fma(V(-0.5f), z, y);
    const V r = f + y;
    return Ops::fma(e, V(0.693359375f), r);  // high part of ln 2 (exact in 9 bits)
  } else {
    // fdlibm log: s = f/(2+f), log(1+f) = f - hfsq + s·(hfsq + R(s²)).
    const V s = f / (V(2.0) + f);
    const V z = s * s;
    V r = V(1.479819860511658591e-01);
    r = Ops::fma(r, z, V(1.531383769920937332e-01));
    r = Ops::fma(r, z, V(1.818357216161805012e-01));
    r = Ops::fma(r, z, V(2.222219843214978396e-01));
    r = Ops::fma(r, z, V(2.857142874366239149e-01));
    r = Ops::fma(r, z, V(3.999999999940941908e-01));
    r = Ops::fma(r, z, V(6.666666666666735130e-01));
    // No product may feed an addition outside an explicit fma (the compiler could contract it on one side).
    const V halfF = V(0.5) * f;                                               // exact
    const V sum = Ops::fma(r, z, halfF * f);                                  // f²/2 + R(s²)
    const V t = Ops::fma(s, sum, e * V(1.90821492927058770002e-10));          // + e·(low part of ln 2)
    const V d = Ops::fma(halfF, f, -t);                                       // f²/2 - t
    return Ops::fma(e, V(6.93147180369123816490e-01), f - d);                 // + e·(high part of ln 2)
  }
}

/// sin and cos of θ = q·π/2 + φ, for |φ| <= π/4 and quadrant q in {0, 1, 2, 3} (held as a floating value).
template <class V>
inline void sinCosQuadrant(V phi, V q, V& sinTheta, V& cosTheta) noexcept {
  using Ops = VecOps<V>;
  using S = typename Ops::Scalar;
  const V z = phi * phi;
  V s, c;
  if constexpr (sizeof(S) == 4) {
    // Cephes sinf / cosf on [-π/4, π/4].
    V ps = Ops::fma(V(-1.9515295891e-4f), z, V(8.3321608736e-3f));
    ps = Ops::fma(ps, z, V(-1.6666654611e-1f));
    s = Ops::fma(phi * z, ps, phi);
    V pc = Ops::fma(V(2.443315711809948e-5f), z, V(-1.388731625493765e-3f));
    pc = Ops::fma(pc, z, V(4.166664568298827e-2f));
    c = Ops::fma(z * z, pc, Ops::fma(V(-0.5f), z, V(1.0f)));
  } else {
    // fdlibm __kernel_sin / __kernel_cos on [-π/4, π/4].
    V ps = Ops::fma(V(1.58969099521155010221e-10), z, V(-2.50507602534068634195e-08));
    ps = Ops::fma(ps, z, V(2.75573137070700676789e-06));
    ps = Ops::fma(ps, z, V(-1.98412698298579493134e-04));
    ps = Ops::fma(ps, z, V(8.33333333332248946124e-03));
    ps = Ops::fma(ps, z, V(-1.66666666666666324348e-01));
    s = Ops::fma(phi * z, ps, phi);
    V pc = Ops::fma(V(-1.13596475577881948265e-11), z, V(2.08757232129817482790e-09));
    pc = Ops::fma(pc, z, V(-2.75573143513906633035e-07));
    pc = Ops::fma(pc, z, V(2.48015872894767294178e-05));
    pc = Ops::fma(pc, z, V(-1.38888888888741095749e-03));
    pc = Ops::fma(pc, z, V(4.16666666666666019037e-02));
    c = Ops::fma(z * z, pc, Ops::fma(V(-0.5), z, V(1.0)));
  }
  // Quadrants: q=1 -> (cos φ, -sin φ), q=2 -> (-sin φ, -cos φ), q=3 -> (-cos φ, sin φ).
  const auto q1 = Ops::eq(q, V(S(1))), q2 = Ops::eq(q, V(S(2))), q3 = Ops::eq(q, V(S(3)));
  sinTheta = Ops::select(q1, c, Ops::select(q2, -s, Ops::select(q3, -c, s)));
  cosTheta = Ops::select(q1, -s, Ops::select(q2, -c, Ops::select(q3, s, c)));
}

/// Box–Muller from (u in (0, 1], θ = q·π/2 + φ): z0 = sqrt(-2 ln u)·cos θ, z1 = sqrt(-2 ln u)·sin θ.
template <class V>
inline void boxMullerReduced(V u, V phi, V q, V& z0, V& z1) noexcept {
  using Ops = VecOps<V>;
  using S = typename Ops::Scalar;
  const V radius = Ops::sqrt(V(S(-2)) * logPositive(u));
  V sinTheta, cosTheta;
  sinCosQuadrant(phi, q, sinTheta, cosTheta);
  z0 = radius * cosTheta;
  z1 = radius * sinTheta;
}

/// 2π·2^-24 and 2π·2^-53: one step of the angle grid.
inline constexpr float kAngleStepFloat = 6.28318530717958647692f * 0x1p-24f;
inline constexpr double kAngleStepDouble = 6.28318530717958647692 * 0x1p-53;

/// Scalar front end, float: (u, φ, q) from the words (a, b) of a Box–Muller pair.
///   u = ((a >> 8) + 1)·2^-24;  k = b >> 8 (θ = 2π·k·2^-24);  q = round(k / 2^22) mod 4;  φ = 2π·2^-24·(k - q·2^22).
inline void boxMullerInputs(std::uint32_t a, std::uint32_t b, float& u, float& phi, float& q) noexcept {
  u = static_cast<float>(static_cast<std::int32_t>((a >> 8) + 1u)) * 0x1p-24f;
  const std::uint32_t k = b >> 8;
  const std::uint32_t quadrant = (k + (1u << 21)) >> 22;  // 0..4
  const std::int32_t s = static_cast<std::int32_t>(k) - static_cast<std::int32_t>(quadrant << 22);
  phi = static_cast<float>(s) * kAngleStepFloat;
  q = static_cast<float>(static_cast<std::int32_t>(quadrant & 3u));
}

/// Scalar front end, double: (u, φ, q) from the 64-bit words (a, b), 53 bits each, as for float.
inline void boxMullerInputs(std::uint64_t a, std::uint64_t b, double& u, double& phi, double& q) noexcept {
  u = static_cast<double>(static_cast<std::int64_t>((a >> 11) + 1u)) * 0x1p-53;
  const std::uint64_t k = b >> 11;
  const std::uint64_t quadrant = (k + (1ull << 50)) >> 51;  // 0..4
  const std::int64_t s = static_cast<std::int64_t>(k) - static_cast<std::int64_t>(quadrant << 51);
  phi = static_cast<double>(s) * kAngleStepDouble;
  q = static_cast<double>(static_cast<std::int64_t>(quadrant & 3u));
}

/// The four float normals of one Philox block, in slot order (z0, z1 on (w0, w1); z0, z1 on (w2, w3)).
inline void normalsOfBlock(const random::PhiloxCounter& w, float out[4]) noexcept {
  float u, phi, q;
  boxMullerInputs(w[0], w[1], u, phi, q);
  boxMullerReduced(u, phi, q, out[0], out[1]);
  boxMullerInputs(w[2], w[3], u, phi, q);
  boxMullerReduced(u, phi, q, out[2], out[3]);
}

/// The two double normals of one Philox block, in slot order (z0, z1 on (w1:w0), (w3:w2)).
inline void normalsOfBlock(const random::PhiloxCounter& w, double out[2]) noexcept {
  const std::uint64_t a = (static_cast<std::uint64_t>(w[1]) << 32) | w[0];
  const std::uint64_t b = (static_cast<std::uint64_t>(w[3]) << 32) | w[2];
  double u, phi, q;
  boxMullerInputs(a, b, u, phi, q);
  boxMullerReduced(u, phi, q, out[0], out[1]);
}

}  // namespace recdiff::simd::detail

#endif  // RECDIFF_SIMD_MATH_HPP
