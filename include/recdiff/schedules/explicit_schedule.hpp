#ifndef RECDIFF_SCHEDULES_EXPLICIT_SCHEDULE_HPP
#define RECDIFF_SCHEDULES_EXPLICIT_SCHEDULE_HPP

/// \file explicit_schedule.hpp
/// A schedule from betas the user gives.

#include <string_view>
#include <utility>

#include "beta_helpers.hpp"

namespace recdiff {

/// User-given betas (validated once: every beta in (0, 1], none NaN). betas(steps) requires steps to equal
/// their count.
///
/// Satisfies: Schedule (docs/concepts.md#schedule).
///
/// Usage: ExplicitSchedule s(Eigen::ArrayXd::Constant(10, 0.05));
class ExplicitSchedule {
 public:
  static constexpr std::string_view kName = "explicit";

  explicit ExplicitSchedule(Eigen::ArrayXd betas) : betas_(std::move(betas)) {
    RECDIFF_REQUIRE(betas_.size() > 0, "ExplicitSchedule: betas must not be empty");
    betas_ = detail::checkBetas("ExplicitSchedule", std::move(betas_));
  }

  /// The given betas [steps]; throws unless steps equals their count.
  Eigen::ArrayXd betas(Index steps) const {
    RECDIFF_REQUIRE(steps == betas_.size(), "ExplicitSchedule::betas(): holds ", betas_.size(),
                    " betas but steps = ", steps, " were requested");
    return betas_;
  }

  Index size() const noexcept { return betas_.size(); }

 private:
  Eigen::ArrayXd betas_;
};

}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_EXPLICIT_SCHEDULE_HPP
