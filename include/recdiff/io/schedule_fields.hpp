#ifndef RECDIFF_IO_SCHEDULE_FIELDS_HPP
#define RECDIFF_IO_SCHEDULE_FIELDS_HPP

/// \file schedule_fields.hpp
/// The fields of a ScheduleSpec inside a model's field table (io/fields.hpp). Every model names its schedule
/// with a ScheduleSpec; what differs is the key of the name (DiffRec's `noise_schedule`, DreamRec's
/// `beta_sche`), of the two bounds (DiffRec's `noise_min` / `noise_max`, DreamRec's `beta_start` / `beta_end`)
/// and the model's conventions for a name: setting the name (a checkpoint entry, a CLI flag) resets the spec to
/// `forName(name)` — DreamRec's `linear` is linspace(1e-4, 0.02), its `cosine` clipped to [1e-4, 0.9999] — and
/// the parameter fields, visited after it, override. The parameter fields are optional(): a checkpoint written
/// before a parameter was recorded keeps the name's conventions.
///
/// Usage (in a field table):
///   io::scheduleFields(v, o.schedule, &plainSchedule, io::Field("noise_schedule", "noise schedule"),
///                      io::Field("noise_min", "noise lower bound"), io::Field("noise_max", "noise upper bound"));

#include <string>
#include <string_view>
#include <type_traits>

#include "../schedules/make_schedule.hpp"
#include "fields.hpp"

namespace recdiff::io {

/// The spec of schedule `name` with no parameter set: makeSchedule()'s own defaults.
inline ScheduleSpec plainSchedule(const std::string& name) {
  ScheduleSpec s;
  s.name = name;
  return s;
}

/// The name of a ScheduleSpec as a self-coded field: reading it replaces the whole spec by forName(text).
template <class Spec>
struct ScheduleNameRef {
  static_assert(std::is_same_v<std::remove_const_t<Spec>, ScheduleSpec>);
  static constexpr const char* kExpected = "a schedule name this model accepts";
  Spec& spec;
  ScheduleSpec (*forName)(const std::string&);

  std::string toText() const { return spec.name; }
  bool fromText(std::string_view s) const {
    if constexpr (std::is_const_v<Spec>) {
      return false;
    } else {
      ScheduleSpec next = forName(std::string(s));  // may throw std::invalid_argument (an unknown name)
      bool known = false;
      for (const std::string_view n : kScheduleNames) known = known || n == next.name;
      if (!known) return false;
      spec = std::move(next);
      return true;
    }
  }
};

/// Visits `spec`'s fields: the name (`name`), then noise_scale, `min` (noiseMin), `max` (noiseMax), min_beta,
/// max_beta, first_beta (CLI --beta1) and betas (the explicit schedule's list).
template <class V, class Spec>
void scheduleFields(V&& v, Spec& spec, ScheduleSpec (*forName)(const std::string&), const Field& name, const Field& min,
                    const Field& max) {
  v(name, ScheduleNameRef<Spec>{spec, forName});
  v(Field("noise_scale", "schedule: noise scale ('default': the schedule's)").optional(), spec.noiseScale);
  v(min.optional(), spec.noiseMin);
  v(max.optional(), spec.noiseMax);
  v(Field("min_beta", "schedule: lower clip of the betas (cosine)").optional(), spec.minBeta);
  v(Field("max_beta", "schedule: upper clip of the betas").optional(), spec.maxBeta);
  v(Field("first_beta", "schedule: overwrite the first beta (DiffRec fixes it to 1e-5)").flag("--beta1").optional(),
    spec.firstBeta);
  v(Field("betas", "schedule 'explicit': the betas, comma separated").optional(), spec.betas);
}

}  // namespace recdiff::io

#endif  // RECDIFF_IO_SCHEDULE_FIELDS_HPP
