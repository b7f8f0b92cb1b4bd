#ifndef RECDIFF_DISTRIBUTED_EVALUATION_HPP
#define RECDIFF_DISTRIBUTED_EVALUATION_HPP

/// \file distributed/evaluation.hpp
/// Sharded evaluation: the users split over the ranks in whole scoring batches (contiguous blocks of batches,
/// rank order), every rank scores and ranks its own users' top-K (metrics::rankSplits), the ids are
/// all-gathered, and every rank computes the metrics of all users. Each batch is scored exactly as by
/// metrics::evaluateSplits in one process (the same users together, the same calls), so the table is the
/// single process's, bit for bit, on every rank — when scoring draws no random numbers (DiffRec without
/// samplingNoise, the baselines); a model that draws noise while scoring draws other numbers on a shard.
///
/// Usage:
///   const metrics::MetricTable t = distributed::evaluateSplits(model, world, train, valid, test, ks, rng,
///                                                              {.batch = 400});
///   const metrics::LabelMetrics m = distributed::evaluateNextItem(world, seqs, samples, ks, protocol, padding,
///                                                                 columns, scorer);   // DiffuRec, DreamRec
///
/// Next-item evaluation (models/next_item_evaluation.hpp) is sharded the same way: each rank computes the
/// weighted per-batch HR/NDCG terms of its block of batches, the terms are all-gathered and summed in batch
/// order on every rank — the single process's sums, bit for bit.

#include <algorithm>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "../data/interactions.hpp"
#include "../metrics/metric_table.hpp"
#include "../metrics/split_evaluation.hpp"
#include "../models/next_item_evaluation.hpp"
#include "../random/rng.hpp"
#include "communicator.hpp"

namespace recdiff::distributed {

/// The users [begin, end) of rank `rank` of `ranks` when `users` users are scored in batches of `batch`:
/// whole batches, contiguous blocks of them in rank order (a rank may get none when batches < ranks).
inline std::pair<Index, Index> userShard(Index users, Index batch, int rank, int ranks) {
  const Index batches = (users + batch - 1) / batch;
  const std::vector<int> perRank = shardCounts(batches, ranks);
  Index firstBatch = 0;
  for (int r = 0; r < rank; ++r) firstBatch += perRank[static_cast<std::size_t>(r)];
  const Index lastBatch = firstBatch + perRank[static_cast<std::size_t>(rank)];
  return {std::min(users, firstBatch * batch), std::min(users, lastBatch * batch)};
}

/// metrics::evaluateSplits with the users sharded over `comm` (see the file comment); every rank returns the
/// same table. With one process it is metrics::evaluateSplits.
template <class Model>
metrics::MetricTable evaluateSplits(Model& model, Communicator& comm, const data::Interactions& train,
                                    const data::Interactions& valid, const data::Interactions& test,
                                    std::span<const Index> ks, Rng& rng,
                                    const metrics::SplitEvaluationOptions& options = {}) {
  if (comm.size() == 1) return metrics::evaluateSplits(model, train, valid, test, ks, rng, options);
  metrics::checkSplits(train, valid, test, ks, options.batch, "distributed::evaluateSplits()");
  const Index k = *std::max_element(ks.begin(), ks.end());
  const Index users = train.users();
  metrics::IdMatrix validIds(users, k), testIds(users, k);
  const auto [begin, end] = userShard(users, options.batch, comm.rank(), comm.size());
  metrics::rankSplits(model, train, valid, begin, end, k, options.batch, rng, validIds, testIds);
  std::vector<int> counts(static_cast<std::size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r) {
    const auto [b, e] = userShard(users, options.batch, r, comm.size());
    counts[static_cast<std::size_t>(r)] = static_cast<int>((e - b) * k);
  }
  for (metrics::IdMatrix* ids : {&validIds, &testIds}) {
    const std::vector<int> mine(ids->data() + begin * k, ids->data() + end * k);
    comm.allgather(std::span<const int>(mine), std::span<int>(ids->data(), static_cast<std::size_t>(ids->size())),
                   std::span<const int>(counts));
  }
  metrics::MetricTable table;
  table.add("valid", metrics::evaluateSets(validIds, valid.matrix(), ks, {.average = options.average}));
  table.add("test", metrics::evaluateSets(testIds, test.matrix(), ks, {.average = options.average}));
  return table;
}

/// The first scoring batch of rank `rank` when `batches` batches are split over `ranks` (contiguous blocks in
/// rank order, distributed::shardCounts' sizes); rank `ranks` gives the end.
inline Index firstBatchOf(Index batches, int rank, int ranks) {
  const std::vector<int> perRank = shardCounts(batches, ranks);
  Index first = 0;
  for (int r = 0; r < rank; ++r) first += perRank[static_cast<std::size_t>(r)];
  return first;
}

/// evaluateNextItem with the scoring batches sharded over `comm` (see the file comment); every rank returns the
/// same metrics, equal to the single process's. `scorer` is called for this rank's batches only.
template <class Scorer>
metrics::LabelMetrics evaluateNextItem(Communicator& comm, const data::Sequences& seqs,
                                       const data::SequenceSamples& samples, std::span<const Index> ks,
                                       const NextItemProtocol& protocol, const data::PaddingOptions& padding,
                                       Index columns, Scorer&& scorer) {
  const metrics::CsrMatrix mask = nextItemMask(seqs, samples, ks, protocol, columns);
  const Index n = samples.size(), batches = (n + protocol.batchSize - 1) / protocol.batchSize;
  std::vector<double> mine;
  nextItemTerms(seqs, samples, ks, protocol, padding, columns, mask, firstBatchOf(batches, comm.rank(), comm.size()),
                firstBatchOf(batches, comm.rank() + 1, comm.size()), scorer, mine);
  const Index width = 2 * static_cast<Index>(ks.size());
  const std::vector<int> counts = shardCounts(batches, comm.size(), width);
  std::vector<double> all(static_cast<std::size_t>(batches * width));
  comm.allgather(std::span<const double>(mine), std::span<double>(all), std::span<const int>(counts));
  return sumNextItemTerms(ks, n, all);
}

/// A sequential model's evaluate(full, samples, ks, rng, protocol) (DiffuRec, DreamRec) with the scoring
/// batches sharded over `comm`. Their scoring draws noise, so each rank first advances its copy of `rng` past
/// the batches before its own (Model::advanceScoringRng: what one scores() call advances it by): every batch
/// is scored with the single process's random numbers, and the table is the single process's, bit for bit,
/// on every rank. `rng` ends where the single process's evaluation leaves it. `extra` goes to the model's
/// evaluate() and scores() (DreamRec: the guidance weight).
template <class Model, class... Extra>
metrics::MetricTable evaluateSequences(Model& model, Communicator& comm, const data::Sequences& full,
                                       const data::SequenceSamples& samples, std::span<const Index> ks, Rng& rng,
                                       const NextItemProtocol& protocol = {}, const Extra&... extra) {
  if (comm.size() == 1) return model.evaluate(full, samples, ks, rng, protocol, extra...);
  using Scalar = typename Model::ScalarType;
  const Index batches = (samples.size() + protocol.batchSize - 1) / protocol.batchSize;
  const Index first = firstBatchOf(batches, comm.rank(), comm.size());
  Rng mine = rng;
  for (Index b = 0; b < first; ++b) Model::advanceScoringRng(mine);
  RowMatrix<Scalar> scores;
  metrics::MetricTable table;
  table.add("", evaluateNextItem(comm, full, samples, ks, protocol, model.padding(), model.columns(),
                                 [&](const data::HistoryBatch& b, RowMatrix<float>& out) {
                                   if constexpr (std::is_same_v<Scalar, float>) {
                                     model.scores(b, out, mine, extra...);
                                   } else {
                                     model.scores(b, scores, mine, extra...);
                                     out = scores.template cast<float>();
                                   }
                                 }));
  for (Index b = 0; b < batches; ++b) Model::advanceScoringRng(rng);
  return table;
}

}  // namespace recdiff::distributed

#endif  // RECDIFF_DISTRIBUTED_EVALUATION_HPP
