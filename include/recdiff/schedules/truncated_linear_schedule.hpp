#ifndef RECDIFF_SCHEDULES_TRUNCATED_LINEAR_SCHEDULE_HPP
#define RECDIFF_SCHEDULES_TRUNCATED_LINEAR_SCHEDULE_HPP

/// \file truncated_linear_schedule.hpp
/// DiffuRec's `trunc_lin` (its default): the Ho et al. linear schedule lifted by a constant 0.01.

#include <string_view>

#include "beta_helpers.hpp"

namespace recdiff {

/// Truncated linear schedule: with scale = 1000/T,
///   beta_t = linspace(scale · 1e-4 + 0.01, end, T)_t,  end = scale · 0.02 + 0.01,
/// and, as in the reference, end = scale · 0.001 + 0.01 when the former exceeds 1 (T < 20.2).
/// (DiffuRec, Li et al. 2023, `get_named_beta_schedule("trunc_lin")`; the paper's default with T = 32.)
///
/// Satisfies: Schedule (docs/concepts.md#schedule).
class TruncatedLinearSchedule {
 public:
  static constexpr std::string_view kName = "trunc_lin";

  /// Betas for t = 0 .. steps-1 [steps] (valid for every T >= 1: the fallback end is below 1 from T = 2 on).
  Eigen::ArrayXd betas(Index steps) const {
    detail::requirePositiveSteps("TruncatedLinearSchedule", steps);
    const double scale = 1000.0 / static_cast<double>(steps);
    const double start = scale * 0.0001 + 0.01;
    double end = scale * 0.02 + 0.01;
    if (end > 1.0) end = scale * 0.001 + 0.01;
    return detail::checkBetas("TruncatedLinearSchedule", linspace(start, end, steps));
  }
};

}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_TRUNCATED_LINEAR_SCHEDULE_HPP
