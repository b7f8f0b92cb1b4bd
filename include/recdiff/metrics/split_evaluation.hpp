#ifndef RECDIFF_METRICS_SPLIT_EVALUATION_HPP
#define RECDIFF_METRICS_SPLIT_EVALUATION_HPP

/// \file split_evaluation.hpp
/// The one evaluator of interaction models (docs/concepts.md#model): any model with
/// `scores(input, users, out, rng)` — the diffusion models and the baselines alike — ranked under DiffRec's
/// protocol and reported as one MetricTable:
///   validation: scores from each user's train row, train items excluded,          truth = valid
///   test:       the same scores,                   train and valid items excluded, truth = test
/// Keys `valid.recall@20`, `test.ndcg@10`, … (precision, recall, ndcg, mrr, hit_rate at every K).
///
/// Usage:
///   const metrics::MetricTable table = metrics::evaluateSplits(model, train, valid, test, ks, rng);

#include <algorithm>
#include <span>
#include <vector>

#include "../data/interactions.hpp"
#include "../error.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "metric_table.hpp"
#include "ranking.hpp"
#include "topk.hpp"

namespace recdiff::metrics {

/// Options of evaluateSplits().
struct SplitEvaluationOptions {
  UserAverage average = UserAverage::AllUsers;  ///< DiffRec: all users, users without held-out items count 0
  Index batch = 1024;                           ///< users scored at once
};

/// Validation and test metrics of `model` at every K of `ks` (see the file comment); one scoring pass per
/// user serves both splits. \tparam Model provides `ScalarType` and `scores(const data::Interactions&,
/// std::span<const Index>, RowMatrix<ScalarType>&, Rng&)`.
template <class Model>
MetricTable evaluateSplits(Model& model, const data::Interactions& train, const data::Interactions& valid,
                           const data::Interactions& test, std::span<const Index> ks, Rng& rng,
                           const SplitEvaluationOptions& options = {}) {
  RECDIFF_REQUIRE(!ks.empty(), "metrics::evaluateSplits(): no cut-offs");
  RECDIFF_REQUIRE(options.batch > 0, "metrics::evaluateSplits(): batch must be positive, got ", options.batch);
  RECDIFF_REQUIRE(valid.users() == train.users() && test.users() == train.users() && valid.items() == train.items() &&
                      test.items() == train.items(),
                  "metrics::evaluateSplits(): train, valid and test must share one [users × items] shape");
  using Scalar = typename Model::ScalarType;
  const Index k = *std::max_element(ks.begin(), ks.end());
  const Index users = train.users();
  IdMatrix validIds(users, k), testIds(users, k);
  std::vector<Index> batchUsers;
  RowMatrix<Scalar> s;
  TopK<Scalar> top;
  for (Index first = 0; first < users; first += options.batch) {
    const Index n = std::min(options.batch, users - first);
    batchUsers.resize(static_cast<std::size_t>(n));
    for (Index r = 0; r < n; ++r) batchUsers[static_cast<std::size_t>(r)] = first + r;
    model.scores(train, std::span<const Index>(batchUsers), s, rng);
    topK(s, k, top, {.exclude = {&train.matrix()}, .users = batchUsers});
    validIds.middleRows(first, n) = top.ids;
    topK(s, k, top, {.exclude = {&train.matrix(), &valid.matrix()}, .users = batchUsers});
    testIds.middleRows(first, n) = top.ids;
  }
  MetricTable table;
  table.add("valid", evaluateSets(validIds, valid.matrix(), ks, {.average = options.average}));
  table.add("test", evaluateSets(testIds, test.matrix(), ks, {.average = options.average}));
  return table;
}

/// What every interaction model's recommend() is: the top-k items of `users` (ids and scores, best first) from
/// `model.scores(input, users, …)`; with filterSeen the items of `input` — and of every extra mask, e.g. a
/// validation split — are never returned. \tparam Model as for evaluateSplits().
template <class Model>
TopK<typename Model::ScalarType> recommendUsers(Model& model, const data::Interactions& input,
                                                std::span<const Index> users, Index k, bool filterSeen, Rng& rng,
                                                const std::vector<const CsrMatrix*>& extraMasks = {}) {
  RowMatrix<typename Model::ScalarType> s;
  model.scores(input, users, s, rng);
  TopKOptions options;
  if (filterSeen) options.exclude.push_back(&input.matrix());
  options.exclude.insert(options.exclude.end(), extraMasks.begin(), extraMasks.end());
  options.users = users;
  TopK<typename Model::ScalarType> top;
  topK(s, k, top, options);
  return top;
}

}  // namespace recdiff::metrics

#endif  // RECDIFF_METRICS_SPLIT_EVALUATION_HPP
