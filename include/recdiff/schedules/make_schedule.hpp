#ifndef RECDIFF_SCHEDULES_MAKE_SCHEDULE_HPP
#define RECDIFF_SCHEDULES_MAKE_SCHEDULE_HPP

/// \file make_schedule.hpp
/// The one string factory for schedules (CLIs, config files), the runtime schedule type it returns, and the
/// reference presets.

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "binomial_schedule.hpp"
#include "cosine_schedule.hpp"
#include "explicit_schedule.hpp"
#include "exponential_schedule.hpp"
#include "fixed_first_beta.hpp"
#include "linear_schedule.hpp"
#include "linear_variance_schedule.hpp"
#include "piecewise_linear_schedule.hpp"
#include "sqrt_schedule.hpp"
#include "truncated_cosine_schedule.hpp"
#include "truncated_linear_schedule.hpp"

namespace recdiff {

/// A schedule chosen at run time: one of the named schedules, plus an optional beta_0 override.
/// It is itself a Schedule, so GaussianDiffusion<AnySchedule> is instantiated once for all of them (the
/// schedule is only consulted when the tables are built). `variant()` exposes the alternative for std::visit.
///
/// Satisfies: Schedule (docs/concepts.md#schedule).
class AnySchedule {
 public:
  using Variant = std::variant<LinearSchedule, LinearVarianceSchedule, CosineSchedule, SqrtSchedule,
                               TruncatedCosineSchedule, TruncatedLinearSchedule, PiecewiseLinearSchedule,
                               BinomialSchedule, ExponentialSchedule, ExplicitSchedule>;

  AnySchedule(Variant schedule, std::optional<double> firstBeta = std::nullopt)  // NOLINT: implicit on purpose
      : schedule_(std::move(schedule)), firstBeta_(firstBeta) {
    if (firstBeta_)
      RECDIFF_REQUIRE(*firstBeta_ > 0.0 && *firstBeta_ <= 1.0,
                      "AnySchedule: firstBeta must lie in (0, 1], got firstBeta = ", *firstBeta_);
  }

  /// Betas of the held schedule [steps], with betas[0] overwritten when firstBeta is set.
  Eigen::ArrayXd betas(Index steps) const {
    Eigen::ArrayXd betas = std::visit([steps](const auto& s) { return s.betas(steps); }, schedule_);
    if (firstBeta_) betas(0) = *firstBeta_;
    return betas;
  }

  /// The factory name of the held schedule ("linear", "cosine", ...).
  std::string_view name() const {
    return std::visit([](const auto& s) { return std::decay_t<decltype(s)>::kName; }, schedule_);
  }

  const Variant& variant() const noexcept { return schedule_; }
  const std::optional<double>& firstBeta() const noexcept { return firstBeta_; }

 private:
  Variant schedule_;
  std::optional<double> firstBeta_;
};

/// What makeSchedule() reads. Unset fields take the schedule's defaults; a field the named schedule does not
/// take is an error (so that a CLI never silently ignores a flag).
struct ScheduleSpec {
  std::string name = "linear";            ///< see kScheduleNames
  std::optional<double> noiseScale;       ///< linear (default 1000/T), linear-var (default 0.1)
  std::optional<double> noiseMin;         ///< linear, linear-var (default 1e-4)
  std::optional<double> noiseMax;         ///< linear, linear-var (default 0.02)
  std::optional<double> minBeta;          ///< cosine (default 0; DreamRec 1e-4)
  std::optional<double> maxBeta;          ///< cosine, sqrt, trunc_cos, linear-var (default 0.999)
  std::optional<double> firstBeta;        ///< any: overwrite betas[0] (DiffRec fixes it to 1e-5)
  std::vector<double> betas;              ///< explicit: the betas themselves
};

/// Every name makeSchedule() accepts.
inline constexpr std::string_view kScheduleNames[] = {"linear", "linear-var", "cosine", "sqrt",     "trunc_cos",
                                                      "trunc_lin", "pw_lin", "binomial", "exp", "explicit"};

/// Builds the schedule a spec names; throws std::invalid_argument naming the schedule, the parameter and
/// its value for unknown names, parameters the schedule does not take, and invalid values.
inline AnySchedule makeSchedule(const ScheduleSpec& spec) {
  const std::string& n = spec.name;
  const auto reject = [&n](const std::optional<double>& v, std::string_view what) {
    RECDIFF_REQUIRE(!v, "makeSchedule(): schedule '", n, "' takes no ", what, ", got ", what, " = ", v.value_or(0.0));
  };
  const auto keepOnly = [&](bool scale, bool minMax, bool minBeta, bool maxBeta) {
    if (!scale) reject(spec.noiseScale, "noiseScale");
    if (!minMax) reject(spec.noiseMin, "noiseMin");
    if (!minMax) reject(spec.noiseMax, "noiseMax");
    if (!minBeta) reject(spec.minBeta, "minBeta");
    if (!maxBeta) reject(spec.maxBeta, "maxBeta");
    RECDIFF_REQUIRE(n == "explicit" || spec.betas.empty(), "makeSchedule(): schedule '", n,
                    "' takes no betas list, got ", spec.betas.size(), " values");
  };
  const auto make = [&]() -> AnySchedule::Variant {
    if (n == "linear") {
      keepOnly(true, true, false, false);
      LinearSchedule::Options o;
      o.noiseScale = spec.noiseScale;
      o.noiseMin = spec.noiseMin.value_or(o.noiseMin);
      o.noiseMax = spec.noiseMax.value_or(o.noiseMax);
      return LinearSchedule(o);
    }
    if (n == "linear-var") {
      keepOnly(true, true, false, true);
      LinearVarianceSchedule::Options o;
      o.noiseScale = spec.noiseScale.value_or(o.noiseScale);
      o.noiseMin = spec.noiseMin.value_or(o.noiseMin);
      o.noiseMax = spec.noiseMax.value_or(o.noiseMax);
      o.maxBeta = spec.maxBeta.value_or(o.maxBeta);
      return LinearVarianceSchedule(o);
    }
    if (n == "cosine") {
      keepOnly(false, false, true, true);
      CosineSchedule::Options o;
      o.minBeta = spec.minBeta.value_or(o.minBeta);
      o.maxBeta = spec.maxBeta.value_or(o.maxBeta);
      return CosineSchedule(o);
    }
    if (n == "sqrt") {
      keepOnly(false, false, false, true);
      SqrtSchedule::Options o;
      o.maxBeta = spec.maxBeta.value_or(o.maxBeta);
      return SqrtSchedule(o);
    }
    if (n == "trunc_cos") {
      keepOnly(false, false, false, true);
      TruncatedCosineSchedule::Options o;
      o.maxBeta = spec.maxBeta.value_or(o.maxBeta);
      return TruncatedCosineSchedule(o);
    }
    if (n == "trunc_lin") {
      keepOnly(false, false, false, false);
      return TruncatedLinearSchedule{};
    }
    if (n == "pw_lin") {
      keepOnly(false, false, false, false);
      return PiecewiseLinearSchedule{};
    }
    if (n == "binomial") {
      keepOnly(false, false, false, false);
      return BinomialSchedule{};
    }
    if (n == "exp") {
      keepOnly(false, false, false, false);
      return ExponentialSchedule{};
    }
    if (n == "explicit") {
      keepOnly(false, false, false, false);
      return ExplicitSchedule(Eigen::Map<const Eigen::ArrayXd>(spec.betas.data(), static_cast<Index>(spec.betas.size())));
    }
    std::string names;
    for (const auto name : kScheduleNames) names += (names.empty() ? "" : ", ") + std::string(name);
    throw std::invalid_argument("makeSchedule(): unknown schedule '" + n + "'; expected one of " + names);
  };
  return AnySchedule(make(), spec.firstBeta);
}

/// Shorthand: makeSchedule({.name = name}).
inline AnySchedule makeSchedule(std::string_view name) {
  ScheduleSpec spec;
  spec.name = std::string(name);
  return makeSchedule(spec);
}

/// DiffRec's schedule: linear-var from (noiseScale, noiseMin, noiseMax) with beta_0 fixed to 1e-5
/// (`GaussianDiffusion(..., beta_fixed=True)`). Defaults: DiffRec's ml-1m_clean settings.
inline FixedFirstBeta<LinearVarianceSchedule> diffRecSchedule(double noiseScale = 0.005, double noiseMin = 0.005,
                                                              double noiseMax = 0.01) {
  return FixedFirstBeta<LinearVarianceSchedule>(
      LinearVarianceSchedule({.noiseScale = noiseScale, .noiseMin = noiseMin, .noiseMax = noiseMax}));
}

}  // namespace recdiff

#endif  // RECDIFF_SCHEDULES_MAKE_SCHEDULE_HPP
