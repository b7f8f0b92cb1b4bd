#ifndef RECDIFF_DIFFUSION_SCHEDULE_TABLES_HPP
#define RECDIFF_DIFFUSION_SCHEDULE_TABLES_HPP

/// \file schedule_tables.hpp
/// Every per-timestep quantity of a DDPM, computed once in double from the betas.

#include <cmath>

#include <Eigen/Core>

#include "../error.hpp"
#include "../types.hpp"

namespace recdiff {

/// The tables of a Gaussian diffusion with betas beta_0 .. beta_{T-1} (Ho et al. 2020, Eqs. 4, 6, 7), in
/// double. Index t is 0-based: alphaBar(t) is the signal kept after t + 1 noising steps.
///   alpha_t = 1 - beta_t,   alphaBar_t = prod_{s <= t} alpha_s,   alphaBarPrev_t = alphaBar_{t-1} (1 at t = 0),
///   alphaBarNext_t = alphaBar_{t+1} (0 at t = T-1),
///   posteriorVariance_t = beta_t (1 - alphaBarPrev_t) / (1 - alphaBar_t)                  (Eq. 7, beta tilde)
///   posteriorLogVarianceClipped_t = log(posteriorVariance_max(t,1))  (the t = 0 entry, which is 0, is
///       replaced by the one at t = 1, as the references do)
///   posteriorMeanCoef1_t = beta_t sqrt(alphaBarPrev_t) / (1 - alphaBar_t)      (multiplies x0, Eq. 7)
///   posteriorMeanCoef2_t = (1 - alphaBarPrev_t) sqrt(alpha_t) / (1 - alphaBar_t) (multiplies xt)
///   snr_t = alphaBar_t / (1 - alphaBar_t)          (Kingma et al. 2021)
///   fixedLargeLogVariance_t = log(beta_t), with t = 0 replaced by posteriorVariance_1 (DiffuRec; sigma^2 = beta)
/// Every array has T entries. The formulas, and the order of their floating-point operations, are DiffRec's
/// `calculate_for_diffusion`, so the golden tables match to the last few bits.
namespace detail {
/// Element-wise natural log by std::log: scalar on purpose (tables are built once; it matches the libm the
/// references call, and avoids GCC 12's spurious -Wuninitialized inside Eigen's AVX-512 plog).
inline Eigen::ArrayXd logOf(const Eigen::ArrayXd& a) {
  return a.unaryExpr([](double v) { return std::log(v); });
}
}  // namespace detail

struct ScheduleTables {
  Eigen::ArrayXd betas, alphas, alphaBar, alphaBarPrev, alphaBarNext;
  Eigen::ArrayXd sqrtAlphaBar, sqrtOneMinusAlphaBar, logOneMinusAlphaBar;
  Eigen::ArrayXd sqrtRecipAlphaBar, sqrtRecipAlphaBarMinusOne;
  Eigen::ArrayXd posteriorVariance, posteriorLogVarianceClipped, posteriorMeanCoef1, posteriorMeanCoef2;
  Eigen::ArrayXd snr, fixedLargeVariance, fixedLargeLogVariance;

  Index steps() const noexcept { return betas.size(); }

  /// Builds the tables; throws unless betas is non-empty with every entry in (0, 1] (NaN rejected).
  /// With one step the t = 1 entries used by the clipped and fixed-large log variances do not exist; the
  /// t = 0 posterior variance (0) is then kept and its log is -inf.
  static ScheduleTables fromBetas(const Eigen::ArrayXd& betas) {
    const Index n = betas.size();
    RECDIFF_REQUIRE(n > 0, "ScheduleTables::fromBetas(): betas must not be empty");
    for (Index i = 0; i < n; ++i)
      RECDIFF_REQUIRE(betas(i) > 0.0 && betas(i) <= 1.0, "ScheduleTables::fromBetas(): beta[", i, "] = ", betas(i),
                      " lies outside (0, 1]");
    ScheduleTables s;
    s.betas = betas;
    s.alphas = 1.0 - betas;
    s.alphaBar.resize(n);
    double prod = 1.0;
    for (Index i = 0; i < n; ++i) s.alphaBar(i) = prod = prod * s.alphas(i);
    s.alphaBarPrev.resize(n);
    s.alphaBarPrev(0) = 1.0;
    s.alphaBarPrev.tail(n - 1) = s.alphaBar.head(n - 1);
    s.alphaBarNext.resize(n);
    s.alphaBarNext.head(n - 1) = s.alphaBar.tail(n - 1);
    s.alphaBarNext(n - 1) = 0.0;

    s.sqrtAlphaBar = s.alphaBar.sqrt();
    s.sqrtOneMinusAlphaBar = (1.0 - s.alphaBar).sqrt();
    s.logOneMinusAlphaBar = detail::logOf(1.0 - s.alphaBar);
    s.sqrtRecipAlphaBar = (1.0 / s.alphaBar).sqrt();
    s.sqrtRecipAlphaBarMinusOne = (1.0 / s.alphaBar - 1.0).sqrt();

    s.posteriorVariance = betas * (1.0 - s.alphaBarPrev) / (1.0 - s.alphaBar);
    s.posteriorLogVarianceClipped = s.posteriorVariance;
    if (n > 1) s.posteriorLogVarianceClipped(0) = s.posteriorVariance(1);
    s.posteriorLogVarianceClipped = detail::logOf(s.posteriorLogVarianceClipped);
    s.posteriorMeanCoef1 = betas * s.alphaBarPrev.sqrt() / (1.0 - s.alphaBar);
    s.posteriorMeanCoef2 = (1.0 - s.alphaBarPrev) * s.alphas.sqrt() / (1.0 - s.alphaBar);

    s.snr = s.alphaBar / (1.0 - s.alphaBar);
    s.fixedLargeVariance = betas;
    s.fixedLargeVariance(0) = n > 1 ? s.posteriorVariance(1) : s.posteriorVariance(0);
    s.fixedLargeLogVariance = detail::logOf(s.fixedLargeVariance);
    return s;
  }
};

}  // namespace recdiff

#endif  // RECDIFF_DIFFUSION_SCHEDULE_TABLES_HPP
