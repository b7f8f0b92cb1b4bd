#ifndef RECDIFF_BASELINES_MOST_POPULAR_HPP
#define RECDIFF_BASELINES_MOST_POPULAR_HPP

/// \file most_popular.hpp
/// MostPopular: every user gets the same ranking, items ordered by their number of training interactions.

#include <algorithm>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "common.hpp"
#include "recommender.hpp"

namespace recdiff::baselines {

/// Non-personalised popularity ranking.
///
/// fit() counts, for every item, the users who interacted with it in training (the stored non-zeros of its
/// column, whatever their values). The ranking orders items by decreasing count; **ties go to the lower item
/// index** (a stable sort by count). score() writes the same strict ranking for every user as the value
/// items − rank (the most popular item scores `items`, the least popular 1), so any top-K over the scores,
/// whatever its own tie rule, reproduces this order exactly: float represents these values exactly below
/// 2^24 items. The raw counts are available from counts().
///
/// \tparam Scalar  type of the score block.
///
/// Usage:
/// \code
///   MostPopular<float> pop;
///   pop.fit(train);                         // train: InteractionMatrix [users × items]
///   RowMatrix<float> scores;
///   pop.score(train, 0, 256, scores);       // [256 × items]; mask the history, then rank
/// \endcode
template <class Scalar = float>
class MostPopular : public Recommender<MostPopular<Scalar>, Scalar> {
 public:
  static constexpr const char* kModelType = "MostPopular";
  using ScalarType = Scalar;  ///< the score type

  /// Counts the interactions of every item of x [users × items].
  void fit(const InteractionMatrix& x) {
    RECDIFF_REQUIRE(x.cols() > 0, "MostPopular::fit(): the interaction matrix has no items");
    RECDIFF_REQUIRE(x.cols() < (Index(1) << 24), "MostPopular::fit(): ", x.cols(),
                    " items do not have exact float ranks (the limit is 2^24)");
    counts_ = Eigen::ArrayXi::Zero(x.cols());
    for (Index u = 0; u < x.outerSize(); ++u)
      for (InteractionMatrix::InnerIterator it(x, u); it; ++it) ++counts_(it.index());
    rank();
  }

  /// No hyperparameters (the concept's hyperparameters(); the checkpoint header records the item count).
  std::map<std::string, std::string> hyperparameters() const { return {{"items", std::to_string(items())}}; }
  /// The fitted state for save(): the counts [items].
  void writeState(std::vector<nn::ParameterShape>& shapes, std::vector<double>& values) const {
    detail::appendState(shapes, values, "counts", {counts_.size()}, counts_);
  }
  /// Restores the counts and the ranking from them (load()).
  void readState(const std::vector<nn::ParameterShape>& shapes, const double* values,
                 const std::map<std::string, std::string>&) {
    RECDIFF_REQUIRE(shapes.size() == 1 && shapes[0].dims.size() == 1 && shapes[0].dims[0] > 0,
                    "MostPopular::load(): expected one tensor of counts");
    counts_.resize(shapes[0].dims[0]);
    for (Index i = 0; i < counts_.size(); ++i) counts_(i) = static_cast<int>(values[i]);
    rank();
  }

 private:
  /// The ranking and rank scores from counts_.
  void rank() {
    const Index items = counts_.size();
    ranking_.resize(static_cast<std::size_t>(items));
    std::iota(ranking_.begin(), ranking_.end(), Index(0));
    std::stable_sort(ranking_.begin(), ranking_.end(), [this](Index a, Index b) { return counts_(a) > counts_(b); });
    rankScore_.resize(items);
    for (std::size_t r = 0; r < ranking_.size(); ++r)
      rankScore_(ranking_[r]) = static_cast<Scalar>(items - static_cast<Index>(r));
  }

 public:

  /// Writes the popularity score of every item for users [first, first + count) of x: out [count × items].
  /// The interaction rows are not used (the model is not personalised); x only fixes the shapes.
  void score(const InteractionMatrix& x, Index first, Index count, RowMatrix<Scalar>& out) const {
    detail::prepareScores("MostPopular::score()", x, first, count, items(), out);
    out.rowwise() = rankScore_;
  }

  /// fit(train) on data::Interactions, and the model concept's fit(train, FitOptions, callbacks...).
  using Recommender<MostPopular<Scalar>, Scalar>::fit;

  /// score() for users [first, first + count) of `history` (data::Interactions::matrix()).
  void score(const data::Interactions& history, Index first, Index count, RowMatrix<Scalar>& out) const {
    score(history.matrix(), first, count, out);
  }

  /// Number of items the model was fitted on (0 before fit()).
  Index items() const noexcept { return rankScore_.size(); }
  /// Training interactions per item [items].
  const Eigen::ArrayXi& counts() const noexcept { return counts_; }
  /// Items from the most to the least popular, ties by lower index first [items].
  const std::vector<Index>& ranking() const noexcept { return ranking_; }

 private:
  Eigen::ArrayXi counts_;
  std::vector<Index> ranking_;
  RowVector<Scalar> rankScore_;
};

}  // namespace recdiff::baselines

#endif  // RECDIFF_BASELINES_MOST_POPULAR_HPP
