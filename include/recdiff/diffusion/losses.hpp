#ifndef RECDIFF_DIFFUSION_LOSSES_HPP
#define RECDIFF_DIFFUSION_LOSSES_HPP

/// \file losses.hpp
/// The per-example diffusion training loss: MSE, DiffRec's timestep reweighting, and the importance
/// correction of the timestep sampler.

#include <type_traits>

#include <Eigen/Core>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../types.hpp"
#include "policies.hpp"

namespace recdiff {

/// Mean over columns of (pred - target)^2, per row [batch]. pred, target: [batch × dim].
template <class Pred, class Target>
ArrayX<typename Pred::Scalar> perExampleMse(const Eigen::MatrixBase<Pred>& pred, const Eigen::MatrixBase<Target>& target) {
  RECDIFF_REQUIRE(pred.rows() == target.rows() && pred.cols() == target.cols(), "perExampleMse(): pred is [",
                  pred.rows(), " × ", pred.cols(), "] but target is [", target.rows(), " × ", target.cols(), "]");
  using Scalar = typename Pred::Scalar;
  ArrayX<Scalar> out(pred.rows());
  for (Index i = 0; i < pred.rows(); ++i)
    out(i) = (pred.row(i) - target.row(i).template cast<Scalar>()).squaredNorm() / static_cast<Scalar>(pred.cols());
  return out;
}

/// DiffRec's reweighting for x0 prediction, in double [batch]: SNR(t-1) - SNR(t), and 1 at t = 0
/// (Wang et al. 2023, Eq. 12: the ELBO weight of the x0 MSE).
template <class Diffusion>
Eigen::ArrayXd reweightX0(const Diffusion& diffusion, const Eigen::Ref<const Eigen::ArrayXi>& t) {
  diffusion.checkTimesteps(t, t.size(), "recdiff::reweightX0");
  const auto& snr = diffusion.tables().snr;
  Eigen::ArrayXd w(t.size());
  for (Index i = 0; i < t.size(); ++i) w(i) = t(i) == 0 ? 1.0 : snr(t(i) - 1) - snr(t(i));
  return w;
}

/// DiffRec's reweighting for epsilon prediction, in double [batch]:
/// (1 - alphaBar_t) / ((1 - alphaBar_{t-1})^2 (1 - beta_t)), and 1 at t = 0 (where the loss itself is the
/// x0-likelihood term; see diffusionLoss()).
template <class Diffusion>
Eigen::ArrayXd reweightEpsilon(const Diffusion& diffusion, const Eigen::Ref<const Eigen::ArrayXi>& t) {
  diffusion.checkTimesteps(t, t.size(), "recdiff::reweightEpsilon");
  const auto& s = diffusion.tables();
  Eigen::ArrayXd w(t.size());
  for (Index i = 0; i < t.size(); ++i) {
    const Index k = t(i);
    const double prev = 1.0 - s.alphaBarPrev(k);
    w(i) = k == 0 ? 1.0 : (1.0 - s.alphaBar(k)) / (prev * prev * (1.0 - s.betas(k)));
  }
  return w;
}

/// Precision of the coefficients a_0 = 1/sqrt(alphaBar_0), b_0 = sqrt(1/alphaBar_0 - 1) in the eps likelihood term.
/// DiffRec reads them through `_extract_into_tensor(...)`, which ends in `.float()` (models/gaussian_diffusion.py),
/// so even a float64 run of the reference rounds them to float32. x0 - x0Hat is a small difference of O(1) terms
/// (a_0 · sqrt(alphaBar_0) = 1 in exact arithmetic), so that rounding moves the t = 0 loss by up to ~3e-6 relative.
enum class CoefficientPrecision {
  kDouble,            ///< exact coefficients (default)
  kReferenceFloat32,  ///< rounded to float32 as the reference does: only for parity with its numbers
};

/// Per-example losses of one batch, and the gradient of their batch mean.
template <class Scalar>
struct DiffusionLoss {
  ArrayX<Scalar> weighted;  ///< [batch] reweight · loss: what LossSecondMomentSampler::update() records
  ArrayX<Scalar> loss;      ///< [batch] weighted · importance weight (DiffRec's terms["loss"] after /= pt)
  RowMatrix<Scalar> dOut;   ///< [batch × dim] d mean(loss) / d modelOut, when requested
};

/// DiffRec's reweighting weight of one step k, in double (reweightX0 / reweightEpsilon for a single t).
template <class Diffusion>
double reweightAt(const Diffusion& diffusion, Index k) {
  using Param = typename Diffusion::ParameterizationType;
  if (k == 0) return 1.0;
  const auto& s = diffusion.tables();
  if constexpr (std::is_same_v<Param, PredictEpsilon>) {
    const double prev = 1.0 - s.alphaBarPrev(k);
    return (1.0 - s.alphaBar(k)) / (prev * prev * (1.0 - s.betas(k)));
  } else {
    return s.snr(k - 1) - s.snr(k);
  }
}

/// DiffRec's training loss (`training_losses`) for either parameterization, written into `out` (its
/// buffers are reused: no allocation once they have the batch's shape — the trainer's hot path):
///   PredictX0:      loss_i = mse(modelOut_i, x0_i),     weight = reweightX0 (if reweight) else 1;
///   PredictEpsilon: loss_i = mse(modelOut_i, noise_i),  weight = reweightEpsilon (if reweight) else 1, and at
///                   t = 0 with reweight the loss is the x0 likelihood term mean((x0 - x0Hat)^2 / 2);
/// then weighted = weight · loss and loss = weighted · importanceWeight (1 / (T p_t) from the sampler).
/// x0, noise, modelOut: [batch × dim]; xt is needed for the eps likelihood term; t, importanceWeights: [batch].
/// The gradient of mean_i(loss_i) with respect to modelOut is written to out.dOut. `precision` selects the
/// likelihood term's coefficients (CoefficientPrecision).
template <class Diffusion, class X0, class Xt, class Noise, class Out>
void diffusionLoss(const Diffusion& diffusion, const Eigen::MatrixBase<X0>& x0, const Eigen::MatrixBase<Xt>& xt,
                   const Eigen::MatrixBase<Noise>& noise, const Eigen::Ref<const Eigen::ArrayXi>& t,
                   const Eigen::MatrixBase<Out>& modelOut,
                   const Eigen::Ref<const ArrayX<typename Diffusion::ScalarType>>& importanceWeights, bool reweight,
                   DiffusionLoss<typename Diffusion::ScalarType>& out,
                   CoefficientPrecision precision = CoefficientPrecision::kDouble) {
  using Scalar = typename Diffusion::ScalarType;
  using Param = typename Diffusion::ParameterizationType;
  constexpr bool kEps = std::is_same_v<Param, PredictEpsilon>;
  const Index batch = x0.rows(), dim = x0.cols();
  diffusion.checkTimesteps(t, batch, "recdiff::diffusionLoss");
  RECDIFF_REQUIRE(importanceWeights.size() == batch, "diffusionLoss(): the batch has ", batch,
                  " rows but importanceWeights has ", importanceWeights.size(), " entries");
  RECDIFF_REQUIRE(modelOut.rows() == batch && modelOut.cols() == dim && noise.rows() == batch && noise.cols() == dim &&
                      xt.rows() == batch && xt.cols() == dim,
                  "diffusionLoss(): x0 is [", batch, " × ", dim, "] but modelOut is [", modelOut.rows(), " × ",
                  modelOut.cols(), "], noise [", noise.rows(), " × ", noise.cols(), "] and xt [", xt.rows(), " × ",
                  xt.cols(), "]");
  out.weighted.resize(batch);
  out.loss.resize(batch);
  out.dOut.resize(batch, dim);
  const auto& tables = diffusion.tables();
  const Scalar invDim = Scalar(1) / static_cast<Scalar>(dim), invBatch = Scalar(1) / static_cast<Scalar>(batch);
  // Rows are independent: split over the OpenMP threads when the batch is large (same values either way).
  parallelFor(batch, batch > 1 && batch * dim >= (Index{1} << 16), [&](Index i) {
    const bool likelihood = kEps && reweight && t(i) == 0;
    const auto w = static_cast<Scalar>(reweight ? reweightAt(diffusion, t(i)) : 1.0);
    auto diff = out.dOut.row(i);  // holds the difference, then becomes the gradient in place
    Scalar perRow, scale;
    if (likelihood) {
      // x0Hat = a · xt - b · out; loss = mean((x0 - x0Hat)^2) / 2; d/d out = b (x0 - x0Hat) / dim.
      double a0 = tables.sqrtRecipAlphaBar(0), b0 = tables.sqrtRecipAlphaBarMinusOne(0);
      if (precision == CoefficientPrecision::kReferenceFloat32) {
        a0 = static_cast<float>(a0);
        b0 = static_cast<float>(b0);
      }
      const auto a = static_cast<Scalar>(a0);
      const auto b = static_cast<Scalar>(b0);
      diff = x0.row(i).template cast<Scalar>() -
             (a * xt.row(i).template cast<Scalar>() - b * modelOut.row(i).template cast<Scalar>());
      perRow = diff.squaredNorm() * invDim / Scalar(2);
      scale = w * importanceWeights(i) * invBatch * b * invDim;
    } else {
      if constexpr (kEps) diff = modelOut.row(i).template cast<Scalar>() - noise.row(i).template cast<Scalar>();
      else diff = modelOut.row(i).template cast<Scalar>() - x0.row(i).template cast<Scalar>();
      perRow = diff.squaredNorm() * invDim;
      scale = w * importanceWeights(i) * invBatch * Scalar(2) * invDim;
    }
    diff *= scale;
    out.weighted(i) = w * perRow;
    out.loss(i) = out.weighted(i) * importanceWeights(i);
  });
}

/// As above, returning the losses; the gradient is kept only when withGradient is true.
template <class Diffusion, class X0, class Xt, class Noise, class Out>
DiffusionLoss<typename Diffusion::ScalarType> diffusionLoss(
    const Diffusion& diffusion, const Eigen::MatrixBase<X0>& x0, const Eigen::MatrixBase<Xt>& xt,
    const Eigen::MatrixBase<Noise>& noise, const Eigen::Ref<const Eigen::ArrayXi>& t,
    const Eigen::MatrixBase<Out>& modelOut, const Eigen::Ref<const ArrayX<typename Diffusion::ScalarType>>& importanceWeights,
    bool reweight, bool withGradient = false, CoefficientPrecision precision = CoefficientPrecision::kDouble) {
  DiffusionLoss<typename Diffusion::ScalarType> out;
  diffusionLoss(diffusion, x0, xt, noise, t, modelOut, importanceWeights, reweight, out, precision);
  if (!withGradient) out.dOut.resize(0, 0);
  return out;
}

}  // namespace recdiff

#endif  // RECDIFF_DIFFUSION_LOSSES_HPP
