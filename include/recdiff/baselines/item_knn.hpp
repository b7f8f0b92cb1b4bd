#ifndef RECDIFF_BASELINES_ITEM_KNN_HPP
#define RECDIFF_BASELINES_ITEM_KNN_HPP

/// \file item_knn.hpp
/// ItemKNN: item-based collaborative filtering with shrunk cosine similarity and top-k neighbourhoods
/// (Sarwar et al., WWW 2001; the shrunk cosine and per-item top-k as in Ferrari Dacrema et al., RecSys 2019).

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "common.hpp"
#include "../io/fields.hpp"
#include "recommender.hpp"

namespace recdiff::baselines {

/// Hyperparameters of ItemKNN.
struct ItemKNNOptions {
  Index neighbours = 100;           ///< k: neighbours kept per target item (≥ 1)
  double shrink = 10.0;             ///< h ≥ 0, added to the cosine denominator
  bool normalizeNeighbours = false; ///< divide each target item's kept weights by their sum

  /// The field table (io/fields.hpp): the keys of hyperparameters(); the Python keywords (k=, shrink=).
  template <class Self, class V>
  static void fields(Self& o, V&& v) {
    v(io::Field("neighbours", "neighbours kept per target item (>= 1)").flag("--k,--neighbours"), o.neighbours);
    v(io::Field("shrink", "shrinkage added to the cosine denominator (>= 0)"), o.shrink);
    v(io::Field("normalize_neighbours", "divide each target item's kept weights by their sum"), o.normalizeNeighbours);
  }
};

/// Item-based k-nearest-neighbours.
///
/// Similarity between items i and j over the columns x_i, x_j of X [users × items]:
///   s_ij = x_iᵀ x_j / (‖x_i‖ ‖x_j‖ + h)        (shrunk cosine; s_ii = 0; 0 when the numerator is 0).
/// For every target item j, only its k most similar items i are kept (ties at the k-th place go to the lower
/// index; non-positive similarities are dropped). With `normalizeNeighbours`, each target item's kept weights
/// are divided by their sum, so a score is a similarity-weighted average instead of a sum. The score of item
/// j for user u is
///   score(u, j) = Σ_i x_ui · W_ij,   W_ij = s_ij if i is among j's k neighbours, else 0.
///
/// \tparam Scalar  type of the similarities and the score block.
///
/// Usage:
/// \code
///   ItemKNN<float> knn({.neighbours = 200, .shrink = 10.0});
///   knn.fit(train);
///   RowMatrix<float> scores;
///   knn.score(train, 0, 256, scores);       // [256 × items]
/// \endcode
template <class Scalar = float>
class ItemKNN : public Recommender<ItemKNN<Scalar>, Scalar> {
 public:
  static constexpr const char* kModelType = "ItemKNN";
  using ScalarType = Scalar;  ///< the score type

  explicit ItemKNN(ItemKNNOptions options = {}) : options_(options) {
    RECDIFF_REQUIRE(options_.neighbours >= 1, "ItemKNN: neighbours must be at least 1, got ", options_.neighbours);
    RECDIFF_REQUIRE(options_.shrink >= 0.0 && std::isfinite(options_.shrink), "ItemKNN: shrink must be >= 0, got ",
                    options_.shrink);
  }

  /// The dense shrunk-cosine similarity matrix [items × items] of x (zero diagonal), before pruning.
  static RowMatrix<Scalar> similarity(const InteractionMatrix& x, double shrink) {
    requireMemory(denseBytes(static_cast<std::uint64_t>(x.cols()), static_cast<std::uint64_t>(x.cols()), sizeof(Scalar)),
                  ::recdiff::detail::concat("ItemKNN::fit(): the dense ", x.cols(), " x ", x.cols(), " item-item similarity"));
    RowMatrix<Scalar> s(x.cols(), x.cols());
    detail::denseCrossProduct<Scalar>(x, x, s);
    const ArrayX<Scalar> norms = s.diagonal().array().sqrt();
    const auto h = static_cast<Scalar>(shrink);
    parallelFor(s.rows(), true, [&](Index i) {
      for (Index j = 0; j < s.cols(); ++j) {
        const Scalar dot = s(i, j);
        s(i, j) = (i == j || dot == Scalar(0)) ? Scalar(0) : dot / (norms(i) * norms(j) + h);
      }
    });
    return s;
  }

  /// Fits the pruned neighbourhoods on x [users × items].
  void fit(const InteractionMatrix& x) {
    RECDIFF_REQUIRE(x.cols() > 0, "ItemKNN::fit(): the interaction matrix has no items");
    RowMatrix<Scalar> s = similarity(x, options_.shrink);
    // s is symmetric: row j holds target item j's similarities to every item i. Keep j's top k, then
    // transpose so that row i of the weights lists the targets j that item i votes for.
    SparseWeights<Scalar> byTarget = detail::topKPerRow(s, options_.neighbours);
    if (options_.normalizeNeighbours) {
      for (Index j = 0; j < byTarget.outerSize(); ++j) {
        Scalar sum = 0;
        for (typename SparseWeights<Scalar>::InnerIterator it(byTarget, j); it; ++it) sum += it.value();
        if (sum > Scalar(0))
          for (typename SparseWeights<Scalar>::InnerIterator it(byTarget, j); it; ++it) it.valueRef() /= sum;
      }
    }
    weights_ = byTarget.transpose();
    weights_.makeCompressed();
  }

  /// Scores users [first, first + count) of x: out [count × items].
  void score(const InteractionMatrix& x, Index first, Index count, RowMatrix<Scalar>& out) const {
    detail::prepareScores("ItemKNN::score()", x, first, count, items(), out);
    detail::scoreSparse(x, first, count, weights_, out);
  }

  /// fit(train) on data::Interactions, and the model concept's fit(train, FitOptions, callbacks...).
  using Recommender<ItemKNN<Scalar>, Scalar>::fit;

  /// score() for users [first, first + count) of `history` (data::Interactions::matrix()).
  void score(const data::Interactions& history, Index first, Index count, RowMatrix<Scalar>& out) const {
    score(history.matrix(), first, count, out);
  }

  /// Number of items the model was fitted on (0 before fit()).
  Index items() const noexcept { return weights_.rows(); }
  /// W [items × items]: row i holds the targets j that have i among their neighbours, with weight s_ij.
  const SparseWeights<Scalar>& weights() const noexcept { return weights_; }
  const ItemKNNOptions& options() const noexcept { return options_; }

  /// The options as text (the concept's hyperparameters(); checkpoint header).
  std::map<std::string, std::string> hyperparameters() const {
    return {{"neighbours", std::to_string(options_.neighbours)},
            {"shrink", detail::number(options_.shrink)},
            {"normalize_neighbours", options_.normalizeNeighbours ? "1" : "0"}};
  }
  /// The fitted state for save(): W as CSR tensors.
  void writeState(std::vector<nn::ParameterShape>& shapes, std::vector<double>& values) const {
    detail::appendSparse(shapes, values, "weights", weights_);
  }
  /// Restores W and the options (load()).
  void readState(const std::vector<nn::ParameterShape>& shapes, const double* values,
                 const std::map<std::string, std::string>& h) {
    const char* who = "ItemKNN::load()";
    options_.neighbours = std::stoll(detail::hyperparameter(h, "neighbours", who));
    options_.shrink = std::stod(detail::hyperparameter(h, "shrink", who));
    options_.normalizeNeighbours = detail::hyperparameter(h, "normalize_neighbours", who) == "1";
    weights_ = detail::readSparse<Scalar>(shapes, values, who);
  }

 private:
  ItemKNNOptions options_;
  SparseWeights<Scalar> weights_;
};

}  // namespace recdiff::baselines

#endif  // RECDIFF_BASELINES_ITEM_KNN_HPP
