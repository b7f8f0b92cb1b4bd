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

/// The validation and test top-k ids (rows `begin` … `end` − 1 of validIds and testIds, [users × k]) of users
/// [begin, end) under the protocol of evaluateSplits(), in batches of `batch` users from `begin`: what
/// evaluateSplits ranks, for a range of users (sharded evaluation, recdiff/distributed/evaluation.hpp).
template <class Model>
void rankSplits(Model& model, const data::Interactions& train, const data::Interactions& valid, Index begin,
                Index end, Index k, Index batch, Rng& rng, IdMatrix& validIds, IdMatrix& testIds) {
  using Scalar = typename Model::ScalarType;
  std::vector<Index> batchUsers;
  RowMatrix<Scalar> s;
  TopK<Scalar> top;
  for (Index first = begin; first < end; first += batch) {
    const Index n = std::min(batch, end - first);
    batchUsers.resize(static_cast<std::size_t>(n));
    for (Index r = 0; r < n; ++r) batchUsers[static_cast<std::size_t>(r)] = first + r;
    model.scores(train, std::span<const Index>(batchUsers), s, rng);
    topK(s, k, top, {.exclude = {&train.matrix()}, .users = batchUsers});
    validIds.middleRows(first, n) = top.ids;
    topK(s, k, top, {.exclude = {&train.matrix(), &valid.matrix()}, .users = batchUsers});
    testIds.middleRows(first, n) = top.ids;
  }
}

/// Checks the arguments of evaluateSplits() (and of its sharded form); `who` names the caller.
inline void checkSplits(const data::Interactions& train, const data::Interactions& valid,
                        const data::Interactions& test, std::span<const Index> ks, Index batch, const char* who) {
  RECDIFF_REQUIRE(!ks.empty(), who, ": no cut-offs");
  RECDIFF_REQUIRE(batch > 0, who, ": batch must be positive, got ", batch);
  RECDIFF_REQUIRE(valid.users() == train.users() && test.users() == train.users() && valid.items() == train.items() &&
                      test.items() == train.items(),
                  who, ": train, valid and test must share one [users × items] shape");
}

/// Validation and test metrics of `model` at every K of `ks` (see the file comment); one scoring pass per
/// user serves both splits. \tparam Model provides `ScalarType` and `scores(const data::Interactions&,
/// std::span<const Index>, RowMatrix<ScalarType>&, Rng&)`.
template <class Model>
MetricTable evaluateSplits(Model& model, const data::Interactions& train, const data::Interactions& valid,
                           const data::Interactions& test, std::span<const Index> ks, Rng& rng,
                           const SplitEvaluationOptions& options = {}) {
  checkSplits(train, valid, test, ks, options.batch, "metrics::evaluateSplits()");
  const Index k = *std::max_element(ks.begin(), ks.end());
  const Index users = train.users();
  IdMatrix validIds(users, k), testIds(users, k);
  rankSplits(model, train, valid, 0, users, k, options.batch, rng, validIds, testIds);
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
