#ifndef RECDIFF_SCHEDULES_SQRT_SCHEDULE_HPP
#define RECDIFF_SCHEDULES_SQRT_SCHEDULE_HPP

/// \file sqrt_schedule.hpp
/// The sqrt schedule of Diffusion-LM (Li et al. 2022), used by DiffuRec and DreamRec.

#include <cmath>
#include <string_view>

#include "beta_helpers.hpp"

namespace recdiff {

/// Sqrt noise schedule: alphaBar(u) = 1 - sqrt(u + s), s = 1e-4 (Li et al. 2022, Diffusion-LM, Sec. 4.2),
///   beta_t = min(1 - alphaBar((t+1)/T) / alphaBar(t/T), maxBeta).
/// alphaBar turns negative just before u = 1, so the last beta is always maxBeta.
///
/// Satisfies: Schedule (docs/concepts.md#schedule).
class SqrtSchedule {
 public:
  static constexpr std::string_view kName = "sqrt";

  struct Options {
    double offset = 1e-4;    ///< s; in [0, 1)
    double maxBeta = 0.999;  ///< upper clip, in (0, 1]
  };

  SqrtSchedule() : SqrtSchedule(Options{}) {}

  explicit SqrtSchedule(Options options) : options_(options) {
    constexpr std::string_view who = "SqrtSchedule";
    detail::requireFinite(who, "offset", options_.offset);
    detail::requireFinite(who, "maxBeta", options_.maxBeta);
    RECDIFF_REQUIRE(options_.offset >= 0.0 && options_.offset < 1.0, who,
                    ": offset must lie in [0, 1), got offset = ", options_.offset);
    RECDIFF_REQUIRE(options_.maxBeta > 0.0 && options_.maxBeta <= 1.0, who,
                    ": maxBeta must lie in (0, 1], got maxBeta = ", options_.maxBeta);
  }

  /// Betas for t = 0 .. steps-1 [steps].
  Eigen::ArrayXd betas(Index steps) const {
    detail::requirePositiveSteps("SqrtSchedule", steps);
    const double s = options_.offset;
    return detail::checkBetas("SqrtSchedule",
                              betasFromAlphaBar(steps, [s](double u) { return 1.0 - std::sqrt(u + s); },
                                                options_.maxBeta));
  }

  const Options& options() const noexcept { return options_; }

 private:
  Options options_;
};

}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_SQRT_SCHEDULE_HPP
