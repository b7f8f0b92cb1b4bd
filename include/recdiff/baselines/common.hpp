#ifndef RECDIFF_BASELINES_COMMON_HPP
#define RECDIFF_BASELINES_COMMON_HPP

/// \file common.hpp
/// Shared pieces of the baseline recommenders (MostPopular, ItemKNN, EASE, RP3beta): the interaction matrix
/// type they are fitted on, the dense and sparse item-item kernels they share, and the scoring loops that
/// turn a batch of user rows into a dense [batch × items] score block.
///
/// Orientation (fixed, as in the data layer): users are rows, items are columns. Every model scores a batch
/// of users from their interaction rows; the caller masks the history and ranks (recdiff::metrics), exactly
/// as for the diffusion models.

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../data/interactions.hpp"
#include "../error.hpp"
#include "../memory.hpp"
#include "../parallel.hpp"
#include "../types.hpp"

namespace recdiff::baselines {

/// The user × item interaction matrix the baselines are fitted on: CSR, users as rows, items as columns,
/// values are the interaction weights (1 for implicit feedback). The type of data::Interactions::matrix().
using InteractionMatrix = data::Interactions::Matrix;

/// A sparse item × item weight matrix in CSR (row i holds the items j that item i contributes to).
template <class Scalar>
using SparseWeights = Eigen::SparseMatrix<Scalar, Eigen::RowMajor, int>;

namespace detail {

/// CSR of the transpose (items × users) of a user × item matrix.
inline InteractionMatrix transposed(const InteractionMatrix& x) {
  InteractionMatrix t = x.transpose();
  t.makeCompressed();
  return t;
}

/// out = Lᵀ R, dense [items × items] (pre-sized by the caller), for two user × item CSR matrices of one shape.
/// Row i of out is Σ_u L(u, i) · R(u, :), accumulated from the item → users lists of L, so the cost is
/// Σ_u nnz(L row u) · nnz(R row u) (Σ_u deg(u)² for the Gram matrix), and rows are independent (OpenMP).
template <class Scalar>
void denseCrossProduct(const InteractionMatrix& left, const InteractionMatrix& right,
                       Eigen::Ref<RowMatrix<Scalar>> out) {
  RECDIFF_ASSERT(left.rows() == right.rows() && left.cols() == right.cols());
  RECDIFF_ASSERT(out.rows() == left.cols() && out.cols() == right.cols());
  const InteractionMatrix leftT = transposed(left);
  InteractionMatrix compressedCopy;
  const InteractionMatrix* rightPtr = &right;
  if (!right.isCompressed()) {
    compressedCopy = right;
    compressedCopy.makeCompressed();
    rightPtr = &compressedCopy;
  }
  const InteractionMatrix& rightC = *rightPtr;
  out.setZero();
  const int* rightOuter = rightC.outerIndexPtr();
  const int* rightInner = rightC.innerIndexPtr();
  const float* rightValue = rightC.valuePtr();
  parallelFor(leftT.rows(), true, LoopSchedule::dynamic(16), [&](Index i) {
    Scalar* row = out.row(i).data();
    for (InteractionMatrix::InnerIterator lit(leftT, i); lit; ++lit) {
      const Scalar l = static_cast<Scalar>(lit.value());
      const Index u = lit.index();
      for (int p = rightOuter[u]; p < rightOuter[u + 1]; ++p) row[rightInner[p]] += l * static_cast<Scalar>(rightValue[p]);
    }
  });
}

/// Keeps, in every row of a dense [n × m] matrix, the k largest strictly positive entries and returns them as
/// CSR. Ties at the k-th place go to the lower column index (a stated, deterministic rule).
template <class Scalar>
SparseWeights<Scalar> topKPerRow(const RowMatrix<Scalar>& dense, Index k) {
  const Index rows = dense.rows();
  const Index cols = dense.cols();
  std::vector<std::vector<std::pair<int, Scalar>>> kept(static_cast<std::size_t>(rows));
  parallelForWithState(rows, true, LoopSchedule::dynamic(16), [] { return std::vector<int>(); },
                       [&](std::vector<int>& candidates, Index i) {
    candidates.clear();
    const Scalar* row = dense.row(i).data();
    for (Index j = 0; j < cols; ++j)
      if (row[j] > Scalar(0)) candidates.push_back(static_cast<int>(j));
    const auto better = [row](int a, int b) { return row[a] > row[b] || (row[a] == row[b] && a < b); };
    if (static_cast<Index>(candidates.size()) > k) {
      std::nth_element(candidates.begin(), candidates.begin() + k, candidates.end(), better);
      candidates.resize(static_cast<std::size_t>(k));
    }
    std::sort(candidates.begin(), candidates.end());
    auto& out = kept[static_cast<std::size_t>(i)];
    out.reserve(candidates.size());
    for (int j : candidates) out.emplace_back(j, row[j]);
  });
  SparseWeights<Scalar> result(rows, cols);
  Eigen::VectorXi perRow(rows);
  for (Index i = 0; i < rows; ++i) perRow(i) = static_cast<int>(kept[static_cast<std::size_t>(i)].size());
  result.reserve(perRow);
  for (Index i = 0; i < rows; ++i)
    for (const auto& [j, v] : kept[static_cast<std::size_t>(i)]) result.insert(i, j) = v;
  result.makeCompressed();
  return result;
}

/// Checks that [first, first + count) is a valid row range of x and sizes out to [count × items].
template <class Scalar>
void prepareScores(const char* who, const InteractionMatrix& x, Index first, Index count, Index items,
                   RowMatrix<Scalar>& out) {
  RECDIFF_REQUIRE(items > 0, who, ": the model is not fitted");
  RECDIFF_REQUIRE(x.cols() == items, who, ": the interaction matrix has ", x.cols(),
                  " items but the model was fitted on ", items);
  RECDIFF_REQUIRE(first >= 0 && count >= 0 && first + count <= x.rows(), who, ": rows [", first, ", ",
                  first + count, ") outside the ", x.rows(), " users of the interaction matrix");
  out.resize(count, items);
}

/// out(b, :) = Σ_i x(first + b, i) · W(i, :) for a dense item × item W [items × items] (EASE).
template <class Scalar>
void scoreDense(const InteractionMatrix& x, Index first, Index count, const RowMatrix<Scalar>& weights,
                RowMatrix<Scalar>& out) {
  out.setZero();
  parallelFor(count, true, LoopSchedule::dynamic(8), [&](Index b) {
    auto row = out.row(b);
    for (InteractionMatrix::InnerIterator it(x, first + b); it; ++it)
      row.noalias() += static_cast<Scalar>(it.value()) * weights.row(it.index());
  });
}

/// out(b, :) = Σ_i x(first + b, i) · W(i, :) for a sparse item × item W (ItemKNN, RP3beta).
template <class Scalar>
void scoreSparse(const InteractionMatrix& x, Index first, Index count, const SparseWeights<Scalar>& weights,
                 RowMatrix<Scalar>& out) {
  out.setZero();
  const int* outer = weights.outerIndexPtr();
  const int* inner = weights.innerIndexPtr();
  const Scalar* value = weights.valuePtr();
  parallelFor(count, true, LoopSchedule::dynamic(8), [&](Index b) {
    Scalar* row = out.row(b).data();
    for (InteractionMatrix::InnerIterator it(x, first + b); it; ++it) {
      const Scalar v = static_cast<Scalar>(it.value());
      const Index i = it.index();
      for (int p = outer[i]; p < outer[i + 1]; ++p) row[inner[p]] += v * value[p];
    }
  });
}

}  // namespace detail
}  // namespace recdiff::baselines

#endif  // RECDIFF_BASELINES_COMMON_HPP
