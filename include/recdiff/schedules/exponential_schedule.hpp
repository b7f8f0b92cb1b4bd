#ifndef RECDIFF_SCHEDULES_EXPONENTIAL_SCHEDULE_HPP
#define RECDIFF_SCHEDULES_EXPONENTIAL_SCHEDULE_HPP

/// \file exponential_schedule.hpp
/// DreamRec's `exp` schedule (its default): the discretised variance-preserving SDE.

#include <cmath>
#include <string_view>

#include "beta_helpers.hpp"

namespace recdiff {

/// Exponential (VP-SDE) schedule: with x = linspace(1, 2T + 1, T),
///   beta_i = 1 - exp(-betaMin / T - x_i (betaMax - betaMin) / (2 T^2)).
/// This is the exact one-step transition of the VP-SDE with beta(s) = betaMin + s (betaMax - betaMin)
/// (Song et al. 2021, Eq. 32) over intervals of length 1/T. (DreamRec, Yang et al. 2023, `exp_beta_schedule`;
/// the reference evaluates it in float32, we in double.)
///
/// Satisfies: Schedule (docs/concepts.md#schedule).
class ExponentialSchedule {
 public:
  static constexpr std::string_view kName = "exp";

  struct Options {
    double betaMin = 0.1;  ///< beta(0) of the SDE; > 0
    double betaMax = 10;   ///< beta(1) of the SDE; >= betaMin
  };

  ExponentialSchedule() : ExponentialSchedule(Options{}) {}

  explicit ExponentialSchedule(Options options) : options_(options) {
    constexpr std::string_view who = "ExponentialSchedule";
    detail::requireFinite(who, "betaMin", options_.betaMin);
    detail::requireFinite(who, "betaMax", options_.betaMax);
    RECDIFF_REQUIRE(options_.betaMin > 0.0, who, ": betaMin must be positive, got betaMin = ", options_.betaMin);
    RECDIFF_REQUIRE(options_.betaMin <= options_.betaMax, who, ": betaMin must not exceed betaMax, got betaMin = ",
                    options_.betaMin, " and betaMax = ", options_.betaMax);
  }

  /// Betas for t = 0 .. steps-1 [steps].
  Eigen::ArrayXd betas(Index steps) const {
    detail::requirePositiveSteps("ExponentialSchedule", steps);
    const double n = static_cast<double>(steps);
    const Eigen::ArrayXd x = linspace(1.0, 2.0 * n + 1.0, steps);
    Eigen::ArrayXd betas(steps);
    for (Index i = 0; i < steps; ++i)
      betas(i) = 1.0 - std::exp(-options_.betaMin / n - x(i) * 0.5 * (options_.betaMax - options_.betaMin) / (n * n));
    return detail::checkBetas("ExponentialSchedule", std::move(betas));
  }

  const Options& options() const noexcept { return options_; }

 private:
  Options options_;
};

}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_EXPONENTIAL_SCHEDULE_HPP
