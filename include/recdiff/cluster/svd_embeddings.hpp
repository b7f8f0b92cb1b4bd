#ifndef RECDIFF_CLUSTER_SVD_EMBEDDINGS_HPP
#define RECDIFF_CLUSTER_SVD_EMBEDDINGS_HPP

/// \file svd_embeddings.hpp
/// Item embeddings from a truncated SVD of the interaction matrix, L-DiffRec's fallback when no pretrained item
/// embeddings are given (the authors cluster LightGCN embeddings shipped as `item_emb.npy`).
///
/// Why this choice: X ≈ U_d Σ_d V_dᵀ is the best rank-d approximation of the [users × items] matrix, and the
/// rows of V_d Σ_d reproduce the items' co-occurrence inner products, X ᵀX ≈ (V_d Σ_d)(V_d Σ_d)ᵀ — the same
/// collaborative signal a LightGCN embedding is trained to capture, without training, hyperparameters or a
/// dependency, in O(nnz · l · (2q + 2)) time. k-means distances on V_d Σ_d are invariant to the sign of each
/// singular vector, so the clusters do not depend on SVD sign conventions.
///
/// Algorithm: randomised range finder with subspace iteration (Halko, Martinsson and Tropp, SIAM Review 2011,
/// Alg. 4.4 and 5.1), in double: Ω [items × l] standard normal from `rng` with l = min(d + oversampling, users,
/// items); Q = orth(X Ω); q times: Q = orth(X orth(Xᵀ Q)); then the thin SVD of Bᵀ = Xᵀ Q [items × l] gives
/// V and Σ; the first d columns are kept. Each column's entry of largest magnitude is made positive, so the
/// output is a deterministic function of (X, options, rng state).
///
/// Usage:
///   const auto svd = recdiff::cluster::svdItemEmbeddings(train.matrix(), {.dims = 64}, rng);
///   const auto labels = recdiff::clusterItems(svd.itemFactors, 2, rng);

#include <algorithm>
#include <cmath>

#include <Eigen/Core>
#include <Eigen/QR>
#include <Eigen/SVD>

#include "../error.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"

namespace recdiff::cluster {

/// Options of svdItemEmbeddings().
struct SvdEmbeddingOptions {
  Index dims = 64;             ///< d, the embedding width (64 = the width of DiffRec's item_emb.npy)
  Index oversampling = 10;     ///< extra random directions (l = d + oversampling)
  Index powerIterations = 4;   ///< q, subspace iterations (sharpen a slowly decaying spectrum)
};

/// What svdItemEmbeddings() computed.
struct SvdEmbedding {
  RowMatrix<double> itemFactors;  ///< [items × d] rows of V_d Σ_d
  Eigen::VectorXd singularValues; ///< [d] σ_1 ≥ … ≥ σ_d
};

/// Truncated SVD item embeddings of `x` [users × items] (any Eigen dense or sparse matrix), see the file comment.
template <class MatrixType>
SvdEmbedding svdItemEmbeddings(const MatrixType& x, const SvdEmbeddingOptions& o, Rng rng) {
  const Index users = x.rows(), items = x.cols();
  RECDIFF_REQUIRE(o.dims >= 1 && o.dims <= std::min(users, items), "svdItemEmbeddings(): dims = ", o.dims,
                  " must lie in [1, min(users, items) = ", std::min(users, items), "]");
  RECDIFF_REQUIRE(o.oversampling >= 0 && o.powerIterations >= 0,
                  "svdItemEmbeddings(): oversampling and powerIterations must be >= 0");
  const auto xd = x.template cast<double>().eval();
  const Index l = std::min({o.dims + o.oversampling, users, items});
  const auto orth = [](const Eigen::MatrixXd& a) -> Eigen::MatrixXd {
    Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
    return qr.householderQ() * Eigen::MatrixXd::Identity(a.rows(), a.cols());
  };
  RowMatrix<double> omega(items, l);
  rng.fillNormal(omega);
  Eigen::MatrixXd q = orth(xd * Eigen::MatrixXd(omega));
  for (Index i = 0; i < o.powerIterations; ++i) {
    const Eigen::MatrixXd z = orth(xd.transpose() * q);
    q = orth(xd * z);
  }
  const Eigen::MatrixXd bt = xd.transpose() * q;  // [items × l] = X ᵀQ
  const Eigen::BDCSVD<Eigen::MatrixXd> svd(bt, Eigen::ComputeThinU);
  SvdEmbedding out;
  out.singularValues = svd.singularValues().head(o.dims);
  out.itemFactors = svd.matrixU().leftCols(o.dims) * out.singularValues.asDiagonal();
  for (Index c = 0; c < o.dims; ++c) {
    Index at = 0;
    out.itemFactors.col(c).cwiseAbs().maxCoeff(&at);
    if (out.itemFactors(at, c) < 0.0) out.itemFactors.col(c) *= -1.0;
  }
  return out;
}

}  // namespace recdiff::cluster

#endif  // RECDIFF_CLUSTER_SVD_EMBEDDINGS_HPP
