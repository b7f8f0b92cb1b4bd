#ifndef RECDIFF_OPTIM_FUSED_ADAM_UPDATE_HPP
#define RECDIFF_OPTIM_FUSED_ADAM_UPDATE_HPP

/// \file fused_adam_update.hpp
/// Adam / AdamW as an Optimizer policy that runs the fused SIMD kernel simd::adamUpdate: one pass over the
/// parameters, gradients and both moments (AdamFamilyUpdate, adam_update.hpp, makes three passes as Eigen
/// expressions). Same rule and PyTorch semantics as AdamFamilyUpdate (bias corrections as step size
/// lr / (1 − β1^k) and denominator √v / √(1 − β2^k) + ε); the order of operations is simd::scalar::adamUpdate's,
/// so the values agree with AdamFamilyUpdate to rounding, not bit for bit. The result is element-wise: it does
/// not depend on the thread count or the SIMD width.
///
/// Usage:
///   optim::FusedAdamW opt({.learningRate = 1e-3, .weightDecay = 0.0});
///   params.zeroGrad();  model.backward(...);  opt.step(params);

#include <cstdint>

#include <Eigen/Core>

#include "../error.hpp"
#include "../simd/kernels.hpp"
#include "../types.hpp"
#include "adam_update.hpp"
#include "optimizer.hpp"
#include "per_scalar.hpp"

namespace recdiff::optim {

/// The Adam update rule through simd::adamUpdate, as a policy of Optimizer (optimizer.hpp). Owns the first and
/// second moments, sized on the first step. \tparam Decoupled false: L2 (Adam); true: decoupled decay (AdamW).
template <bool Decoupled>
class FusedAdamFamilyUpdate : public AdamFamilyUpdate<Decoupled> {
  using Base = AdamFamilyUpdate<Decoupled>;

 public:
  using Options = AdamOptions;
  using Base::Base;  // the same options and checks; options(), moments and reset() are the base's

  /// One step k (1-based) with learning rate lr. params, grads: [n]. Hides Base::apply.
  template <class Scalar>
  void apply(Eigen::Ref<ColVector<Scalar>> params, const Eigen::Ref<const ColVector<Scalar>>& grads, double lr,
             std::int64_t k) {
    RECDIFF_REQUIRE(grads.size() == params.size(), "FusedAdamUpdate: ", grads.size(), " gradients for ",
                    params.size(), " parameters");
    auto& st = this->state_.template get<Scalar>();
    const Index n = params.size();
    if (st.m.size() != n) {
      st.m.setZero(n);
      st.v.setZero(n);
    }
    const Options& o = this->options_;
    simd::adamUpdate(params.data(), grads.data(), st.m.data(), st.v.data(), n,
                     {.lr = lr,
                      .beta1 = o.beta1,
                      .beta2 = o.beta2,
                      .eps = o.epsilon,
                      .weightDecay = o.weightDecay,
                      .decoupledWeightDecay = Decoupled,
                      .step = k});
  }
};

/// Adam with L2 weight decay (torch.optim.Adam), fused kernel.
using FusedAdamUpdate = FusedAdamFamilyUpdate<false>;
/// Adam with decoupled weight decay (torch.optim.AdamW), fused kernel.
using FusedAdamWUpdate = FusedAdamFamilyUpdate<true>;
using FusedAdam = Optimizer<FusedAdamUpdate, NoDecay>;
using FusedAdamW = Optimizer<FusedAdamWUpdate, NoDecay>;

}  // namespace recdiff::optim

#endif  // RECDIFF_OPTIM_FUSED_ADAM_UPDATE_HPP
