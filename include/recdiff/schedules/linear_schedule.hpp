#ifndef RECDIFF_SCHEDULES_LINEAR_SCHEDULE_HPP
#define RECDIFF_SCHEDULES_LINEAR_SCHEDULE_HPP

/// \file linear_schedule.hpp
/// The linear beta schedule of Ho et al. 2020 (Sec. 4), in the two spellings the references use.

#include <optional>
#include <string_view>

#include "beta_helpers.hpp"

namespace recdiff {

/// Linear betas: beta_t = linspace(scale · noiseMin, scale · noiseMax, T)_t.
///
/// DiffRec's `linear` takes the scale from `noise_scale`; DiffuRec's (and guided-diffusion's) `linear` is
/// the same function with scale = 1000/T, noiseMin = 1e-4, noiseMax = 0.02 (Ho et al. 2020 extended to any
/// T), which is what an unset `noiseScale` means. DreamRec's `linear` is noiseScale = 1.
///
/// Satisfies: Schedule (docs/concepts.md#schedule).
///
/// Usage:
///   LinearSchedule ho;                                        // DiffuRec: 1000/T · [1e-4, 0.02]
///   LinearSchedule diffrec({.noiseScale = 0.1, .noiseMin = 1e-4, .noiseMax = 0.02});
class LinearSchedule {
 public:
  static constexpr std::string_view kName = "linear";

  struct Options {
    std::optional<double> noiseScale;  ///< unset: 1000 / steps (Ho et al.); must be > 0
    double noiseMin = 1e-4;            ///< first beta before scaling
    double noiseMax = 0.02;            ///< last beta before scaling; >= noiseMin
  };

  LinearSchedule() : LinearSchedule(Options{}) {}

  explicit LinearSchedule(Options options) : options_(options) {
    constexpr std::string_view who = "LinearSchedule";
    if (options_.noiseScale) {
      detail::requireFinite(who, "noiseScale", *options_.noiseScale);
      RECDIFF_REQUIRE(*options_.noiseScale > 0.0, who, ": noiseScale must be positive, got noiseScale = ",
                      *options_.noiseScale);
    }
    detail::requireFinite(who, "noiseMin", options_.noiseMin);
    detail::requireFinite(who, "noiseMax", options_.noiseMax);
    RECDIFF_REQUIRE(options_.noiseMin >= 0.0, who, ": noiseMin must be non-negative, got noiseMin = ",
                    options_.noiseMin);
    RECDIFF_REQUIRE(options_.noiseMin <= options_.noiseMax, who, ": noiseMin must not exceed noiseMax, got noiseMin = ",
                    options_.noiseMin, " and noiseMax = ", options_.noiseMax);
  }

  /// Betas for t = 0 .. steps-1 [steps]; throws if steps <= 0 or a beta leaves (0, 1].
  Eigen::ArrayXd betas(Index steps) const {
    detail::requirePositiveSteps("LinearSchedule", steps);
    const double scale = options_.noiseScale ? *options_.noiseScale : 1000.0 / static_cast<double>(steps);
    return detail::checkBetas("LinearSchedule",
                              linspace(scale * options_.noiseMin, scale * options_.noiseMax, steps));
  }

  const Options& options() const noexcept { return options_; }

 private:
  Options options_;
};

}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_LINEAR_SCHEDULE_HPP
