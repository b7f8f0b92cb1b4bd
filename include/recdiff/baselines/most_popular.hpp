#ifndef RECDIFF_BASELINES_MOST_POPULAR_HPP
#define RECDIFF_BASELINES_MOST_POPULAR_HPP

/// \file most_popular.hpp
/// MostPopular: every user gets the same ranking, items ordered by their number of training interactions.

#include <algorithm>
#include <numeric>
#include <vector>

#include "common.hpp"

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
class MostPopular {
 public:
  using ScalarType = Scalar;  ///< the score type

  /// Counts the interactions of every item of x [users × items].
  void fit(const InteractionMatrix& x) {
    RECDIFF_REQUIRE(x.cols() > 0, "MostPopular::fit(): the interaction matrix has no items");
    RECDIFF_REQUIRE(x.cols() < (Index(1) << 24), "MostPopular::fit(): ", x.cols(),
                    " items do not have exact float ranks (the limit is 2^24)");
    counts_ = Eigen::ArrayXi::Zero(x.cols());
    for (Index u = 0; u < x.outerSize(); ++u)
      for (InteractionMatrix::InnerIterator it(x, u); it; ++it) ++counts_(it.index());
    ranking_.resize(static_cast<std::size_t>(x.cols()));
    std::iota(ranking_.begin(), ranking_.end(), Index(0));
    std::stable_sort(ranking_.begin(), ranking_.end(), [this](Index a, Index b) { return counts_(a) > counts_(b); });
    rankScore_.resize(x.cols());
    for (std::size_t r = 0; r < ranking_.size(); ++r)
      rankScore_(ranking_[r]) = static_cast<Scalar>(x.cols() - static_cast<Index>(r));
  }

  /// Writes the popularity score of every item for users [first, first + count) of x: out [count × items].
  /// The interaction rows are not used (the model is not personalised); x only fixes the shapes.
  void score(const InteractionMatrix& x, Index first, Index count, RowMatrix<Scalar>& out) const {
    detail::prepareScores("MostPopular::score()", x, first, count, items(), out);
    out.rowwise() = rankScore_;
  }

  /// fit() on the interaction matrix of `train` (data::Interactions::matrix()).
  void fit(const data::Interactions& train) { fit(train.matrix()); }
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
