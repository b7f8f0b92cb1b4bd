#ifndef RECDIFF_TIMESTEPS_UNIFORM_TIMESTEP_SAMPLER_HPP
#define RECDIFF_TIMESTEPS_UNIFORM_TIMESTEP_SAMPLER_HPP

/// \file uniform_timestep_sampler.hpp
/// Uniform training timesteps (Ho et al. 2020, Algorithm 1).

#include <string_view>

#include "../random/rng.hpp"
#include "timestep_batch.hpp"

namespace recdiff {

/// t ~ U{0, ..., T-1}, every importance weight 1 (DiffuRec's UniformSampler, DiffRec's 'uniform').
///
/// Satisfies: TimestepSampler (docs/concepts.md#timestepsampler), without the update hook.
class UniformTimestepSampler {
 public:
  static constexpr std::string_view kName = "uniform";

  explicit UniformTimestepSampler(Index steps) : steps_(steps) {
    RECDIFF_REQUIRE(steps > 0, "UniformTimestepSampler: steps must be positive, got steps = ", steps);
  }

  Index steps() const noexcept { return steps_; }

  /// All ones [steps].
  Eigen::ArrayXd weights() const { return Eigen::ArrayXd::Ones(steps_); }

  /// `batch` timesteps, one uniformIndex draw each; weights all 1.
  template <class Scalar>
  TimestepBatch<Scalar> sample(Index batch, Rng& rng) const {
    TimestepBatch<Scalar> out;
    sampleInto(batch, rng, out);
    return out;
  }

  /// As sample(), into `out` (allocation-free once it holds `batch` entries).
  template <class Scalar>
  void sampleInto(Index batch, Rng& rng, TimestepBatch<Scalar>& out) const {
    RECDIFF_REQUIRE(batch >= 0, "UniformTimestepSampler::sample(): batch must be non-negative, got batch = ", batch);
    out.t.resize(batch);
    for (Index b = 0; b < batch; ++b) out.t(b) = static_cast<int>(rng.uniformIndex(steps_));
    out.weights.resize(batch);
    out.weights.setOnes();
  }

 private:
  Index steps_;
};

}  // namespace recdiff

#endif  // RECDIFF_TIMESTEPS_UNIFORM_TIMESTEP_SAMPLER_HPP
