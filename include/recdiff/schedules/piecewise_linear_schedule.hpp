#ifndef RECDIFF_SCHEDULES_PIECEWISE_LINEAR_SCHEDULE_HPP
#define RECDIFF_SCHEDULES_PIECEWISE_LINEAR_SCHEDULE_HPP

/// \file piecewise_linear_schedule.hpp
/// DiffuRec's `pw_lin`: ten steps falling from the truncated start, then the Ho et al. line.

#include <string_view>

#include "beta_helpers.hpp"

namespace recdiff {

/// Piecewise linear schedule: with scale = 1000/T,
///   betas[0..9]  = linspace(scale · 1e-4 + 0.01, scale · 1e-4, 10),
///   betas[10..]  = linspace(scale · 1e-4, scale · 0.02, T - 10).
/// (DiffuRec, Li et al. 2023, `get_named_beta_schedule("pw_lin")`.) Needs T > 10.
///
/// Satisfies: Schedule (docs/concepts.md#schedule).
class PiecewiseLinearSchedule {
 public:
  static constexpr std::string_view kName = "pw_lin";
  static constexpr Index kFirstPart = 10;  ///< length of the first, falling segment

  /// Betas for t = 0 .. steps-1 [steps]; throws unless steps > 10.
  Eigen::ArrayXd betas(Index steps) const {
    RECDIFF_REQUIRE(steps > kFirstPart, "PiecewiseLinearSchedule::betas(): steps must be greater than ", kFirstPart,
                    ", got steps = ", steps);
    const double scale = 1000.0 / static_cast<double>(steps);
    const double start = scale * 0.0001 + 0.01, mid = scale * 0.0001, end = scale * 0.02;
    Eigen::ArrayXd betas(steps);
    betas.head(kFirstPart) = linspace(start, mid, kFirstPart);
    betas.tail(steps - kFirstPart) = linspace(mid, end, steps - kFirstPart);
    return detail::checkBetas("PiecewiseLinearSchedule", std::move(betas));
  }
};

}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_PIECEWISE_LINEAR_SCHEDULE_HPP
