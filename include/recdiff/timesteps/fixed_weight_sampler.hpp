#ifndef RECDIFF_TIMESTEPS_FIXED_WEIGHT_SAMPLER_HPP
#define RECDIFF_TIMESTEPS_FIXED_WEIGHT_SAMPLER_HPP

/// \file fixed_weight_sampler.hpp
/// Timesteps drawn from fixed user weights (DiffuRec's `fixstep`).

#include <string_view>
#include <utility>

#include "sample_from_weights.hpp"

namespace recdiff {

/// p(t) proportional to fixed weights w_t (>= 0, not all zero, need not sum to 1); importance weights
/// 1 / (T · p(t)). The default reproduces DiffuRec's FixSampler: 1.0 for t < T/2 and 0.5 for the rest.
/// For odd T the reference returns only T-1 weights; here the middle step (t = (T-1)/2 < T/2) gets 1.0 and
/// the result always has T entries.
///
/// Satisfies: TimestepSampler (docs/concepts.md#timestepsampler), without the update hook.
class FixedWeightSampler {
 public:
  static constexpr std::string_view kName = "fixstep";

  /// The reference's half 1.0 / half 0.5 weights over `steps`.
  explicit FixedWeightSampler(Index steps) : FixedWeightSampler(defaultWeights(steps)) {}

  /// User weights [steps].
  explicit FixedWeightSampler(Eigen::ArrayXd weights) : weights_(std::move(weights)) {
    RECDIFF_REQUIRE(weights_.size() > 0, "FixedWeightSampler: weights must not be empty");
    for (Index i = 0; i < weights_.size(); ++i)
      RECDIFF_REQUIRE(std::isfinite(weights_(i)) && weights_(i) >= 0.0, "FixedWeightSampler: weight[", i, "] = ",
                      weights_(i), " must be finite and non-negative");
    RECDIFF_REQUIRE(weights_.sum() > 0.0, "FixedWeightSampler: all weights are zero");
    cumulativeWeights(weights_, cdf_);
  }

  Index steps() const noexcept { return weights_.size(); }
  Eigen::ArrayXd weights() const { return weights_; }

  template <class Scalar>
  TimestepBatch<Scalar> sample(Index batch, Rng& rng) const {
    TimestepBatch<Scalar> out;
    sampleInto(batch, rng, out);
    return out;
  }

  /// As sample(), into `out` (allocation-free once it holds `batch` entries).
  template <class Scalar>
  void sampleInto(Index batch, Rng& rng, TimestepBatch<Scalar>& out) const {
    sampleFromCumulative(weights_, cdf_, batch, rng, out);
  }

  /// DiffuRec's FixSampler weights, made correct for odd T: 1.0 where 2t < T, else 0.5.
  static Eigen::ArrayXd defaultWeights(Index steps) {
    RECDIFF_REQUIRE(steps > 0, "FixedWeightSampler: steps must be positive, got steps = ", steps);
    Eigen::ArrayXd w(steps);
    for (Index t = 0; t < steps; ++t) w(t) = 2 * t < steps ? 1.0 : 0.5;
    return w;
  }

 private:
  Eigen::ArrayXd weights_;
  std::vector<double> cdf_;
};

}  // namespace recdiff

#endif  // RECDIFF_TIMESTEPS_FIXED_WEIGHT_SAMPLER_HPP
