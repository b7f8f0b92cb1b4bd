#ifndef RECDIFF_DIFFUSION_HPP
#define RECDIFF_DIFFUSION_HPP

/// \file diffusion.hpp
/// Module header: schedule tables, respacing, GaussianDiffusion and its policies, and the loss helpers.

#include "concepts.hpp"
#include "diffusion/gaussian_diffusion.hpp"
#include "diffusion/losses.hpp"
#include "diffusion/policies.hpp"
#include "diffusion/respacing.hpp"
#include "diffusion/schedule_tables.hpp"
#include "schedules.hpp"

#endif  // RECDIFF_DIFFUSION_HPP
