#ifndef RECDIFF_NN_DROPOUT_HPP
#define RECDIFF_NN_DROPOUT_HPP

/// \file dropout.hpp
/// Inverted dropout (Srivastava et al. 2014, as torch.nn.Dropout): in training, every element is kept with
/// probability 1 − p and scaled by 1/(1 − p); in evaluation the layer is the identity.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <Eigen/Core>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "parameters.hpp"

// The Philox lane kernels live in recdiff::detail (not recdiff::nn::detail, which would hide
// recdiff::detail::concat from unqualified `detail::` lookups in other nn headers).
namespace recdiff::detail {
inline constexpr std::uint64_t kPhiloxLanes = 16;

/// kPhiloxLanes Philox4x32-10 blocks at counters (first + l, stream); words[j][l] is word j of block l.
/// Bit-identical to random::philox4x32 block by block. With GCC/Clang (and unless RECDIFF_NO_SIMD) the lanes
/// run in portable vector extensions (8 × 64-bit lanes, each holding a 32-bit word, so that one widening
/// multiply gives both halves); otherwise block by block.
inline void philoxLanes(const random::PhiloxKey& key, std::uint64_t first, std::uint64_t stream,
                        std::uint32_t (&words)[4][kPhiloxLanes]) noexcept {
#if (defined(__GNUC__) || defined(__clang__)) && !(defined(RECDIFF_NO_SIMD) && RECDIFF_NO_SIMD)
  typedef std::uint64_t V __attribute__((vector_size(64)));
  constexpr int kHalf = static_cast<int>(kPhiloxLanes / 2);
  const V lo32 = V{} + 0xffffffffull;
  V c[2][4];
  for (int h = 0; h < 2; ++h) {
    V block;
    for (int l = 0; l < kHalf; ++l) block[l] = first + static_cast<std::uint64_t>(h * kHalf + l);
    c[h][0] = block & lo32;
    c[h][1] = block >> 32;
    c[h][2] = V{} + static_cast<std::uint64_t>(stream & 0xffffffffull);
    c[h][3] = V{} + static_cast<std::uint64_t>(stream >> 32);
  }
  std::uint64_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 = (k0 + random::kPhiloxW0) & 0xffffffffull;
      k1 = (k1 + random::kPhiloxW1) & 0xffffffffull;
    }
    for (int h = 0; h < 2; ++h) {
      V* x = c[h];
      const V p0 = x[0] * random::kPhiloxM0;  // < 2^64: both factors are below 2^32
      const V p1 = x[2] * random::kPhiloxM1;
      const V n0 = (p1 >> 32) ^ x[1] ^ k0;
      const V n2 = (p0 >> 32) ^ x[3] ^ k1;
      x[1] = p1 & lo32;
      x[3] = p0 & lo32;
      x[0] = n0;
      x[2] = n2;
    }
  }
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < kHalf; ++l) words[j][h * kHalf + l] = static_cast<std::uint32_t>(c[h][j][l]);
#else
  for (std::uint64_t l = 0; l < kPhiloxLanes; ++l) {
    const random::PhiloxCounter w = random::philox4x32(random::philoxCounter(first + l, stream), key);
    for (int j = 0; j < 4; ++j) words[j][l] = w[static_cast<std::size_t>(j)];
  }
#endif
}

/// Words of `groups` consecutive lane groups (16 blocks each) starting at block `first`, group after group,
/// each group word-major: out[64 g + 16 j + l] = word j of block first + 16 g + l. Kept out of line: inlined
/// into a larger loop, the compiler no longer vectorises the rounds.
[[gnu::noinline]] inline void philoxGroups(const random::PhiloxKey& key, std::uint64_t first, std::uint64_t stream,
                                           std::uint64_t groups, std::uint32_t* out) noexcept {
  for (std::uint64_t g = 0; g < groups; ++g) {
    std::uint32_t words[4][kPhiloxLanes];
    philoxLanes(key, first + g * kPhiloxLanes, stream, words);
    std::memcpy(out + g * 4 * kPhiloxLanes, words, sizeof(words));
  }
}
}  // namespace recdiff::detail

namespace recdiff::nn {

/// Inverted dropout with its own seeded generator. x, y: [batch × dim].
///
/// The mask of one forward() call is drawn from Philox counters reserved on the layer's Rng, in groups of 64
/// elements = 16 blocks: element i (row-major) uses word (i mod 64) / 16 of block first + 16·⌊i / 64⌋ + i mod 16
/// and is kept iff that word ≥ ⌈p·2³²⌉. The draw therefore depends only on (seed, stream, call number), not on
/// threads or SIMD width. backward() reuses the mask of the last forward().
/// Starts in training mode, as torch modules do.
///
/// Usage:
///   nn::Dropout<float> drop(0.5, rng.fork(1));
///   drop.setTraining(true);  drop.forward(x, y);  drop.backward(dy, dx);
/// \tparam Scalar float or double.
template <class Scalar>
class Dropout {
 public:
  using Matrix = RowMatrix<Scalar>;

  explicit Dropout(double p = 0.5, Rng rng = Rng(0)) : p_(p), rng_(rng) {
    RECDIFF_REQUIRE(p >= 0.0 && p < 1.0, "Dropout: p must lie in [0, 1), got ", p);
    // Keep iff word >= threshold_; P(keep) = 1 − threshold_ / 2³², i.e. 1 − p rounded to 2⁻³² (a 32-bit
    // threshold, so that the comparison vectorises; p within 2⁻³² of 1 keeps with probability 2⁻³²).
    threshold_ = static_cast<std::uint32_t>(std::min(std::ceil(p * 4294967296.0), 4294967295.0));
  }

  double probability() const noexcept { return p_; }
  Index parameterCount() const noexcept { return 0; }
  void bind(ParameterSlice<Scalar>, ParameterSlice<Scalar>) noexcept {}

  void setTraining(bool training) noexcept { training_ = training; }
  bool training() const noexcept { return training_; }

  /// Replaces the generator (e.g. to make a run reproducible from a new seed).
  void reseed(Rng rng) noexcept { rng_ = rng; }
  const Rng& rng() const noexcept { return rng_; }
  /// Saves or loads the mask stream's position (io/state_archive.hpp).
  template <class Archive>
  void serializeState(Archive& ar) { ar("rng", rng_); }

  /// Training: y = x ⊙ m / (1 − p) with a fresh mask m; evaluation or p = 0: y = x. y may alias x.
  void forward(const Matrix& x, Matrix& y) {
    active_ = training_ && p_ > 0.0;
    if (!active_) {
      if (&y != &x) y = x;
      return;
    }
    drawMask(x.rows(), x.cols());
    y.resize(x.rows(), x.cols());
    multiplyByMask(x, y);
  }

  /// dx = dy ⊙ m / (1 − p) with the last forward's mask (identity when it was inactive). dx may alias dy.
  void backward(const Matrix& dy, Matrix& dx) {
    if (!active_) {
      if (&dx != &dy) dx = dy;
      return;
    }
    RECDIFF_REQUIRE(dy.rows() == mask_.rows() && dy.cols() == mask_.cols(), "Dropout::backward(): dy is ", dy.rows(),
                    "x", dy.cols(), " but the last forward() saw ", mask_.rows(), "x", mask_.cols());
    dx.resize(dy.rows(), dy.cols());
    multiplyByMask(dy, dx);
  }

  /// The scaled mask of the last active forward(): entries 0 or 1/(1 − p).
  const Matrix& mask() const noexcept { return mask_; }

  /// For callers that fuse the multiplication into their own buffers: returns the mask a forward() of a
  /// [rows × cols] input would use now (a fresh draw in training, nullptr when the layer is inactive) and
  /// makes backward() use it.
  const Matrix* sampleMask(Index rows, Index cols) {
    active_ = training_ && p_ > 0.0;
    if (!active_) return nullptr;
    drawMask(rows, cols);
    return &mask_;
  }

  /// Data-parallel row shards: the next mask drawn (forward() or sampleMask(), one call) is rows
  /// [firstRow, firstRow + its rows) of the mask a batch of globalRows rows would draw, and the generator
  /// advances as for that whole batch. So a process holding some rows of a batch masks them exactly as the
  /// single process does. Without this call every draw is the whole batch's.
  void setRowShard(Index firstRow, Index globalRows) {
    RECDIFF_REQUIRE(firstRow >= 0 && globalRows >= firstRow, "Dropout::setRowShard(): rows from ", firstRow,
                    " of a batch of ", globalRows);
    shardFirst_ = firstRow;
    shardRows_ = globalRows;
  }

 private:
  /// out = in ⊙ mask_ (out may alias in), in contiguous chunks split over the threads when large.
  void multiplyByMask(const Matrix& in, Matrix& out) const {
    constexpr Index kChunk = 16384;
    const Index n = in.size(), chunks = (n + kChunk - 1) / kChunk;
    using Flat = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>;
    using ConstFlat = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>;
    parallelFor(chunks, chunks > 4, [&](Index c) {
      const Index at = c * kChunk, m = std::min(kChunk, n - at);
      Flat(out.data() + at, m) = ConstFlat(in.data() + at, m) * ConstFlat(mask_.data() + at, m);
    });
  }

  void drawMask(Index rows, Index cols) {
    mask_.resize(rows, cols);
    constexpr std::uint64_t kLanes = recdiff::detail::kPhiloxLanes, kPerGroup = 4 * kLanes;
    const auto n = static_cast<std::uint64_t>(mask_.size());
    if (shardRows_ < 0) {
      const std::uint64_t groups = (n + kPerGroup - 1) / kPerGroup;
      drawElements(rng_.reserveBlocks(groups * kLanes), 0, n);
      return;
    }
    RECDIFF_REQUIRE(shardFirst_ + rows <= shardRows_, "Dropout: a shard of ", rows, " rows from row ", shardFirst_,
                    " does not fit a batch of ", shardRows_);
    const auto total = static_cast<std::uint64_t>(shardRows_) * static_cast<std::uint64_t>(cols);
    const std::uint64_t first = rng_.reserveBlocks((total + kPerGroup - 1) / kPerGroup * kLanes);
    drawElements(first, static_cast<std::uint64_t>(shardFirst_) * static_cast<std::uint64_t>(cols), n);
    shardRows_ = -1;
  }

  /// mask_ (n elements) = elements [e0, e0 + n) of the draw whose blocks start at `first`.
  void drawElements(std::uint64_t first, std::uint64_t e0, std::uint64_t n) {
    constexpr std::uint64_t kLanes = recdiff::detail::kPhiloxLanes, kPerGroup = 4 * kLanes, kGroupsPerChunk = 32;
    // Groups [gBegin, gEnd) hold the elements; chunks of them as before (e0 = 0 is the whole-batch draw).
    const std::uint64_t gBegin = e0 / kPerGroup, gEnd = (e0 + n + kPerGroup - 1) / kPerGroup;
    const std::uint64_t groups = gEnd - gBegin;
    const random::PhiloxKey key = random::philoxKey(rng_.seed());
    const std::uint64_t stream = rng_.stream();
    const Scalar scale = static_cast<Scalar>(1.0 / (1.0 - p_));
    const std::uint32_t threshold = threshold_;
    Scalar* out = mask_.data();
    const auto chunks = static_cast<std::int64_t>((groups + kGroupsPerChunk - 1) / kGroupsPerChunk);
    // Two phases per chunk: words into a stack buffer, then compare and scale.
    parallelFor(static_cast<Index>(chunks), chunks > 16, [&](Index c) {
      std::uint32_t w[kGroupsPerChunk * kPerGroup];
      const std::uint64_t g0 = gBegin + static_cast<std::uint64_t>(c) * kGroupsPerChunk;
      const std::uint64_t g1 = std::min(gEnd, g0 + kGroupsPerChunk);
      recdiff::detail::philoxGroups(key, first + g0 * kLanes, stream, g1 - g0, w);
      // Elements [begin, end) of the draw, clipped to the wanted range; w starts at element g0·kPerGroup.
      const std::uint64_t begin = std::max(e0, g0 * kPerGroup), end = std::min(e0 + n, g1 * kPerGroup);
      // Local copies: read through the lambda's references, scale and threshold could alias the mask stores,
      // and the loop would stay scalar with a branch per element (6% of a DiffuRec training step).
      const Scalar s = scale;
      const std::uint32_t th = threshold;
      Scalar* const o = out + (begin - e0);
      const std::uint32_t* const wk = w + (begin - g0 * kPerGroup);
      const auto m = static_cast<std::ptrdiff_t>(end - begin);
      for (std::ptrdiff_t k = 0; k < m; ++k) o[k] = wk[k] >= th ? s : Scalar(0);
    });
  }

  double p_;
  Rng rng_;
  std::uint32_t threshold_ = 0;
  bool training_ = true;
  bool active_ = false;
  Index shardFirst_ = 0;
  Index shardRows_ = -1;  ///< < 0: no shard pending (setRowShard)
  Matrix mask_;
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_DROPOUT_HPP
