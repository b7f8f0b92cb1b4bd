#ifndef RECDIFF_NN_MSE_LOSS_HPP
#define RECDIFF_NN_MSE_LOSS_HPP

/// \file mse_loss.hpp
/// Per-row mean squared error and its gradient (DiffRec's `mean_flat((target − output)²)`):
///   mse_i = (1/d) Σ_j (pred_ij − target_ij)²,  pred, target: [batch × d].
/// The gradient of a weighted sum L = Σ_i w_i mse_i is dL/dpred_ij = 2 w_i (pred_ij − target_ij) / d, which
/// covers the plain mean (w_i = 1/batch) and DiffRec's reweighted, importance-corrected loss.

#include <Eigen/Core>

#include "../error.hpp"
#include "../types.hpp"

namespace recdiff::nn {

/// perRow(i) = mean_j (pred(i, j) − target(i, j))².  perRow is resized to [batch].
template <class Pred, class Target, class Scalar = typename Pred::Scalar>
void rowMeanSquaredError(const Eigen::MatrixBase<Pred>& pred, const Eigen::MatrixBase<Target>& target,
                         ArrayX<Scalar>& perRow) {
  RECDIFF_REQUIRE(pred.rows() == target.rows() && pred.cols() == target.cols() && pred.cols() > 0,
                  "rowMeanSquaredError(): pred is ", pred.rows(), "x", pred.cols(), " but target is ", target.rows(),
                  "x", target.cols());
  perRow = (pred - target).rowwise().squaredNorm().array() / static_cast<Scalar>(pred.cols());
}

/// dPred = ∂/∂pred Σ_i w_i mse_i = 2 w_i (pred − target) / d.  rowWeights: [batch]; dPred resized to pred's shape.
template <class Pred, class Target, class Scalar = typename Pred::Scalar>
void rowMeanSquaredErrorGradient(const Eigen::MatrixBase<Pred>& pred, const Eigen::MatrixBase<Target>& target,
                                 const ArrayX<Scalar>& rowWeights, RowMatrix<Scalar>& dPred) {
  RECDIFF_REQUIRE(pred.rows() == target.rows() && pred.cols() == target.cols() && pred.cols() > 0,
                  "rowMeanSquaredErrorGradient(): pred is ", pred.rows(), "x", pred.cols(), " but target is ",
                  target.rows(), "x", target.cols());
  RECDIFF_REQUIRE(rowWeights.size() == pred.rows(), "rowMeanSquaredErrorGradient(): ", rowWeights.size(),
                  " weights for ", pred.rows(), " rows");
  dPred.resize(pred.rows(), pred.cols());
  const ArrayX<Scalar> scale = rowWeights * (Scalar(2) / static_cast<Scalar>(pred.cols()));
  dPred.noalias() = scale.matrix().asDiagonal() * (pred - target);
}

/// Mean over rows of the per-row MSE (torch's MSELoss with reduction 'mean' on a [batch × d] input).
template <class Pred, class Target>
typename Pred::Scalar meanSquaredError(const Eigen::MatrixBase<Pred>& pred, const Eigen::MatrixBase<Target>& target) {
  ArrayX<typename Pred::Scalar> perRow;
  rowMeanSquaredError(pred, target, perRow);
  return perRow.mean();
}

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_MSE_LOSS_HPP
