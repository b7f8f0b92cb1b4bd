#ifndef RECDIFF_SCHEDULES_LINEAR_VARIANCE_SCHEDULE_HPP
#define RECDIFF_SCHEDULES_LINEAR_VARIANCE_SCHEDULE_HPP

/// \file linear_variance_schedule.hpp
/// DiffRec's `linear-var` schedule: the cumulative noise variance, not beta, grows linearly.

#include <string_view>

#include "beta_helpers.hpp"

namespace recdiff {

/// Betas whose cumulative variance 1 - alphaBar_t is linear in t (Wang et al. 2023, DiffRec Sec. 3.4):
///   v = linspace(noiseScale · noiseMin, noiseScale · noiseMax, T),
///   beta_0 = v_0,  beta_t = min(1 - (1 - v_t) / (1 - v_{t-1}), maxBeta).
/// DiffRec then fixes beta_0 to 1e-5: compose with FixedFirstBeta (see diffRecSchedule()).
///
/// Satisfies: Schedule (docs/concepts.md#schedule).
///
/// Usage: LinearVarianceSchedule s({.noiseScale = 0.005, .noiseMin = 0.005, .noiseMax = 0.01});
class LinearVarianceSchedule {
 public:
  static constexpr std::string_view kName = "linear-var";

  struct Options {
    double noiseScale = 0.1;  ///< DiffRec's --noise_scale; > 0
    double noiseMin = 1e-4;   ///< DiffRec's --noise_min; >= 0
    double noiseMax = 0.02;   ///< DiffRec's --noise_max; >= noiseMin
    double maxBeta = 0.999;   ///< cap on each beta after the first
  };

  LinearVarianceSchedule() : LinearVarianceSchedule(Options{}) {}

  explicit LinearVarianceSchedule(Options options) : options_(options) {
    constexpr std::string_view who = "LinearVarianceSchedule";
    detail::requireFinite(who, "noiseScale", options_.noiseScale);
    detail::requireFinite(who, "noiseMin", options_.noiseMin);
    detail::requireFinite(who, "noiseMax", options_.noiseMax);
    RECDIFF_REQUIRE(options_.noiseScale > 0.0, who, ": noiseScale must be positive, got noiseScale = ",
                    options_.noiseScale);
    RECDIFF_REQUIRE(options_.noiseMin >= 0.0, who, ": noiseMin must be non-negative, got noiseMin = ",
                    options_.noiseMin);
    RECDIFF_REQUIRE(options_.noiseMin <= options_.noiseMax, who, ": noiseMin must not exceed noiseMax, got noiseMin = ",
                    options_.noiseMin, " and noiseMax = ", options_.noiseMax);
    RECDIFF_REQUIRE(options_.maxBeta > 0.0 && options_.maxBeta <= 1.0, who,
                    ": maxBeta must lie in (0, 1], got maxBeta = ", options_.maxBeta);
  }

  /// Betas for t = 0 .. steps-1 [steps].
  Eigen::ArrayXd betas(Index steps) const {
    detail::requirePositiveSteps("LinearVarianceSchedule", steps);
    const Eigen::ArrayXd variance =
        linspace(options_.noiseScale * options_.noiseMin, options_.noiseScale * options_.noiseMax, steps);
    return detail::checkBetas("LinearVarianceSchedule", betasFromLinearVariance(variance, options_.maxBeta));
  }

  const Options& options() const noexcept { return options_; }

 private:
  Options options_;
};

}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_LINEAR_VARIANCE_SCHEDULE_HPP
