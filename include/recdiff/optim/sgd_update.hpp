#ifndef RECDIFF_OPTIM_SGD_UPDATE_HPP
#define RECDIFF_OPTIM_SGD_UPDATE_HPP

/// \file sgd_update.hpp
/// Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 weight decay, with
/// torch.optim.SGD's exact semantics (Sutskever et al. 2013 in torch's formulation):
///   d = g + λθ;  b ← d on the first step, else b ← μ b + (1 − τ) d;  d ← d + μ b (Nesterov) or b;  θ ← θ − lr d.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <Eigen/Core>

#include "../error.hpp"
#include "../types.hpp"
#include "per_scalar.hpp"

namespace recdiff::optim {

/// Hyperparameters of SGD (torch names: lr, momentum, dampening, weight_decay, nesterov).
struct SgdOptions {
  double learningRate = 1e-2;
  double momentum = 0.0;
  double dampening = 0.0;
  double weightDecay = 0.0;
  bool nesterov = false;
};

/// SGD update rule as a policy of Optimizer; owns the momentum buffer when momentum > 0.
class SgdUpdate {
 public:
  using Options = SgdOptions;

  explicit SgdUpdate(const Options& options = {}) : options_(options) {
    RECDIFF_REQUIRE(std::isfinite(options.learningRate) && options.learningRate >= 0.0,
                    "SGD: learningRate must be a finite number >= 0, got ", options.learningRate);
    RECDIFF_REQUIRE(options.momentum >= 0.0, "SGD: momentum must be >= 0, got ", options.momentum);
    RECDIFF_REQUIRE(options.weightDecay >= 0.0, "SGD: weightDecay must be >= 0, got ", options.weightDecay);
    RECDIFF_REQUIRE(!options.nesterov || (options.momentum > 0.0 && options.dampening == 0.0),
                    "SGD: Nesterov momentum requires momentum > 0 and zero dampening");
  }

  const Options& options() const noexcept { return options_; }
  double baseLearningRate() const noexcept { return options_.learningRate; }

  /// One step k (1-based) with learning rate lr. params, grads: [n].
  template <class Scalar>
  void apply(Eigen::Ref<ColVector<Scalar>> params, const Eigen::Ref<const ColVector<Scalar>>& grads, double lr,
             std::int64_t) {
    const auto wd = static_cast<Scalar>(options_.weightDecay);
    const auto rate = static_cast<Scalar>(lr);
    if (options_.momentum == 0.0) {
      if (options_.weightDecay != 0.0) params.array() -= rate * (grads.array() + wd * params.array());
      else params.array() -= rate * grads.array();
      return;
    }
    auto& st = state_.template get<Scalar>();
    const auto mu = static_cast<Scalar>(options_.momentum);
    const auto keep = static_cast<Scalar>(1.0 - options_.dampening);
    const bool first = st.buffer.size() != params.size();
    if (first) st.buffer.resize(params.size());
    // d = g + λθ is formed element-wise inside each expression (no temporary).
    auto d = grads.array() + wd * params.array();
    if (first) st.buffer.array() = d;
    else st.buffer.array() = mu * st.buffer.array() + keep * d;
    if (options_.nesterov) params.array() -= rate * (d + mu * st.buffer.array());
    else params.array() -= rate * st.buffer.array();
  }

  template <class Scalar>
  const ColVector<Scalar>& momentumBuffer() const { return state_.template get<Scalar>().buffer; }

  void reset() { state_ = {}; }

  /// Saves or loads the momentum buffers through a state archive (io/state_archive.hpp).
  template <class Archive>
  void serializeState(Archive& ar) {
    ar("sgd.momentum.float", state_.f.buffer);
    ar("sgd.momentum.double", state_.d.buffer);
  }

 private:
  template <class Scalar>
  struct Buffer {
    ColVector<Scalar> buffer;
  };

  Options options_;
  detail::PerScalar<Buffer> state_;
};

}  // namespace recdiff::optim

#endif  // RECDIFF_OPTIM_SGD_UPDATE_HPP
