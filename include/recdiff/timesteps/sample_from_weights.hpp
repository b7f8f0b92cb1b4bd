#ifndef RECDIFF_TIMESTEPS_SAMPLE_FROM_WEIGHTS_HPP
#define RECDIFF_TIMESTEPS_SAMPLE_FROM_WEIGHTS_HPP

/// \file sample_from_weights.hpp
/// Importance sampling of timesteps from unnormalised weights, shared by every timestep sampler.

#include <algorithm>
#include <cmath>
#include <vector>

#include <Eigen/Core>

#include "../error.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "timestep_batch.hpp"

namespace recdiff {

/// The running sums of `weights` into `cdf` (resized to weights.size(); no allocation once it has that size).
/// Throws if a weight is negative or not finite, or all are zero. Returns the total.
inline double cumulativeWeights(const Eigen::ArrayXd& weights, std::vector<double>& cdf) {
  const Index steps = weights.size();
  RECDIFF_REQUIRE(steps > 0, "sampleFromWeights(): weights must not be empty");
  cdf.resize(static_cast<std::size_t>(steps));
  double total = 0.0;
  for (Index i = 0; i < steps; ++i) {
    RECDIFF_REQUIRE(std::isfinite(weights(i)) && weights(i) >= 0.0, "sampleFromWeights(): weight[", i,
                    "] = ", weights(i), " must be finite and non-negative");
    total += weights(i);
    cdf[static_cast<std::size_t>(i)] = total;
  }
  RECDIFF_REQUIRE(total > 0.0, "sampleFromWeights(): all weights are zero");
  return total;
}

/// Draws `batch` timesteps into `out` given the weights and their running sums (cumulativeWeights()); one
/// uniform per draw, from `rng`. Allocation-free once `out` holds `batch` entries.
template <class Scalar>
void sampleFromCumulative(const Eigen::ArrayXd& weights, const std::vector<double>& cdf, Index batch, Rng& rng,
                          TimestepBatch<Scalar>& out) {
  RECDIFF_REQUIRE(batch >= 0, "sampleFromWeights(): batch must be non-negative, got batch = ", batch);
  RECDIFF_ASSERT(!cdf.empty() && static_cast<Index>(cdf.size()) == weights.size());
  const double total = cdf.back();
  out.t.resize(batch);
  out.weights.resize(batch);
  const double n = static_cast<double>(weights.size());
  for (Index b = 0; b < batch; ++b) {
    const double u = rng.uniform() * total;
    auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
    if (it == cdf.end()) --it;  // u rounds up to total: take the last step
    Index t = static_cast<Index>(it - cdf.begin());
    while (weights(t) == 0.0) --t;  // never land on a zero-probability step (only possible via rounding)
    out.t(b) = static_cast<int>(t);
    out.weights(b) = static_cast<Scalar>(total / (n * weights(t)));
  }
}

/// Draws `batch` timesteps with p(t) = w_t / sum(w) and returns them with the importance weights
/// 1 / (T · p(t)), which make E[weight · f(t)] the uniform average of f (DiffuRec's ScheduleSampler.sample;
/// the categorical draw inverts the cumulative sum, as numpy.random.choice does). One uniform per draw,
/// from `rng`. Throws if a weight is negative or not finite, or all are zero.
template <class Scalar>
TimestepBatch<Scalar> sampleFromWeights(const Eigen::ArrayXd& weights, Index batch, Rng& rng) {
  RECDIFF_REQUIRE(batch >= 0, "sampleFromWeights(): batch must be non-negative, got batch = ", batch);
  std::vector<double> cdf;
  cumulativeWeights(weights, cdf);
  TimestepBatch<Scalar> out;
  sampleFromCumulative(weights, cdf, batch, rng, out);
  return out;
}

}  // namespace recdiff

#endif  // RECDIFF_TIMESTEPS_SAMPLE_FROM_WEIGHTS_HPP
