#ifndef RECDIFF_SCHEDULES_BINOMIAL_SCHEDULE_HPP
#define RECDIFF_SCHEDULES_BINOMIAL_SCHEDULE_HPP

/// \file binomial_schedule.hpp
/// DiffRec's `binomial` schedule, from Sohl-Dickstein et al. 2015.

#include <string_view>

#include "beta_helpers.hpp"

namespace recdiff {

/// Binomial schedule: beta_t = 1 / (T - t + 1), t = 0 .. T-1 (Sohl-Dickstein et al. 2015, Sec. 2.4.1;
/// DiffRec's `noise_schedule == "binomial"`). The last beta is 1/2.
///
/// Satisfies: Schedule (docs/concepts.md#schedule).
class BinomialSchedule {
 public:
  static constexpr std::string_view kName = "binomial";

  /// Betas for t = 0 .. steps-1 [steps].
  Eigen::ArrayXd betas(Index steps) const {
    detail::requirePositiveSteps("BinomialSchedule", steps);
    Eigen::ArrayXd betas(steps);
    for (Index t = 0; t < steps; ++t) betas(t) = 1.0 / static_cast<double>(steps - t + 1);
    return betas;
  }
};

}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_BINOMIAL_SCHEDULE_HPP
