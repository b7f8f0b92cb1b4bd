#ifndef RECDIFF_OPTIM_OPTIMIZER_HPP
#define RECDIFF_OPTIM_OPTIMIZER_HPP

/// \file optimizer.hpp
/// The optimizer host: Optimizer<UpdatePolicy, DecayPolicy> (ensmallen's policy design, STYLE.md 4.2)
/// driving one flat nn::ParameterBuffer, and the usual compositions as aliases:
///   optim::Adam   = Optimizer<AdamUpdate>       (L2 weight decay, torch.optim.Adam)
///   optim::AdamW  = Optimizer<AdamWUpdate>      (decoupled weight decay, torch.optim.AdamW)
///   optim::Sgd    = Optimizer<SgdUpdate>        (momentum / Nesterov, torch.optim.SGD)
///
/// Usage:
///   optim::AdamW opt({.learningRate = 1e-3, .weightDecay = 0.0});
///   params.zeroGrad();  model.backward(...);  opt.step(params);
///   optim::Optimizer<optim::AdamUpdate, optim::StepDecay> adam({.learningRate = 1e-3}, optim::StepDecay(100, 0.1));
///   adam.endEpoch();    // advances the learning-rate schedule (torch: scheduler.step())
///
/// UpdatePolicy contract: a nested `Options` struct, a constructor from it, `double baseLearningRate() const`,
/// and `template <class Scalar> void apply(Eigen::Ref<ColVector<Scalar>> params,
/// const Eigen::Ref<const ColVector<Scalar>>& grads, double lr, std::int64_t step)` (step is 1-based).
/// DecayPolicy contract: `double rate(double base, std::int64_t epoch) const`.

#include <cstdint>
#include <utility>

#include "../error.hpp"
#include "../nn/parameters.hpp"
#include "../types.hpp"
#include "adam_update.hpp"
#include "decay/no_decay.hpp"
#include "decay/step_decay.hpp"
#include "sgd_update.hpp"

namespace recdiff::optim {

/// Applies UpdatePolicy to a ParameterBuffer with the learning rate DecayPolicy gives for the current epoch.
/// \tparam UpdatePolicy AdamUpdate, AdamWUpdate, SgdUpdate or any type meeting the contract above.
/// \tparam DecayPolicy NoDecay, StepDecay or any type with `rate(base, epoch)`.
template <class UpdatePolicy, class DecayPolicy = NoDecay>
class Optimizer {
 public:
  using Options = typename UpdatePolicy::Options;

  explicit Optimizer(const Options& options = {}, DecayPolicy decay = {})
      : update_(options), decay_(std::move(decay)) {}

  /// One update of params.values() from params.grads(). Does not zero the gradients.
  template <class Scalar>
  void step(nn::ParameterBuffer<Scalar>& params) {
    ++steps_;
    update_.template apply<Scalar>(params.values(), params.grads(), learningRate(), steps_);
  }

  /// The learning rate the next step uses.
  double learningRate() const { return decay_.rate(update_.baseLearningRate(), epoch_); }

  /// Advances the learning-rate schedule by one epoch.
  void endEpoch() noexcept { ++epoch_; }

  std::int64_t stepCount() const noexcept { return steps_; }
  std::int64_t epoch() const noexcept { return epoch_; }
  UpdatePolicy& update() noexcept { return update_; }
  const UpdatePolicy& update() const noexcept { return update_; }
  DecayPolicy& decay() noexcept { return decay_; }

  /// Saves or loads the step count, the epoch (the learning-rate schedule's position) and the policy's state
  /// (moments, momentum) through a state archive (io/state_archive.hpp).
  template <class Archive>
  void serializeState(Archive& ar) {
    ar("steps", steps_);
    ar("epoch", epoch_);
    if constexpr (requires { update_.serializeState(ar); }) update_.serializeState(ar);
  }

  /// Forgets the step count, the epoch and the policy's state (moments).
  void reset() {
    steps_ = 0;
    epoch_ = 0;
    update_.reset();
  }

 private:
  UpdatePolicy update_;
  DecayPolicy decay_;
  std::int64_t steps_ = 0;
  std::int64_t epoch_ = 0;
};

using Adam = Optimizer<AdamUpdate, NoDecay>;
using AdamW = Optimizer<AdamWUpdate, NoDecay>;
using Sgd = Optimizer<SgdUpdate, NoDecay>;

}  // namespace recdiff::optim

#endif  // RECDIFF_OPTIM_OPTIMIZER_HPP
