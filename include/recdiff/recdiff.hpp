#ifndef RECDIFF_RECDIFF_HPP
#define RECDIFF_RECDIFF_HPP

/// \file recdiff.hpp
/// Umbrella header: includes every public module. Fine-grained headers may be included instead to keep
/// compile times low.

#include "config.hpp"
#include "error.hpp"
#include "random.hpp"
#include "types.hpp"

#endif  // RECDIFF_RECDIFF_HPP
