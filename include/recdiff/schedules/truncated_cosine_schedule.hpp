#ifndef RECDIFF_SCHEDULES_TRUNCATED_COSINE_SCHEDULE_HPP
#define RECDIFF_SCHEDULES_TRUNCATED_COSINE_SCHEDULE_HPP

/// \file truncated_cosine_schedule.hpp
/// DiffuRec's `trunc_cos`: a cosine alphaBar with a large offset, discretised on the left grid.

#include <cmath>
#include <string_view>

#include "beta_helpers.hpp"

namespace recdiff {

/// Truncated cosine schedule: alphaBar(u) = cos^2((u + s) / (1 + s) · pi/2) with s = 0.1, discretised by
/// betasFromAlphaBarLeft (beta_0 = 1 - alphaBar(0), then the ratios on the grid shifted left by one step).
/// (DiffuRec, Li et al. 2023, `get_named_beta_schedule("trunc_cos")`.)
///
/// Satisfies: Schedule (docs/concepts.md#schedule).
class TruncatedCosineSchedule {
 public:
  static constexpr std::string_view kName = "trunc_cos";

  struct Options {
    double offset = 0.1;     ///< s; >= 0
    double maxBeta = 0.999;  ///< upper clip, in (0, 1]
  };

  TruncatedCosineSchedule() : TruncatedCosineSchedule(Options{}) {}

  explicit TruncatedCosineSchedule(Options options) : options_(options) {
    constexpr std::string_view who = "TruncatedCosineSchedule";
    detail::requireFinite(who, "offset", options_.offset);
    detail::requireFinite(who, "maxBeta", options_.maxBeta);
    RECDIFF_REQUIRE(options_.offset > 0.0, who, ": offset must be positive, got offset = ", options_.offset);
    RECDIFF_REQUIRE(options_.maxBeta > 0.0 && options_.maxBeta <= 1.0, who,
                    ": maxBeta must lie in (0, 1], got maxBeta = ", options_.maxBeta);
  }

  /// Betas for t = 0 .. steps-1 [steps].
  Eigen::ArrayXd betas(Index steps) const {
    detail::requirePositiveSteps("TruncatedCosineSchedule", steps);
    const double s = options_.offset;
    const auto alphaBar = [s](double u) {
      const double c = std::cos((u + s) / (1.0 + s) * kPi / 2.0);
      return c * c;
    };
    return detail::checkBetas("TruncatedCosineSchedule", betasFromAlphaBarLeft(steps, alphaBar, options_.maxBeta));
  }

  const Options& options() const noexcept { return options_; }

 private:
  Options options_;
};

}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_TRUNCATED_COSINE_SCHEDULE_HPP
