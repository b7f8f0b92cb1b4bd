#ifndef RECDIFF_OPTIM_DECAY_STEP_DECAY_HPP
#define RECDIFF_OPTIM_DECAY_STEP_DECAY_HPP

/// \file step_decay.hpp
/// Step learning-rate schedule (torch.optim.lr_scheduler.StepLR): lr = base · γ^⌊epoch / stepSize⌋, where
/// `epoch` counts Optimizer::endEpoch() calls (torch's scheduler.step() calls). DiffuRec: StepLR(100, 0.1).

#include <cmath>
#include <cstdint>

#include "../../error.hpp"

namespace recdiff::optim {

/// Options of StepDecay.
struct StepDecayOptions {
  std::int64_t stepSize = 1;
  double gamma = 0.1;
};

/// lr(epoch) = base · gamma^(epoch / stepSize) (integer division).
class StepDecay {
 public:
  explicit StepDecay(const StepDecayOptions& options = {}) : options_(options) {
    RECDIFF_REQUIRE(options.stepSize > 0, "StepDecay: stepSize must be positive, got ", options.stepSize);
    RECDIFF_REQUIRE(options.gamma > 0.0, "StepDecay: gamma must be positive, got ", options.gamma);
  }
  StepDecay(std::int64_t stepSize, double gamma) : StepDecay(StepDecayOptions{stepSize, gamma}) {}

  double rate(double base, std::int64_t epoch) const {
    return base * std::pow(options_.gamma, static_cast<double>(epoch / options_.stepSize));
  }
  const StepDecayOptions& options() const noexcept { return options_; }

 private:
  StepDecayOptions options_;
};

}  // namespace recdiff::optim

#endif  // RECDIFF_OPTIM_DECAY_STEP_DECAY_HPP
