#ifndef RECDIFF_TIMESTEPS_LOSS_SECOND_MOMENT_SAMPLER_HPP
#define RECDIFF_TIMESTEPS_LOSS_SECOND_MOMENT_SAMPLER_HPP

/// \file loss_second_moment_sampler.hpp
/// Loss-aware importance sampling of timesteps (Nichol & Dhariwal 2021, Sec. 3.3; DiffRec, DiffuRec).

#include <string_view>

#include "sample_from_weights.hpp"

namespace recdiff {

/// Importance-samples t with p(t) proportional to sqrt(E[L_t^2]) over the last `history` losses seen at t,
/// mixed with a uniform share: p = (1 - uniformMix) · rms / sum(rms) + uniformMix / T. Until every step has
/// a full history it samples uniformly (weights all 1). (DiffuRec's LossSecondMomentResampler, DiffRec's
/// `sample_timesteps(..., 'importance')`.) If every stored loss is 0 the weights fall back to uniform
/// rather than dividing by zero.
///
/// Stateful: the loss history lives here, so the sampler belongs to the trainer, not to the diffusion.
/// Satisfies: TimestepSampler (docs/concepts.md#timestepsampler), with the update hook.
class LossSecondMomentSampler {
 public:
  static constexpr std::string_view kName = "lossaware";

  explicit LossSecondMomentSampler(Index steps, Index history = 10, double uniformMix = 1e-3)
      : history_(steps > 0 && history > 0 ? steps : 0, history > 0 ? history : 0),
        counts_(Eigen::ArrayXi::Zero(steps > 0 ? steps : 0)),
        uniformMix_(uniformMix) {
    RECDIFF_REQUIRE(steps > 0, "LossSecondMomentSampler: steps must be positive, got steps = ", steps);
    RECDIFF_REQUIRE(history > 0, "LossSecondMomentSampler: history must be positive, got history = ", history);
    RECDIFF_REQUIRE(uniformMix >= 0.0 && uniformMix <= 1.0,
                    "LossSecondMomentSampler: uniformMix must lie in [0, 1], got uniformMix = ", uniformMix);
    history_.setZero();
    refresh();
  }

  Index steps() const noexcept { return history_.rows(); }
  Index historyLength() const noexcept { return history_.cols(); }
  double uniformMix() const noexcept { return uniformMix_; }

  /// True once every step holds `history` losses.
  bool warmedUp() const { return (counts_ == static_cast<int>(history_.cols())).all(); }

  /// Sampling weights [steps]: all 1 until warm, then the mixed probabilities above (summing to 1).
  const Eigen::ArrayXd& weights() const noexcept { return weights_; }

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

  /// Records one loss per timestep, in order: a step with a full history drops its oldest loss.
  /// t, losses: [n], any integer and floating-point Eigen arrays or vectors. Throws on a length mismatch
  /// or a t outside [0, steps) before recording anything.
  template <class T, class Losses>
  void update(const Eigen::DenseBase<T>& t, const Eigen::DenseBase<Losses>& losses) {
    RECDIFF_REQUIRE(t.size() == losses.size(), "LossSecondMomentSampler::update(): t has ", t.size(),
                    " entries but losses has ", losses.size());
    for (Index i = 0; i < t.size(); ++i) {
      const auto ti = static_cast<Index>(t.derived().coeff(i));
      RECDIFF_REQUIRE(ti >= 0 && ti < steps(), "LossSecondMomentSampler::update(): t[", i, "] = ", ti,
                      " is outside [0, ", steps(), ")");
    }
    const Index h = history_.cols();
    for (Index i = 0; i < t.size(); ++i) {
      const auto ti = static_cast<Index>(t.derived().coeff(i));
      const double loss = static_cast<double>(losses.derived().coeff(i));
      if (counts_(ti) == h) {
        for (Index k = 0; k + 1 < h; ++k) history_(ti, k) = history_(ti, k + 1);
        history_(ti, h - 1) = loss;
      } else {
        history_(ti, counts_(ti)) = loss;
        ++counts_(ti);
      }
    }
    refresh();
  }

  /// The loss history [steps × history] (oldest first) and the fill count per step [steps], for
  /// checkpoints and for synchronising ranks.
  const Eigen::ArrayXXd& lossHistory() const noexcept { return history_; }
  const Eigen::ArrayXi& counts() const noexcept { return counts_; }

  /// Saves or loads the loss history and the fill counts through a state archive (io/state_archive.hpp); the
  /// weights are recomputed after loading.
  template <class Archive>
  void serializeState(Archive& ar) {
    ar("loss_history", history_);
    ar("counts", counts_);
    if (ar.loading()) {
      RECDIFF_REQUIRE((counts_ >= 0).all() && (counts_ <= static_cast<int>(history_.cols())).all(),
                      "LossSecondMomentSampler: a loaded fill count lies outside [0, ", history_.cols(), "]");
      refresh();
    }
  }

 private:
  /// Recomputes the weights and their running sums from the history (no allocation after construction).
  void refresh() {
    weights_.resize(steps());
    weights_.setOnes();
    if (warmedUp()) {
      for (Index i = 0; i < steps(); ++i) weights_(i) = std::sqrt(history_.row(i).square().mean());
      const double total = weights_.sum();
      if (total > 0.0) {
        weights_ /= total;
        weights_ *= 1.0 - uniformMix_;
        weights_ += uniformMix_ / static_cast<double>(steps());
      } else {
        weights_.setOnes();
      }
    }
    cumulativeWeights(weights_, cdf_);
  }

  Eigen::ArrayXXd history_;
  Eigen::ArrayXi counts_;
  double uniformMix_;
  Eigen::ArrayXd weights_;
  std::vector<double> cdf_;
};

}  // namespace recdiff

#endif  // RECDIFF_TIMESTEPS_LOSS_SECOND_MOMENT_SAMPLER_HPP
