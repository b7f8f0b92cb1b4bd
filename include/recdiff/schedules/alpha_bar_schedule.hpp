#ifndef RECDIFF_SCHEDULES_ALPHA_BAR_SCHEDULE_HPP
#define RECDIFF_SCHEDULES_ALPHA_BAR_SCHEDULE_HPP

/// \file alpha_bar_schedule.hpp
/// A schedule from any user alphaBar function of u in [0, 1].

#include <concepts>
#include <string_view>
#include <utility>

#include "beta_helpers.hpp"

namespace recdiff {

/// How AlphaBarSchedule turns alphaBar(u) into betas.
enum class AlphaBarGrid {
  Standard,  ///< beta_t = 1 - alphaBar((t+1)/T) / alphaBar(t/T)       (betasFromAlphaBar)
  Left,      ///< beta_0 = 1 - alphaBar(0), then the standard ratios shifted by one (betasFromAlphaBarLeft)
};

/// Schedule from a user alphaBar function, capped at maxBeta (Nichol & Dhariwal 2021, Eq. 17).
/// \tparam AlphaBar callable double(double), decreasing on [0, 1] with alphaBar(0) <= 1.
///
/// Satisfies: Schedule (docs/concepts.md#schedule).
///
/// Usage:
///   AlphaBarSchedule s([](double u) { return 1.0 - u * u; }, {.maxBeta = 0.99});
template <class AlphaBar>
  requires std::regular_invocable<const AlphaBar&, double>
class AlphaBarSchedule {
 public:
  static constexpr std::string_view kName = "alpha-bar";

  struct Options {
    double maxBeta = 0.999;                  ///< cap on every beta, in (0, 1]
    AlphaBarGrid grid = AlphaBarGrid::Standard;
  };

  explicit AlphaBarSchedule(AlphaBar alphaBar) : AlphaBarSchedule(std::move(alphaBar), Options{}) {}

  AlphaBarSchedule(AlphaBar alphaBar, Options options) : alphaBar_(std::move(alphaBar)), options_(options) {
    detail::requireFinite("AlphaBarSchedule", "maxBeta", options_.maxBeta);
    RECDIFF_REQUIRE(options_.maxBeta > 0.0 && options_.maxBeta <= 1.0,
                    "AlphaBarSchedule: maxBeta must lie in (0, 1], got maxBeta = ", options_.maxBeta);
  }

  /// Betas for t = 0 .. steps-1 [steps]; throws if one leaves (0, 1] (e.g. an increasing alphaBar).
  Eigen::ArrayXd betas(Index steps) const {
    detail::requirePositiveSteps("AlphaBarSchedule", steps);
    const auto f = [this](double u) { return static_cast<double>(alphaBar_(u)); };
    return detail::checkBetas("AlphaBarSchedule", options_.grid == AlphaBarGrid::Left
                                                      ? betasFromAlphaBarLeft(steps, f, options_.maxBeta)
                                                      : betasFromAlphaBar(steps, f, options_.maxBeta));
  }

  const Options& options() const noexcept { return options_; }
  const AlphaBar& alphaBar() const noexcept { return alphaBar_; }

 private:
  AlphaBar alphaBar_;
  Options options_;
};

}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_ALPHA_BAR_SCHEDULE_HPP
