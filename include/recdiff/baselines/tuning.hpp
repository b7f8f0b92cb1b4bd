#ifndef RECDIFF_BASELINES_TUNING_HPP
#define RECDIFF_BASELINES_TUNING_HPP

/// \file tuning.hpp
/// Validation-based tuning of the baselines over small stated grids. Nothing here is random: every model is
/// deterministic given its data and hyperparameters, so no seed is involved.
///
/// The grids (selection metric: validation Recall@20, higher wins, ties go to the earlier grid point):
///   EASE     λ ∈ {100, 200, 500, 1000, 2000}                                               (5 points)
///   ItemKNN  k ∈ {50, 100, 200, 500} × shrink ∈ {0, 10, 100} × normalizeNeighbours ∈ {no, yes}  (24)
///   RP3beta  α ∈ {0.5, 0.75, 1.0} × β ∈ {0, 0.2, 0.4, 0.6, 0.8} × k ∈ {100, 200, 500, 1000},
///            rows not normalised                                                            (60)

#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "ease.hpp"
#include "item_knn.hpp"
#include "rp3beta.hpp"

namespace recdiff::baselines {

/// One evaluated grid point.
template <class Options>
struct Trial {
  Options options;
  double score = 0.0;  ///< the selection metric (validation Recall@20 in the examples)
};

/// The outcome of a grid search: the best point and every trial in grid order.
template <class Options>
struct TuningResult {
  Options best{};
  double bestScore = 0.0;
  std::vector<Trial<Options>> trials;
};

/// Evaluates `evaluate(options) -> double` at every grid point and keeps the highest; ties go to the earlier
/// grid point. Throws std::invalid_argument on an empty grid.
template <class Options, class Evaluate>
TuningResult<Options> selectOnValidation(const std::vector<Options>& grid, Evaluate&& evaluate) {
  RECDIFF_REQUIRE(!grid.empty(), "baselines::selectOnValidation(): empty grid");
  TuningResult<Options> result;
  for (const Options& options : grid) {
    const double score = static_cast<double>(evaluate(options));
    result.trials.push_back({options, score});
    if (result.trials.size() == 1 || score > result.bestScore) {
      result.best = options;
      result.bestScore = score;
    }
  }
  return result;
}

/// EASE's grid: λ ∈ {100, 200, 500, 1000, 2000}.
inline std::vector<EASEOptions> easeGrid() {
  std::vector<EASEOptions> grid;
  for (const double lambda : {100.0, 200.0, 500.0, 1000.0, 2000.0}) grid.push_back({.lambda = lambda});
  return grid;
}

/// ItemKNN's grid: k ∈ {50, 100, 200, 500} × shrink ∈ {0, 10, 100} × normalizeNeighbours ∈ {false, true}.
inline std::vector<ItemKNNOptions> itemKnnGrid() {
  std::vector<ItemKNNOptions> grid;
  for (const Index k : {50, 100, 200, 500})
    for (const double shrink : {0.0, 10.0, 100.0})
      for (const bool normalize : {false, true})
        grid.push_back({.neighbours = k, .shrink = shrink, .normalizeNeighbours = normalize});
  return grid;
}

/// RP3beta's grid: α ∈ {0.5, 0.75, 1.0} × β ∈ {0, 0.2, 0.4, 0.6, 0.8} × k ∈ {100, 200, 500, 1000}.
inline std::vector<RP3betaOptions> rp3betaGrid() {
  std::vector<RP3betaOptions> grid;
  for (const double alpha : {0.5, 0.75, 1.0})
    for (const double beta : {0.0, 0.2, 0.4, 0.6, 0.8})
      for (const Index k : {100, 200, 500, 1000}) grid.push_back({.alpha = alpha, .beta = beta, .neighbours = k});
  return grid;
}

/// Short human-readable descriptions of the hyperparameters ("lambda=1000").
inline std::string describe(const EASEOptions& o) {
  std::ostringstream os;
  os << "lambda=" << o.lambda;
  return os.str();
}
inline std::string describe(const ItemKNNOptions& o) {
  std::ostringstream os;
  os << "k=" << o.neighbours << " shrink=" << o.shrink << " normalize=" << (o.normalizeNeighbours ? "yes" : "no");
  return os.str();
}
inline std::string describe(const RP3betaOptions& o) {
  std::ostringstream os;
  os << "alpha=" << o.alpha << " beta=" << o.beta << " k=" << o.neighbours
     << (o.normalizeRows ? " normalize=yes" : "");
  return os.str();
}

}  // namespace recdiff::baselines

#endif  // RECDIFF_BASELINES_TUNING_HPP
