#ifndef RECDIFF_RANDOM_PHILOX_HPP
#define RECDIFF_RANDOM_PHILOX_HPP

/// \file philox.hpp
/// Philox4x32-10 counter-based generator (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as
/// 1, 2, 3", SC 2011) and the conversions from its 32-bit words to uniforms and standard normals.
///
/// Addressing, which every kernel (scalar or SIMD, any thread count) follows so that a value never depends on
/// the thread count, the SIMD width or the order of evaluation:
///   key     = (seed low 32 bits, seed high 32 bits)
///   counter = (block low, block high, stream low, stream high)   — block is a 64-bit index
/// A draw of standard normals starts at block b0 and is read in GROUPS of kBlocksPerGroup = 16 consecutive
/// blocks (16 = the uint32 lanes of one AVX-512 register, so every SIMD width 1, 4, 8, 16 divides it and no
/// kernel ever transposes). Element i of the draw:
///   float : g = i / 64, r = i % 64, lane l = r % 16, slot c = r / 16. Block b = b0 + 16 g + l gives words
///           (w0, w1, w2, w3); slots 0 and 1 are (z0, z1) of Box–Muller on (w0, w1), slots 2 and 3 are (z0, z1)
///           on (w2, w3).
///   double: g = i / 32, r = i % 32, lane l = r % 16, slot c = r / 16. Block b = b0 + 16 g + l; slots 0 and 1
///           are (z0, z1) of Box–Muller on the 64-bit words (w1:w0) and (w3:w2).
/// Box–Muller on words (a, b): u = (top bits of a + 1)·2^-p in (0, 1] (p = 24 for float, 53 for double),
/// θ = 2π·(top p bits of b)·2^-p, z0 = sqrt(-2 ln u)·cos θ, z1 = sqrt(-2 ln u)·sin θ. The logarithm and the
/// sine/cosine are our own polynomial kernels in simd/math.hpp, written with explicit fused multiply-adds so
/// that the scalar and every SIMD backend produce bit-identical numbers (libm would not: its results vary by
/// platform and differ from any vector implementation). A draw of n values therefore consumes
/// normalBlocks<Scalar>(n) blocks: reserve them with Rng::reserveNoise<Scalar>(n) (or reserveBlocks).
/// Box–Muller (not Ziggurat): it is branch-free, so it vectorises with no rejection loop, and every output is a
/// pure function of one counter — the property that makes the draws independent of thread count and SIMD width.
/// Its tails are truncated where u reaches its smallest value: |z| <= 5.77 for float, 8.57 for double.

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

/// Textbook Box–Muller with libm: (u1 in (0,1], u2 in [0,1)) -> two independent N(0,1) values. Only the
/// accuracy oracle of the tests; the generator itself uses the portable kernels of simd/math.hpp.
template <class Scalar>
inline void boxMuller(Scalar u1, Scalar u2, Scalar& z0, Scalar& z1) noexcept {
  constexpr Scalar kTwoPi = static_cast<Scalar>(6.28318530717958647692528676655900577);
  const Scalar r = std::sqrt(Scalar(-2) * std::log(u1));
  const Scalar theta = kTwoPi * u2;
  z0 = r * std::cos(theta);
  z1 = r * std::sin(theta);
}

/// Consecutive Philox blocks read together by a normal draw (see the addressing above).
inline constexpr std::uint64_t kBlocksPerGroup = 16;

/// Values per Philox block for standard normals of the given scalar type (4 for float, 2 for double).
template <class Scalar>
inline constexpr int kNormalsPerBlock = sizeof(Scalar) == 4 ? 4 : 2;

/// Normals per group of kBlocksPerGroup blocks (64 for float, 32 for double).
template <class Scalar>
inline constexpr std::uint64_t kNormalsPerGroup = kBlocksPerGroup * kNormalsPerBlock<Scalar>;

/// Blocks a draw of n normals of the given type consumes (whole groups).
template <class Scalar>
constexpr std::uint64_t normalBlocks(std::uint64_t n) noexcept {
  return (n + kNormalsPerGroup<Scalar> - 1) / kNormalsPerGroup<Scalar> * kBlocksPerGroup;
}

/// Where an addressed draw lives: the generator (seed, stream) and the first block b0 of the draw.
struct NoiseAddress {
  std::uint64_t seed = 0;
  std::uint64_t stream = 0;
  std::uint64_t block0 = 0;
};

/// Mixes two 64-bit values into a new stream id (splitmix64 finaliser): used to derive sub-streams.
constexpr std::uint64_t mixStream(std::uint64_t stream, std::uint64_t tag) noexcept {
  std::uint64_t z = stream * 0x9E3779B97F4A7C15ull + tag + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace recdiff::random

#endif  // RECDIFF_RANDOM_PHILOX_HPP
