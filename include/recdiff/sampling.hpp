#ifndef RECDIFF_SAMPLING_HPP
#define RECDIFF_SAMPLING_HPP

/// \file sampling.hpp
/// Module header: the reverse process (DdpmSampler and its fast paths). Not to be confused with "timesteps" (training-time
/// timestep samplers, timesteps.hpp).

#include "diffusion.hpp"
#include "sampling/ddpm_sampler.hpp"
#include "sampling/folded_diffrec.hpp"
#include "sampling/guided_tiled.hpp"

#endif  // RECDIFF_SAMPLING_HPP
