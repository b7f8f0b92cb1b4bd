#ifndef RECDIFF_TIMESTEPS_MAKE_TIMESTEP_SAMPLER_HPP
#define RECDIFF_TIMESTEPS_MAKE_TIMESTEP_SAMPLER_HPP

/// \file make_timestep_sampler.hpp
/// The string factory for timestep samplers (CLIs, config files).

#include <string>
#include <string_view>
#include <variant>

#include "fixed_weight_sampler.hpp"
#include "loss_second_moment_sampler.hpp"
#include "uniform_timestep_sampler.hpp"

namespace recdiff {

using AnyTimestepSampler = std::variant<UniformTimestepSampler, LossSecondMomentSampler, FixedWeightSampler>;

/// "uniform", "lossaware" (history 10, uniform mix 0.001) or "fixstep" (DiffuRec's
/// create_named_schedule_sampler); throws for any other name.
inline AnyTimestepSampler makeTimestepSampler(std::string_view name, Index steps) {
  if (name == UniformTimestepSampler::kName) return UniformTimestepSampler(steps);
  if (name == LossSecondMomentSampler::kName) return LossSecondMomentSampler(steps);
  if (name == FixedWeightSampler::kName) return FixedWeightSampler(steps);
  throw std::invalid_argument("makeTimestepSampler(): unknown timestep sampler '" + std::string(name) +
                              "'; expected one of uniform, lossaware, fixstep");
}

}  // namespace recdiff

#endif  // RECDIFF_TIMESTEPS_MAKE_TIMESTEP_SAMPLER_HPP
