#ifndef RECDIFF_RANDOM_PHILOX_HPP
#define RECDIFF_RANDOM_PHILOX_HPP

/// \file philox.hpp
/// Philox4x32-10 counter-based generator (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as
/// 1, 2, 3", SC 2011) and the conversions from its 32-bit words to uniforms and standard normals.
///
/// Addressing, which every kernel (scalar or SIMD, any thread count) follows so that results never depend
/// on evaluation order:
///   key     = (seed low 32 bits, seed high 32 bits)
///   counter = (block low, block high, stream low, stream high)   — block is a 64-bit index
/// Standard normals, element i of a draw that starts at block b0:
///   float : block b0 + i/4; words (w0,w1) give elements 4k, 4k+1 and (w2,w3) give 4k+2, 4k+3 by Box–Muller;
///   double: block b0 + i/2; (w1:w0) and (w3:w2) as 64-bit words give elements 2k, 2k+1 by Box–Muller.
/// Box–Muller (not Ziggurat): it is branch-free, so it vectorises with no rejection loop, and every output is a
/// pure function of one counter — the property that makes the draws independent of thread count and SIMD width.

#include <array>
#include <cmath>
#include <cstdint>

namespace recdiff::random {

using PhiloxCounter = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

inline constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u;
inline constexpr std::uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u;
inline constexpr std::uint32_t kPhiloxW1 = 0xBB67AE85u;

/// One Philox4x32 bijection with `rounds` rounds (10 is the standard, crush-resistant choice).
template <int Rounds = 10>
constexpr PhiloxCounter philox4x32(PhiloxCounter ctr, PhiloxKey key) noexcept {
  for (int r = 0; r < Rounds; ++r) {
    if (r > 0) {
      key[0] += kPhiloxW0;
      key[1] += kPhiloxW1;
    }
    const std::uint64_t p0 = static_cast<std::uint64_t>(kPhiloxM0) * ctr[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(kPhiloxM1) * ctr[2];
    const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    ctr = {hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0};
  }
  return ctr;
}

constexpr PhiloxKey philoxKey(std::uint64_t seed) noexcept {
  return {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
}

constexpr PhiloxCounter philoxCounter(std::uint64_t block, std::uint64_t stream) noexcept {
  return {static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
          static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)};
}

/// Uniform float in [0, 1) from the top 24 bits.
constexpr float u32ToUniformFloat(std::uint32_t w) noexcept {
  return static_cast<float>(w >> 8) * (1.0f / 16777216.0f);
}
/// Uniform float in (0, 1] from the top 24 bits (safe for log).
constexpr float u32ToUniformFloatOpen(std::uint32_t w) noexcept {
  return static_cast<float>((w >> 8) + 1u) * (1.0f / 16777216.0f);
}
/// Uniform double in [0, 1) from the top 53 bits.
constexpr double u64ToUniformDouble(std::uint64_t w) noexcept {
  return static_cast<double>(w >> 11) * (1.0 / 9007199254740992.0);
}
/// Uniform double in (0, 1] from the top 53 bits (safe for log).
constexpr double u64ToUniformDoubleOpen(std::uint64_t w) noexcept {
  return static_cast<double>((w >> 11) + 1u) * (1.0 / 9007199254740992.0);
}

/// Box–Muller: (u1 in (0,1], u2 in [0,1)) -> two independent N(0,1) values.
template <class Scalar>
inline void boxMuller(Scalar u1, Scalar u2, Scalar& z0, Scalar& z1) noexcept {
  constexpr Scalar kTwoPi = static_cast<Scalar>(6.28318530717958647692528676655900577);
  const Scalar r = std::sqrt(Scalar(-2) * std::log(u1));
  const Scalar theta = kTwoPi * u2;
  z0 = r * std::cos(theta);
  z1 = r * std::sin(theta);
}

/// Scalar reference: standard normals of one Philox block, float layout (4 values).
inline void normalBlockFloat(const PhiloxCounter& w, float out[4]) noexcept {
  boxMuller(u32ToUniformFloatOpen(w[0]), u32ToUniformFloat(w[1]), out[0], out[1]);
  boxMuller(u32ToUniformFloatOpen(w[2]), u32ToUniformFloat(w[3]), out[2], out[3]);
}

/// Scalar reference: standard normals of one Philox block, double layout (2 values).
inline void normalBlockDouble(const PhiloxCounter& w, double out[2]) noexcept {
  const std::uint64_t a = (static_cast<std::uint64_t>(w[1]) << 32) | w[0];
  const std::uint64_t b = (static_cast<std::uint64_t>(w[3]) << 32) | w[2];
  boxMuller(u64ToUniformDoubleOpen(a), u64ToUniformDouble(b), out[0], out[1]);
}

/// Values per Philox block for standard normals of the given scalar type (4 for float, 2 for double).
template <class Scalar>
inline constexpr int kNormalsPerBlock = sizeof(Scalar) == 4 ? 4 : 2;

/// Scalar reference: fills out[0 .. n) with the normals of stream `stream` starting at block `block0`.
template <class Scalar>
inline void normalFillReference(std::uint64_t seed, std::uint64_t stream, std::uint64_t block0, Scalar* out,
                                long n) noexcept {
  constexpr int kPer = kNormalsPerBlock<Scalar>;
  const PhiloxKey key = philoxKey(seed);
  Scalar tmp[4];
  for (long i = 0; i < n; i += kPer) {
    const PhiloxCounter w = philox4x32(philoxCounter(block0 + static_cast<std::uint64_t>(i / kPer), stream), key);
    if constexpr (kPer == 4) {
      normalBlockFloat(w, tmp);
    } else {
      normalBlockDouble(w, tmp);
    }
    for (int j = 0; j < kPer && i + j < n; ++j) out[i + j] = tmp[j];
  }
}

/// Mixes two 64-bit values into a new stream id (splitmix64 finaliser): used to derive sub-streams.
constexpr std::uint64_t mixStream(std::uint64_t stream, std::uint64_t tag) noexcept {
  std::uint64_t z = stream * 0x9E3779B97F4A7C15ull + tag + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace recdiff::random

#endif  // RECDIFF_RANDOM_PHILOX_HPP
