#ifndef RECDIFF_RANDOM_HPP
#define RECDIFF_RANDOM_HPP

/// \file random.hpp
/// Forwarding header (public API since the first release): recdiff::Rng lives in random/rng.hpp, the Philox
/// generator under it in random/philox.hpp.

#include "random/rng.hpp"

#endif  // RECDIFF_RANDOM_HPP
