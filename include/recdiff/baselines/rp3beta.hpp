#ifndef RECDIFF_BASELINES_RP3BETA_HPP
#define RECDIFF_BASELINES_RP3BETA_HPP

/// \file rp3beta.hpp
/// RP3beta: a three-step random walk user → item → user → item, with transition probabilities raised to α
/// and the arrival item's popularity penalised by β (Paudel, Christoffel, Newell, Bernstein, "Updatable,
/// Accurate, Diverse, and Scalable Recommendations for Interactive Applications", ACM TiiS 2017).

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "common.hpp"
#include "../io/fields.hpp"
#include "recommender.hpp"

namespace recdiff::baselines {

/// Hyperparameters of RP3beta.
struct RP3betaOptions {
  double alpha = 1.0;               ///< α > 0: exponent applied to both transition probabilities
  double beta = 0.5;                ///< β ≥ 0: popularity penalty, W_ij ∝ pop_j^(−β)
  Index neighbours = 200;           ///< k: item-item weights kept per source item (≥ 1)
  bool normalizeRows = false;       ///< divide each source item's kept weights by their sum

  /// The field table (io/fields.hpp): the keys of hyperparameters(); the Python keywords.
  template <class Self, class V>
  static void fields(Self& o, V&& v) {
    v(io::Field("alpha", "exponent of both transition probabilities (> 0)"), o.alpha);
    v(io::Field("beta", "popularity penalty (>= 0)"), o.beta);
    v(io::Field("neighbours", "item-item weights kept per source item (>= 1)").flag("--k,--neighbours"), o.neighbours);
    v(io::Field("normalize_rows", "divide each source item's kept weights by their sum"), o.normalizeRows);
  }
};

/// RP3beta (Paudel et al. 2017, Sec. 4; the item-item form of Christoffel et al. 2015's P³).
///
/// With X [users × items] and the item popularities pop_j = |{u : x_uj ≠ 0}|:
///   P_ui = x_ui / Σ_j x_uj            (user → item transition, rows sum to 1)
///   P_iu = [x_ui ≠ 0] / pop_i         (item → user transition, rows sum to 1)
///   W_ij = (Σ_u P_iu^α · P_uj^α) · pop_j^(−β)  for i ≠ j,  W_ii = 0,
/// then only the k largest W_ij of every row i are kept (ties to the lower index), optionally each row is
/// divided by its sum, and score(u, j) = Σ_i x_ui · W_ij. α = 1, β = 0 and no pruning give P³.
///
/// \tparam Scalar  type of the weights and the score block.
///
/// Usage:
/// \code
///   RP3beta<float> rp3({.alpha = 0.75, .beta = 0.3, .neighbours = 200});
///   rp3.fit(train);
///   RowMatrix<float> scores;
///   rp3.score(train, 0, 256, scores);       // [256 × items]
/// \endcode
template <class Scalar = float>
class RP3beta : public Recommender<RP3beta<Scalar>, Scalar> {
 public:
  static constexpr const char* kModelType = "RP3beta";
  using ScalarType = Scalar;  ///< the score type

  explicit RP3beta(RP3betaOptions options = {}) : options_(options) {
    RECDIFF_REQUIRE(options_.alpha > 0.0 && std::isfinite(options_.alpha), "RP3beta: alpha must be positive, got ",
                    options_.alpha);
    RECDIFF_REQUIRE(options_.beta >= 0.0 && std::isfinite(options_.beta), "RP3beta: beta must be >= 0, got ",
                    options_.beta);
    RECDIFF_REQUIRE(options_.neighbours >= 1, "RP3beta: neighbours must be at least 1, got ", options_.neighbours);
  }

  /// P_ui [users × items]: x with every row divided by its sum (empty rows stay empty). Row-stochastic.
  static InteractionMatrix userToItem(const InteractionMatrix& x) {
    InteractionMatrix p = x;
    for (Index u = 0; u < p.outerSize(); ++u) {
      double sum = 0.0;
      for (InteractionMatrix::InnerIterator it(p, u); it; ++it) sum += it.value();
      RECDIFF_REQUIRE(sum > 0.0 || p.innerVector(u).nonZeros() == 0, "RP3beta::userToItem(): user ", u,
                      " has a non-positive interaction total ", sum);
      for (InteractionMatrix::InnerIterator it(p, u); it; ++it) it.valueRef() = static_cast<float>(it.value() / sum);
    }
    return p;
  }

  /// P_iu [items × users]: the interaction pattern of every item divided by its popularity. Row-stochastic.
  static InteractionMatrix itemToUser(const InteractionMatrix& x) {
    InteractionMatrix p = detail::transposed(x);
    for (Index i = 0; i < p.outerSize(); ++i) {
      const auto popularity = static_cast<float>(p.innerVector(i).nonZeros());
      for (InteractionMatrix::InnerIterator it(p, i); it; ++it) it.valueRef() = 1.0f / popularity;
    }
    return p;
  }

  /// The dense walk matrix W [items × items] before pruning (zero diagonal).
  static RowMatrix<Scalar> walk(const InteractionMatrix& interactions, double alpha, double beta) {
    const Index items = interactions.cols();
    requireMemory(denseBytes(static_cast<std::uint64_t>(items), static_cast<std::uint64_t>(items), sizeof(Scalar)),
                  ::recdiff::detail::concat("RP3beta::fit(): the dense ", items, " x ", items, " item-item walk matrix"));
    InteractionMatrix x = interactions;
    x.makeCompressed();
    // Both transitions share X's sparsity pattern, so keep them as user × item matrices: left holds P_iu^α at
    // (u, i) and right holds P_ui^α at (u, i); then W = leftᵀ · right.
    InteractionMatrix right = userToItem(x);
    InteractionMatrix left = x;
    Eigen::ArrayXd popularity = Eigen::ArrayXd::Zero(items);
    for (Index k = 0; k < x.nonZeros(); ++k) popularity(x.innerIndexPtr()[k]) += 1.0;
    for (Index k = 0; k < x.nonZeros(); ++k) {
      const int i = x.innerIndexPtr()[k];
      left.valuePtr()[k] = static_cast<float>(std::pow(1.0 / popularity(i), alpha));
      right.valuePtr()[k] = static_cast<float>(std::pow(static_cast<double>(right.valuePtr()[k]), alpha));
    }
    RowMatrix<Scalar> w(items, items);
    detail::denseCrossProduct<Scalar>(left, right, w);
    RowVector<Scalar> penalty(items);
    for (Index j = 0; j < items; ++j)
      penalty(j) = popularity(j) > 0.0 ? static_cast<Scalar>(std::pow(popularity(j), -beta)) : Scalar(0);
    parallelFor(items, true, [&](Index i) {
      w.row(i).array() *= penalty.array();
      w(i, i) = Scalar(0);
    });
    return w;
  }

  /// Fits the pruned item-item weights on x [users × items].
  void fit(const InteractionMatrix& x) {
    RECDIFF_REQUIRE(x.cols() > 0, "RP3beta::fit(): the interaction matrix has no items");
    weights_ = detail::topKPerRow(walk(x, options_.alpha, options_.beta), options_.neighbours);
    if (options_.normalizeRows) {
      for (Index i = 0; i < weights_.outerSize(); ++i) {
        Scalar sum = 0;
        for (typename SparseWeights<Scalar>::InnerIterator it(weights_, i); it; ++it) sum += it.value();
        if (sum > Scalar(0))
          for (typename SparseWeights<Scalar>::InnerIterator it(weights_, i); it; ++it) it.valueRef() /= sum;
      }
    }
  }

  /// Scores users [first, first + count) of x: out [count × items].
  void score(const InteractionMatrix& x, Index first, Index count, RowMatrix<Scalar>& out) const {
    detail::prepareScores("RP3beta::score()", x, first, count, items(), out);
    detail::scoreSparse(x, first, count, weights_, out);
  }

  /// fit(train) on data::Interactions, and the model concept's fit(train, FitOptions, callbacks...).
  using Recommender<RP3beta<Scalar>, Scalar>::fit;

  /// score() for users [first, first + count) of `history` (data::Interactions::matrix()).
  void score(const data::Interactions& history, Index first, Index count, RowMatrix<Scalar>& out) const {
    score(history.matrix(), first, count, out);
  }

  /// Number of items the model was fitted on (0 before fit()).
  Index items() const noexcept { return weights_.rows(); }
  /// W [items × items] after pruning: row i holds the items j reached from i.
  const SparseWeights<Scalar>& weights() const noexcept { return weights_; }
  const RP3betaOptions& options() const noexcept { return options_; }

  /// The options as text (the concept's hyperparameters(); checkpoint header).
  std::map<std::string, std::string> hyperparameters() const {
    return {{"alpha", detail::number(options_.alpha)},
            {"beta", detail::number(options_.beta)},
            {"neighbours", std::to_string(options_.neighbours)},
            {"normalize_rows", options_.normalizeRows ? "1" : "0"}};
  }
  /// The fitted state for save(): W as CSR tensors.
  void writeState(std::vector<nn::ParameterShape>& shapes, std::vector<double>& values) const {
    detail::appendSparse(shapes, values, "weights", weights_);
  }
  /// Restores W and the options (load()).
  void readState(const std::vector<nn::ParameterShape>& shapes, const double* values,
                 const std::map<std::string, std::string>& h) {
    const char* who = "RP3beta::load()";
    options_.alpha = std::stod(detail::hyperparameter(h, "alpha", who));
    options_.beta = std::stod(detail::hyperparameter(h, "beta", who));
    options_.neighbours = std::stoll(detail::hyperparameter(h, "neighbours", who));
    options_.normalizeRows = detail::hyperparameter(h, "normalize_rows", who) == "1";
    weights_ = detail::readSparse<Scalar>(shapes, values, who);
  }

 private:
  RP3betaOptions options_;
  SparseWeights<Scalar> weights_;
};

}  // namespace recdiff::baselines

#endif  // RECDIFF_BASELINES_RP3BETA_HPP
