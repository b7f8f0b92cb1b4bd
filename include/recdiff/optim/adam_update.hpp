#ifndef RECDIFF_OPTIM_ADAM_UPDATE_HPP
#define RECDIFF_OPTIM_ADAM_UPDATE_HPP

/// \file adam_update.hpp
/// Adam (Kingma & Ba 2015, Algorithm 1) with PyTorch's exact semantics: bias corrections applied as
/// step size lr / (1 − β1^k) and denominator √v / √(1 − β2^k) + ε (ε outside the square root). Weight decay:
///  - AdamUpdate:  L2, added to the gradient before the moments (torch.optim.Adam's weight_decay);
///  - AdamWUpdate: decoupled, θ ← θ (1 − lr·λ) before the Adam step (Loshchilov & Hutter 2019, Alg. 2;
///    torch.optim.AdamW).

#include <cmath>
#include <cstdint>

#include <Eigen/Core>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../types.hpp"
#include "per_scalar.hpp"

namespace recdiff::optim {

/// Hyperparameters of Adam and AdamW (torch defaults; AdamW's torch default weight decay is 0.01, set it).
struct AdamOptions {
  double learningRate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weightDecay = 0.0;
};

/// The Adam update rule as a policy of Optimizer (optimizer.hpp). It owns the first and second moments,
/// sized on the first step. \tparam Decoupled false: L2 (Adam); true: decoupled decay (AdamW).
template <bool Decoupled>
class AdamFamilyUpdate {
 public:
  using Options = AdamOptions;

  explicit AdamFamilyUpdate(const Options& options = {}) : options_(options) {
    RECDIFF_REQUIRE(std::isfinite(options.learningRate) && options.learningRate >= 0.0,
                    "Adam: learningRate must be a finite number >= 0, got ", options.learningRate);
    RECDIFF_REQUIRE(options.beta1 >= 0.0 && options.beta1 < 1.0, "Adam: beta1 must lie in [0, 1), got ", options.beta1);
    RECDIFF_REQUIRE(options.beta2 >= 0.0 && options.beta2 < 1.0, "Adam: beta2 must lie in [0, 1), got ", options.beta2);
    RECDIFF_REQUIRE(options.epsilon >= 0.0, "Adam: epsilon must be >= 0, got ", options.epsilon);
    RECDIFF_REQUIRE(options.weightDecay >= 0.0, "Adam: weightDecay must be >= 0, got ", options.weightDecay);
  }

  const Options& options() const noexcept { return options_; }
  double baseLearningRate() const noexcept { return options_.learningRate; }

  /// One step k (1-based) with learning rate lr. params, grads: [n].
  template <class Scalar>
  void apply(Eigen::Ref<ColVector<Scalar>> params, const Eigen::Ref<const ColVector<Scalar>>& grads, double lr,
             std::int64_t k) {
    auto& st = state_.template get<Scalar>();
    const Index n = params.size();
    if (st.m.size() != n) {
      st.m.setZero(n);
      st.v.setZero(n);
    }
    const double b1 = options_.beta1, b2 = options_.beta2, wd = options_.weightDecay;
    const double bc1 = 1.0 - std::pow(b1, static_cast<double>(k));
    const double bc2Sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(k)));
    const auto cB1 = static_cast<Scalar>(b1), cB2 = static_cast<Scalar>(b2);
    const auto c1B1 = static_cast<Scalar>(1.0 - b1), c1B2 = static_cast<Scalar>(1.0 - b2);
    const auto stepSize = static_cast<Scalar>(lr / bc1);
    const auto invBc2Sqrt = static_cast<Scalar>(1.0 / bc2Sqrt);
    const auto eps = static_cast<Scalar>(options_.epsilon);
    const auto decay = static_cast<Scalar>(Decoupled ? 1.0 - lr * wd : wd);

    // Chunks of contiguous memory so that large buffers use every thread; each chunk is one Eigen expression.
    constexpr Index kChunk = 1 << 15;
    const Index chunks = (n + kChunk - 1) / kChunk;
    parallelFor(chunks, chunks > 4, [&](Index c) {
      const Index at = c * kChunk, len = std::min(kChunk, n - at);
      auto p = params.segment(at, len).array();
      auto m = st.m.segment(at, len).array();
      auto v = st.v.segment(at, len).array();
      const auto g = grads.segment(at, len).array();
      if constexpr (Decoupled) {
        if (wd != 0.0) p *= decay;
        m = cB1 * m + c1B1 * g;
        v = cB2 * v + c1B2 * g.square();
      } else if (wd != 0.0) {
        m = cB1 * m + c1B1 * (g + decay * p);
        v = cB2 * v + c1B2 * (g + decay * p).square();
      } else {
        m = cB1 * m + c1B1 * g;
        v = cB2 * v + c1B2 * g.square();
      }
      p -= stepSize * m / (v.sqrt() * invBc2Sqrt + eps);
    });
  }

  /// First and second moments for Scalar (empty before the first step).
  template <class Scalar>
  const ColVector<Scalar>& firstMoment() const { return state_.template get<Scalar>().m; }
  template <class Scalar>
  const ColVector<Scalar>& secondMoment() const { return state_.template get<Scalar>().v; }

  /// Saves or loads both moments (float and double) through a state archive (io/state_archive.hpp).
  template <class Archive>
  void serializeState(Archive& ar) {
    ar("adam.m.float", state_.f.m);
    ar("adam.v.float", state_.f.v);
    ar("adam.m.double", state_.d.m);
    ar("adam.v.double", state_.d.v);
  }

  /// Forgets the moments (the next step starts afresh).
  void reset() { state_ = {}; }

 protected:  // FusedAdamFamilyUpdate (fused_adam_update.hpp) reuses the options and the moments
  template <class Scalar>
  struct Moments {
    ColVector<Scalar> m, v;
  };

  Options options_;
  detail::PerScalar<Moments> state_;
};

/// Adam with L2 weight decay (torch.optim.Adam).
using AdamUpdate = AdamFamilyUpdate<false>;
/// Adam with decoupled weight decay (torch.optim.AdamW).
using AdamWUpdate = AdamFamilyUpdate<true>;

}  // namespace recdiff::optim

#endif  // RECDIFF_OPTIM_ADAM_UPDATE_HPP
