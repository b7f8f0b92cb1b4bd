#ifndef RECDIFF_NN_DROPOUT_HPP
#define RECDIFF_NN_DROPOUT_HPP

/// \file dropout.hpp
/// Inverted dropout (Srivastava et al. 2014, as torch.nn.Dropout): in training, every element is kept with
/// probability 1 − p and scaled by 1/(1 − p); in evaluation the layer is the identity.

#include <cmath>
#include <cstdint>

#include <Eigen/Core>

#include "../error.hpp"
#include "../random.hpp"
#include "../types.hpp"
#include "parameters.hpp"

namespace recdiff::nn {

/// Inverted dropout with its own seeded generator. x, y: [batch × dim].
///
/// The mask of one forward() call is drawn from a block of Philox counters reserved on the layer's Rng:
/// element i of the batch keeps its value iff Philox word i ≥ ⌈p·2³²⌉. The draw therefore depends only on
/// (seed, stream, call number), not on threads. backward() reuses the mask of the last forward().
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
    // Keep iff word >= threshold_; P(keep) = 1 − threshold_ / 2³², i.e. 1 − p rounded to 2⁻³².
    threshold_ = static_cast<std::uint64_t>(std::ceil(p * 4294967296.0));
  }

  double probability() const noexcept { return p_; }
  Index parameterCount() const noexcept { return 0; }
  void bind(ParameterSlice<Scalar>, ParameterSlice<Scalar>) noexcept {}

  void setTraining(bool training) noexcept { training_ = training; }
  bool training() const noexcept { return training_; }

  /// Replaces the generator (e.g. to make a run reproducible from a new seed).
  void reseed(Rng rng) noexcept { rng_ = rng; }
  const Rng& rng() const noexcept { return rng_; }

  /// Training: y = x ⊙ m / (1 − p) with a fresh mask m; evaluation or p = 0: y = x. y may alias x.
  void forward(const Matrix& x, Matrix& y) {
    active_ = training_ && p_ > 0.0;
    if (!active_) {
      if (&y != &x) y = x;
      return;
    }
    drawMask(x.rows(), x.cols());
    y.resize(x.rows(), x.cols());
    y.array() = x.array() * mask_.array();
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
    dx.array() = dy.array() * mask_.array();
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

 private:
  void drawMask(Index rows, Index cols) {
    mask_.resize(rows, cols);
    const auto n = static_cast<std::uint64_t>(mask_.size());
    const std::uint64_t first = rng_.reserveBlocks((n + 3) / 4);
    const random::PhiloxKey key = random::philoxKey(rng_.seed());
    const std::uint64_t stream = rng_.stream();
    const Scalar scale = static_cast<Scalar>(1.0 / (1.0 - p_));
    const std::uint64_t threshold = threshold_;
    Scalar* out = mask_.data();
    const auto blocks = static_cast<std::int64_t>((n + 3) / 4);
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (blocks > 16384)
#endif
    for (std::int64_t b = 0; b < blocks; ++b) {
      const random::PhiloxCounter w =
          random::philox4x32(random::philoxCounter(first + static_cast<std::uint64_t>(b), stream), key);
      const std::uint64_t base = static_cast<std::uint64_t>(b) * 4;
      for (std::uint64_t j = 0; j < 4 && base + j < n; ++j)
        out[base + j] = static_cast<std::uint64_t>(w[j]) >= threshold ? scale : Scalar(0);
    }
  }

  double p_;
  Rng rng_;
  std::uint64_t threshold_ = 0;
  bool training_ = true;
  bool active_ = false;
  Matrix mask_;
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_DROPOUT_HPP
