#ifndef RECDIFF_SCHEDULES_COSINE_SCHEDULE_HPP
#define RECDIFF_SCHEDULES_COSINE_SCHEDULE_HPP

/// \file cosine_schedule.hpp
/// The cosine schedule of Nichol & Dhariwal 2021, shared by DiffRec, DiffuRec and DreamRec.

#include <algorithm>
#include <cmath>
#include <string_view>

#include "beta_helpers.hpp"

namespace recdiff {

/// Cosine noise schedule: alphaBar(u) = cos^2((u + s) / (1 + s) · pi/2), u = t/T,
///   beta_t = clamp(1 - alphaBar((t+1)/T) / alphaBar(t/T), minBeta, maxBeta).
/// (Nichol & Dhariwal 2021, Eq. 17.) The defaults (s = 0.008, maxBeta = 0.999, no lower clip) are DiffRec's
/// and DiffuRec's; DreamRec clips to [1e-4, 0.9999] (CosineSchedule::dreamRec()). DreamRec normalises
/// alphaBar by alphaBar(0) first, which cancels in the ratio, and computes in float32; we compute in double.
///
/// Satisfies: Schedule (docs/concepts.md#schedule).
class CosineSchedule {
 public:
  static constexpr std::string_view kName = "cosine";

  struct Options {
    double offset = 0.008;   ///< s; >= 0
    double minBeta = 0.0;    ///< lower clip, in [0, maxBeta)
    double maxBeta = 0.999;  ///< upper clip, in (0, 1]
  };

  CosineSchedule() : CosineSchedule(Options{}) {}

  explicit CosineSchedule(Options options) : options_(options) {
    constexpr std::string_view who = "CosineSchedule";
    detail::requireFinite(who, "offset", options_.offset);
    detail::requireFinite(who, "minBeta", options_.minBeta);
    detail::requireFinite(who, "maxBeta", options_.maxBeta);
    RECDIFF_REQUIRE(options_.offset >= 0.0, who, ": offset must be non-negative, got offset = ", options_.offset);
    RECDIFF_REQUIRE(options_.maxBeta > 0.0 && options_.maxBeta <= 1.0, who,
                    ": maxBeta must lie in (0, 1], got maxBeta = ", options_.maxBeta);
    RECDIFF_REQUIRE(options_.minBeta >= 0.0 && options_.minBeta < options_.maxBeta, who,
                    ": minBeta must lie in [0, maxBeta), got minBeta = ", options_.minBeta);
  }

  /// DreamRec's variant: betas clipped to [1e-4, 0.9999].
  static CosineSchedule dreamRec() { return CosineSchedule(Options{.offset = 0.008, .minBeta = 1e-4, .maxBeta = 0.9999}); }

  /// Betas for t = 0 .. steps-1 [steps].
  Eigen::ArrayXd betas(Index steps) const {
    detail::requirePositiveSteps("CosineSchedule", steps);
    const double s = options_.offset;
    const auto alphaBar = [s](double u) {
      const double c = std::cos((u + s) / (1.0 + s) * kPi / 2.0);
      return c * c;
    };
    Eigen::ArrayXd betas = betasFromAlphaBar(steps, alphaBar, options_.maxBeta);
    if (options_.minBeta > 0.0) betas = betas.max(options_.minBeta);
    return detail::checkBetas("CosineSchedule", std::move(betas));
  }

  const Options& options() const noexcept { return options_; }

 private:
  Options options_;
};

}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_COSINE_SCHEDULE_HPP
