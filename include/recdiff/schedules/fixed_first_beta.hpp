#ifndef RECDIFF_SCHEDULES_FIXED_FIRST_BETA_HPP
#define RECDIFF_SCHEDULES_FIXED_FIRST_BETA_HPP

/// \file fixed_first_beta.hpp
/// A schedule decorator that overwrites beta_0, as DiffRec does with `beta_fixed=True`.

#include <string_view>
#include <utility>

#include "beta_helpers.hpp"

namespace recdiff {

/// Any schedule with its first beta replaced by a constant. DiffRec fixes beta_1 (our beta[0]) to 1e-5 for
/// every schedule "to prevent overfitting" (Sohl-Dickstein et al. 2015, Sec. 2.4.1); that is
/// FixedFirstBeta<S>(s, 1e-5), the default here and the DiffRec preset (diffRecSchedule()).
/// \tparam Inner any Schedule.
///
/// Satisfies: Schedule (docs/concepts.md#schedule).
template <class Inner>
class FixedFirstBeta {
 public:
  static constexpr double kDiffRecFirstBeta = 1e-5;

  explicit FixedFirstBeta(Inner inner, double firstBeta = kDiffRecFirstBeta)
      : inner_(std::move(inner)), firstBeta_(firstBeta) {
    RECDIFF_REQUIRE(firstBeta_ > 0.0 && firstBeta_ <= 1.0,
                    "FixedFirstBeta: firstBeta must lie in (0, 1], got firstBeta = ", firstBeta_);
  }

  /// The inner schedule's betas with betas[0] = firstBeta [steps].
  Eigen::ArrayXd betas(Index steps) const {
    Eigen::ArrayXd betas = inner_.betas(steps);
    betas(0) = firstBeta_;
    return betas;
  }

  const Inner& inner() const noexcept { return inner_; }
  double firstBeta() const noexcept { return firstBeta_; }

 private:
  Inner inner_;
  double firstBeta_;
};

}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_FIXED_FIRST_BETA_HPP
