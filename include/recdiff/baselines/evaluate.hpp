#ifndef RECDIFF_BASELINES_EVALUATE_HPP
#define RECDIFF_BASELINES_EVALUATE_HPP

/// \file evaluate.hpp
/// Evaluates a fitted baseline with the library's masked top-K and ranking metrics (recdiff::metrics), the
/// same path the diffusion models take: score a batch of users from their input rows, leave the masked items
/// out, keep the top max(ks), and average the held-out-set metrics.
///
/// DiffRec's protocol (Wang et al. 2023; YiyanXu/DiffRec main.py `evaluate`), as used by
/// examples/baselines_movielens:
///   validation: input = train rows, exclude = {train},        truth = valid
///   test:       input = train rows, exclude = {train, valid}, truth = test
///   Recall / Precision / NDCG / MRR at 10, 20, 50, 100, averaged over ALL users (no truth counts as 0).

#include <algorithm>
#include <numeric>
#include <span>
#include <vector>

#include "../metrics/ranking.hpp"
#include "../metrics/topk.hpp"
#include "common.hpp"

namespace recdiff::baselines {

/// Options of evaluateModel().
struct EvaluateOptions {
  Index batch = 1024;                                               ///< users scored at once
  metrics::UserAverage average = metrics::UserAverage::AllUsers;   ///< DiffRec: all users
};

/// Top-K ids [users × k] of a fitted model for every user of `input`, with the items of every `exclude`
/// matrix left out (metrics::topK: higher score first, equal scores by ascending item index).
/// \tparam Model  a baseline: `ScalarType` and `score(const InteractionMatrix&, Index first, Index count,
///                RowMatrix<ScalarType>&)`.
template <class Model>
metrics::IdMatrix rankAll(const Model& model, const InteractionMatrix& input,
                          const std::vector<const InteractionMatrix*>& exclude, Index k, Index batch = 1024) {
  RECDIFF_REQUIRE(batch > 0, "baselines::rankAll(): batch must be positive, got ", batch);
  for (const InteractionMatrix* m : exclude)
    RECDIFF_REQUIRE(m != nullptr && m->rows() == input.rows() && m->cols() == input.cols(),
                    "baselines::rankAll(): every mask must have the input's shape ", input.rows(), " x ", input.cols());
  using Scalar = typename Model::ScalarType;
  const Index users = input.rows();
  metrics::IdMatrix ids(users, k);
  RowMatrix<Scalar> scores;
  metrics::TopK<Scalar> top;
  std::vector<Index> rows;
  for (Index first = 0; first < users; first += batch) {
    const Index count = std::min(batch, users - first);
    model.score(input, first, count, scores);
    rows.resize(static_cast<std::size_t>(count));
    std::iota(rows.begin(), rows.end(), first);
    metrics::topK(scores, k, top, {.exclude = exclude, .users = rows});
    ids.middleRows(first, count) = top.ids;
  }
  return ids;
}

/// Held-out-set metrics at every cut-off in `ks` of a fitted model (see the file comment for the protocol).
template <class Model>
metrics::SetMetrics evaluateModel(const Model& model, const InteractionMatrix& input,
                                  const std::vector<const InteractionMatrix*>& exclude, const InteractionMatrix& truth,
                                  std::span<const Index> ks, const EvaluateOptions& options = {}) {
  RECDIFF_REQUIRE(!ks.empty(), "baselines::evaluateModel(): no cut-offs");
  RECDIFF_REQUIRE(truth.rows() == input.rows(), "baselines::evaluateModel(): truth has ", truth.rows(),
                  " users, the input ", input.rows());
  const Index k = *std::max_element(ks.begin(), ks.end());
  const metrics::IdMatrix ids = rankAll(model, input, exclude, k, options.batch);
  return metrics::evaluateSets(ids, truth, ks, {.average = options.average});
}

}  // namespace recdiff::baselines

#endif  // RECDIFF_BASELINES_EVALUATE_HPP
