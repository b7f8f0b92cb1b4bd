#ifndef RECDIFF_RANDOM_RNG_HPP
#define RECDIFF_RANDOM_RNG_HPP

/// \file random/rng.hpp
/// The seeded Rng that every module uses. It sits on Philox4x32-10 (philox.hpp beside it): the state is
/// (seed, stream, block position), so a generator can be copied, forked into independent sub-streams, and
/// addressed — a kernel that fills a [batch × items] matrix with noise reserves the blocks of the draw
/// (reserveNoise) and computes element i of it from its address alone (philox.hpp gives the layout),
/// whatever the thread count or SIMD width. fillNormal runs the vectorised kernel of simd/kernels.hpp.
///
/// Layering: random/philox.hpp (the counter-based generator, no dependencies) < simd/ (kernels that compute
/// draws from a Philox address) < this file (the stateful Rng, which calls those kernels). simd/ never includes
/// this file, and <recdiff/random.hpp> only forwards here.
///
/// Usage:
///   recdiff::Rng rng(42);                    // seed 42, stream 0
///   recdiff::Rng epochRng = rng.fork(epoch); // independent sub-stream
///   double z = rng.normal();
///   RowMatrix<float> noise(4, 8); rng.fillNormal(noise);

#include <cstdint>
#include <limits>

#include "../error.hpp"
#include "../simd/kernels.hpp"
#include "../simd/math.hpp"
#include "../types.hpp"
#include "philox.hpp"

namespace recdiff {

/// Everything an Rng is (training-state checkpoints save and restore it): its key, its stream and its position
/// within the stream: the next block, the words of the current block still unused, a cached second normal.
struct RngState {
  std::uint64_t seed = 0, stream = 0, block = 0;
  std::uint32_t buffer[4] = {0, 0, 0, 0};
  std::int32_t used = 4;
  double spare = 0.0;
  bool hasSpare = false;
};

/// Counter-based, seeded random number generator (Philox4x32-10). Copyable; copies produce the same numbers.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0, std::uint64_t stream = 0) noexcept
      : seed_(seed), stream_(stream), key_(random::philoxKey(seed)) {}

  std::uint64_t seed() const noexcept { return seed_; }
  std::uint64_t stream() const noexcept { return stream_; }
  /// Index of the next unused Philox block.
  std::uint64_t position() const noexcept { return block_; }

  /// The whole state; Rng(state) continues exactly where this generator stands.
  RngState state() const noexcept {
    RngState s{seed_, stream_, block_, {buffer_[0], buffer_[1], buffer_[2], buffer_[3]}, used_, spare_, hasSpare_};
    return s;
  }
  explicit Rng(const RngState& s) noexcept : Rng(s.seed, s.stream) {
    block_ = s.block;
    for (std::size_t i = 0; i < 4; ++i) buffer_[i] = s.buffer[i];
    used_ = s.used < 0 || s.used > 4 ? 4 : s.used;
    spare_ = s.spare;
    hasSpare_ = s.hasSpare;
  }

  /// An independent generator on a sub-stream derived from this one's stream and `tag` (e.g. an epoch).
  Rng fork(std::uint64_t tag) const noexcept { return Rng(seed_, random::mixStream(stream_, tag)); }

  /// Reserves the blocks of a draw of `count` normals of the given type (random::normalBlocks) and returns its
  /// address, for the kernels of simd/kernels.hpp.
  template <class Scalar>
  random::NoiseAddress reserveNoise(std::uint64_t count) noexcept {
    return random::NoiseAddress{seed_, stream_, reserveBlocks(random::normalBlocks<Scalar>(count))};
  }

  /// Reserves `blocks` Philox blocks for an addressed kernel and returns the first one's index.
  std::uint64_t reserveBlocks(std::uint64_t blocks) noexcept {
    used_ = 4;  // drop any partially consumed block
    const std::uint64_t first = block_;
    block_ += blocks;
    return first;
  }

  std::uint32_t nextU32() noexcept {
    if (used_ == 4) {
      buffer_ = random::philox4x32(random::philoxCounter(block_++, stream_), key_);
      used_ = 0;
    }
    return buffer_[static_cast<std::size_t>(used_++)];
  }

  std::uint64_t nextU64() noexcept {
    const std::uint64_t lo = nextU32();
    return lo | (static_cast<std::uint64_t>(nextU32()) << 32);
  }

  /// Uniform double in [0, 1).
  double uniform() noexcept { return random::u64ToUniformDouble(nextU64()); }

  /// Uniform in [0, 1) of the requested type.
  template <class Scalar>
  Scalar uniformReal() noexcept {
    if constexpr (sizeof(Scalar) == 4) {
      return random::u32ToUniformFloat(nextU32());
    } else {
      return static_cast<Scalar>(uniform());
    }
  }

  /// Uniform integer in [0, n), unbiased (Lemire's multiply-and-reject).
  Index uniformIndex(Index n) {
    RECDIFF_REQUIRE(n > 0, "Rng::uniformIndex(): n must be positive, got ", n);
    const auto range = static_cast<std::uint64_t>(n);
    if (range <= std::numeric_limits<std::uint32_t>::max()) {
      const auto r32 = static_cast<std::uint32_t>(range);
      std::uint64_t m = static_cast<std::uint64_t>(nextU32()) * r32;
      auto low = static_cast<std::uint32_t>(m);
      if (low < r32) {
        const std::uint32_t threshold = static_cast<std::uint32_t>(-r32) % r32;
        while (low < threshold) {
          m = static_cast<std::uint64_t>(nextU32()) * r32;
          low = static_cast<std::uint32_t>(m);
        }
      }
      return static_cast<Index>(m >> 32);
    }
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % range;
    std::uint64_t x = nextU64();
    while (x >= limit) x = nextU64();
    return static_cast<Index>(x % range);
  }

  /// Standard normal N(0, 1) in double (Box–Muller on two 64-bit words with the portable kernels of
  /// simd/math.hpp; the second value of each pair is kept for the next call).
  double normal() noexcept {
    if (hasSpare_) {
      hasSpare_ = false;
      return spare_;
    }
    const std::uint64_t a = nextU64();
    const std::uint64_t b = nextU64();
    double u, phi, q, z0, z1;
    simd::detail::boxMullerInputs(a, b, u, phi, q);
    simd::detail::boxMullerReduced(u, phi, q, z0, z1);
    spare_ = z1;
    hasSpare_ = true;
    return z0;
  }

  /// Fills any dense Eigen object with N(0, 1) in storage order: element k (k-th in memory order) is element k
  /// of a fresh draw (reserveNoise), computed by simd::normalFill.
  template <class Derived>
  void fillNormal(Eigen::DenseBase<Derived>& out) {
    using Scalar = typename Derived::Scalar;
    static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                  "Rng::fillNormal(): needs a float or double matrix");
    const auto n = static_cast<std::uint64_t>(out.size());
    const random::NoiseAddress at = reserveNoise<Scalar>(n);
    if constexpr ((Derived::Flags & Eigen::DirectAccessBit) != 0) {
      if (out.derived().innerStride() == 1 && (out.outerSize() <= 1 || out.derived().outerStride() == out.innerSize())) {
        simd::normalFill<Scalar>(at, 0, out.derived().data(), out.size());
        return;
      }
    }
    Eigen::Array<Scalar, Eigen::Dynamic, 1> tmp(out.size());
    simd::normalFill<Scalar>(at, 0, tmp.data(), tmp.size());
    Index k = 0;
    for (Index o = 0; o < out.outerSize(); ++o)
      for (Index i = 0; i < out.innerSize(); ++i) {
        if constexpr (Derived::IsRowMajor) out.coeffRef(o, i) = tmp(k++);
        else out.coeffRef(i, o) = tmp(k++);
      }
  }

  /// Fills an Eigen object expression (a block, a map) with N(0, 1); see fillNormal(DenseBase&).
  template <class Derived>
  void fillNormal(Eigen::DenseBase<Derived>&& out) {
    fillNormal(out);
  }

  /// Fills any dense Eigen object with N(mean, std^2).
  template <class Derived>
  void fillNormal(Eigen::DenseBase<Derived>& out, double mean, double stddev) {
    fillNormal(out);
    using Scalar = typename Derived::Scalar;
    out.derived().array() = out.derived().array() * static_cast<Scalar>(stddev) + static_cast<Scalar>(mean);
  }

  /// Fills an Eigen object expression (a block, a map) with N(mean, std^2).
  template <class Derived>
  void fillNormal(Eigen::DenseBase<Derived>&& out, double mean, double stddev) {
    fillNormal(out, mean, stddev);
  }

  /// Fills any dense Eigen object with U[lo, hi).
  template <class Derived>
  void fillUniform(Eigen::DenseBase<Derived>& out, double lo = 0.0, double hi = 1.0) {
    using Scalar = typename Derived::Scalar;
    for (Index j = 0; j < out.cols(); ++j)
      for (Index i = 0; i < out.rows(); ++i)
        out.coeffRef(i, j) = static_cast<Scalar>(lo + (hi - lo) * uniform());
  }

 private:
  std::uint64_t seed_;
  std::uint64_t stream_;
  random::PhiloxKey key_;
  std::uint64_t block_ = 0;
  random::PhiloxCounter buffer_{};
  int used_ = 4;
  double spare_ = 0.0;
  bool hasSpare_ = false;
};

}  // namespace recdiff

#endif  // RECDIFF_RANDOM_RNG_HPP
