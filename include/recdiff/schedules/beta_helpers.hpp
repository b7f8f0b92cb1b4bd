#ifndef RECDIFF_SCHEDULES_BETA_HELPERS_HPP
#define RECDIFF_SCHEDULES_BETA_HELPERS_HPP

/// \file beta_helpers.hpp
/// Building blocks shared by the noise schedules: NumPy-exact linspace, betas from an alphaBar function
/// (the standard and the "left" discretisation), betas from a linear variance, and the validation every
/// schedule applies to its output. All in double (STYLE.md 4.2).

#include <cmath>
#include <string_view>

#include <Eigen/Core>

#include "../error.hpp"
#include "../types.hpp"

namespace recdiff {

/// `num` evenly spaced values from `start` to `stop` inclusive, computed exactly as numpy.linspace does
/// (arange · step + start, last element set to `stop`), so that golden tables match to the last bits.
inline Eigen::ArrayXd linspace(double start, double stop, Index num) {
  RECDIFF_REQUIRE(num >= 0, "linspace(): num must be non-negative, got ", num);
  Eigen::ArrayXd y(num);
  if (num == 0) return y;
  const double div = static_cast<double>(num - 1);
  const double delta = stop - start;
  for (Index i = 0; i < num; ++i) y(i) = static_cast<double>(i);
  if (num > 1) {
    const double step = delta / div;
    if (step == 0.0) {
      y = y / div * delta;
    } else {
      y = y * step;
    }
  }
  y += start;
  if (num > 1) y(num - 1) = stop;
  return y;
}

/// Betas that discretise a continuous alphaBar(u), u in [0, 1]:
///   beta_t = min(1 - alphaBar((t+1)/T) / alphaBar(t/T), maxBeta),  t = 0 .. T-1.
/// (Nichol & Dhariwal 2021, Eq. 17; DiffRec's and DiffuRec's `betas_for_alpha_bar`.)
template <class AlphaBar>
Eigen::ArrayXd betasFromAlphaBar(Index steps, const AlphaBar& alphaBar, double maxBeta = 0.999) {
  RECDIFF_REQUIRE(steps > 0, "betasFromAlphaBar(): steps must be positive, got ", steps);
  Eigen::ArrayXd betas(steps);
  const double n = static_cast<double>(steps);
  for (Index i = 0; i < steps; ++i) {
    const double t1 = static_cast<double>(i) / n;
    const double t2 = static_cast<double>(i + 1) / n;
    betas(i) = std::min(1.0 - alphaBar(t2) / alphaBar(t1), maxBeta);
  }
  return betas;
}

/// The "left" discretisation DiffuRec uses for `trunc_cos`: the first beta is 1 - alphaBar(0) and the
/// remaining T-1 follow betasFromAlphaBar, i.e. the grid is shifted one step to the left:
///   beta_0 = min(1 - alphaBar(0), maxBeta),  beta_t = min(1 - alphaBar(t/T) / alphaBar((t-1)/T), maxBeta).
template <class AlphaBar>
Eigen::ArrayXd betasFromAlphaBarLeft(Index steps, const AlphaBar& alphaBar, double maxBeta = 0.999) {
  RECDIFF_REQUIRE(steps > 0, "betasFromAlphaBarLeft(): steps must be positive, got ", steps);
  Eigen::ArrayXd betas(steps);
  const double n = static_cast<double>(steps);
  betas(0) = std::min(1.0 - alphaBar(0.0), maxBeta);
  for (Index i = 0; i + 1 < steps; ++i) {
    const double t1 = static_cast<double>(i) / n;
    const double t2 = static_cast<double>(i + 1) / n;
    betas(i + 1) = std::min(1.0 - alphaBar(t2) / alphaBar(t1), maxBeta);
  }
  return betas;
}

/// Betas whose cumulative variance 1 - alphaBar_t follows `variance` (DiffRec's `betas_from_linear_variance`):
///   beta_0 = variance_0,  beta_t = min(1 - (1 - variance_t) / (1 - variance_{t-1}), maxBeta).
inline Eigen::ArrayXd betasFromLinearVariance(const Eigen::ArrayXd& variance, double maxBeta = 0.999) {
  const Index steps = variance.size();
  RECDIFF_REQUIRE(steps > 0, "betasFromLinearVariance(): variance must not be empty");
  const Eigen::ArrayXd alphaBar = 1.0 - variance;
  Eigen::ArrayXd betas(steps);
  betas(0) = 1.0 - alphaBar(0);
  for (Index i = 1; i < steps; ++i) betas(i) = std::min(1.0 - alphaBar(i) / alphaBar(i - 1), maxBeta);
  return betas;
}

namespace detail {

/// Throws unless steps > 0; `who` names the schedule ("CosineSchedule").
inline void requirePositiveSteps(std::string_view who, Index steps) {
  RECDIFF_REQUIRE(steps > 0, who, "::betas(): steps must be positive, got steps = ", steps);
}

/// Throws unless `value` is finite; `who` names the schedule and `what` the parameter.
inline void requireFinite(std::string_view who, std::string_view what, double value) {
  RECDIFF_REQUIRE(std::isfinite(value), who, ": ", what, " must be finite, got ", what, " = ", value);
}

/// Throws unless every beta lies in (0, 1] (NaN included); the message names the schedule, the first bad
/// index and its value. Returns its argument so that schedules can `return checkBetas(...)`.
inline Eigen::ArrayXd checkBetas(std::string_view who, Eigen::ArrayXd betas) {
  for (Index i = 0; i < betas.size(); ++i) {
    const double b = betas(i);
    RECDIFF_REQUIRE(b > 0.0 && b <= 1.0, who, "::betas(): beta[", i, "] = ", b,
                    " lies outside (0, 1] (steps = ", betas.size(), ")");
  }
  return betas;
}

}  // namespace detail
}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_BETA_HELPERS_HPP
