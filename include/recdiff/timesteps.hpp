#ifndef RECDIFF_TIMESTEPS_HPP
#define RECDIFF_TIMESTEPS_HPP

/// \file timesteps.hpp
/// Module header: training-time timestep samplers (docs/concepts.md#timestepsampler). Not to be confused
/// with "sampling" (the reverse process, sampling.hpp).

#include "concepts.hpp"
#include "timesteps/fixed_weight_sampler.hpp"
#include "timesteps/loss_second_moment_sampler.hpp"
#include "timesteps/make_timestep_sampler.hpp"
#include "timesteps/sample_from_weights.hpp"
#include "timesteps/timestep_batch.hpp"
#include "timesteps/uniform_timestep_sampler.hpp"

#endif  // RECDIFF_TIMESTEPS_HPP
