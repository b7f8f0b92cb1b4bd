#ifndef RECDIFF_OPTIM_DECAY_NO_DECAY_HPP
#define RECDIFF_OPTIM_DECAY_NO_DECAY_HPP

/// \file no_decay.hpp
/// The constant learning-rate schedule.

#include <cstdint>

namespace recdiff::optim {

/// lr(epoch) = base.
struct NoDecay {
  double rate(double base, std::int64_t /*epoch*/) const noexcept { return base; }
};

}  // namespace recdiff::optim

#endif  // RECDIFF_OPTIM_DECAY_NO_DECAY_HPP
