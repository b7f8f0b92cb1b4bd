#ifndef RECDIFF_NN_CROSS_ENTROPY_HPP
#define RECDIFF_NN_CROSS_ENTROPY_HPP

/// \file cross_entropy.hpp
/// Softmax cross-entropy over item scores computed by inner product with an item table, as DiffuRec's
/// loss_diffu_ce (torch.nn.CrossEntropyLoss on x̂ Eᵀ, mean over the batch):
///   s = x̂ Eᵀ  [batch × items],   L = (1/batch) Σ_b (logsumexp(s_b) − s_b,label_b).
/// Backward, with G = (softmax(s) − onehot(label)) / batch:  dL/dx̂ = G E,  dL/dE = Gᵀ x̂.
/// Every row of E takes part in the softmax (DiffuRec includes its padding row 0).
///
/// Usage:
///   nn::ItemCrossEntropy<float> ce;
///   float loss = ce.forward(x0Hat, items.weight(), labels);   // x0Hat [batch × dim], E [items × dim]
///   ce.backward(dX0Hat, items.weightGrad());                 // writes dX0Hat, ADDS into dE

#include <cmath>
#include <type_traits>

#include <Eigen/Core>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../types.hpp"
#include "gemm.hpp"
#include "softmax.hpp"

namespace recdiff::nn {

/// Mean softmax cross-entropy of x̂ Eᵀ against integer labels; see the file comment.
template <class Scalar>
class ItemCrossEntropy {
 public:
  using Matrix = RowMatrix<Scalar>;

  /// x: [batch × dim], table: [items × dim], labels: [batch] in [0, items). Returns the mean loss.
  /// Caches x, the table (a copy), the labels and the softmax for backward.
  template <class TableDerived>
  Scalar forward(const Matrix& x, const Eigen::MatrixBase<TableDerived>& table,
                 const Eigen::Ref<const Eigen::ArrayXi>& labels) {
    RECDIFF_REQUIRE(x.cols() == table.cols(), "ItemCrossEntropy::forward(): x has ", x.cols(),
                    " columns but the item table has ", table.cols());
    RECDIFF_REQUIRE(labels.size() == x.rows(), "ItemCrossEntropy::forward(): ", labels.size(), " labels for ",
                    x.rows(), " rows");
    for (Index b = 0; b < labels.size(); ++b)
      RECDIFF_REQUIRE(labels(b) >= 0 && labels(b) < table.rows(), "ItemCrossEntropy::forward(): label ", labels(b),
                      " at row ", b, " is outside [0, ", table.rows(), ")");
    input_ = x;
    table_ = table;
    labels_ = labels;
    probs_.resize(x.rows(), table.rows());
    gemm(probs_, input_, table_.transpose(), Accumulate::kNo, precision_);
    const Index n = x.rows(), items = table.rows();
    losses_.resize(n);
    // Rows are independent: split over the threads; the mean is summed in row order afterwards.
    parallelFor(n, n > 1 && n * items > 65536, [&](Index b) {
      Scalar* row = probs_.row(b).data();
      Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> r(row, items);
      const Scalar m = r.maxCoeff();
      const Scalar target = r(labels(b));
      r = (r - m).exp();
      const Scalar sum = r.sum();
      losses_(b) = std::log(sum) + m - target;
      r /= sum;
    });
    double total = 0.0;
    for (Index b = 0; b < n; ++b) total += static_cast<double>(losses_(b));
    return static_cast<Scalar>(total / static_cast<double>(n));
  }

  /// Per-row losses of the last forward, [batch].
  const ArrayX<Scalar>& rowLosses() const noexcept { return losses_; }
  /// softmax(x̂ Eᵀ) of the last forward, [batch × items].
  const Matrix& probabilities() const noexcept { return probs_; }

  /// Writes dx = dL/dx̂ [batch × dim] (scaled by `scale`, e.g. a loss weight) and ADDS dL/dE into dTable.
  template <class GradDerived>
  void backward(Matrix& dx, const Eigen::MatrixBase<GradDerived>& dTable, Scalar scale = Scalar(1)) {
    backwardWeighted(dx, dTable, nullptr, scale);
  }

  /// As backward(), for the weighted loss (1/batch) Σ_b w_b · L_b (e.g. importance weights of timesteps);
  /// rowWeights: [batch] or null (all 1).
  template <class GradDerived>
  void backwardWeighted(Matrix& dx, const Eigen::MatrixBase<GradDerived>& dTable, const ArrayX<Scalar>* rowWeights,
                        Scalar scale = Scalar(1)) {
    const Index n = input_.rows();
    RECDIFF_REQUIRE(rowWeights == nullptr || rowWeights->size() == n, "ItemCrossEntropy::backward(): ",
                    rowWeights == nullptr ? 0 : rowWeights->size(), " row weights for ", n, " rows");
    grad_ = probs_;
    for (Index b = 0; b < n; ++b) grad_(b, labels_(b)) -= Scalar(1);
    grad_ *= scale / static_cast<Scalar>(n);
    if (rowWeights != nullptr) grad_.array().colwise() *= *rowWeights;
    dx.resize(n, input_.cols());
    gemm(dx, grad_, table_, Accumulate::kNo, precision_);
    auto& dt = const_cast<Eigen::MatrixBase<GradDerived>&>(dTable);
    RECDIFF_REQUIRE(dt.rows() == table_.rows() && dt.cols() == table_.cols(),
                    "ItemCrossEntropy::backward(): dTable is ", dt.rows(), "x", dt.cols(), ", expected ",
                    table_.rows(), "x", table_.cols());
    gemm(dt.derived(), grad_.transpose(), input_, Accumulate::kYes, precision_);
  }

  /// Arithmetic of the three products (scores, dx, dE); GemmPrecision::kFloat unless set. kBf16 needs
  /// Scalar = float (std::invalid_argument otherwise) and is checked for availability at the first product
  /// (docs/bf16.md). The softmax and the loss stay in Scalar.
  void setPrecision(GemmPrecision precision) {
    RECDIFF_REQUIRE((precision == GemmPrecision::kFloat || std::is_same_v<Scalar, float>),
                    "ItemCrossEntropy::setPrecision(): GemmPrecision::kBf16 needs float scores");
    precision_ = precision;
  }
  GemmPrecision precision() const noexcept { return precision_; }

 private:
  GemmPrecision precision_ = GemmPrecision::kFloat;
  Matrix input_, table_, probs_, grad_;
  Eigen::ArrayXi labels_;
  ArrayX<Scalar> losses_;
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_CROSS_ENTROPY_HPP
