#ifndef RECDIFF_MODELS_NEXT_ITEM_EVALUATION_HPP
#define RECDIFF_MODELS_NEXT_ITEM_EVALUATION_HPP

/// \file next_item_evaluation.hpp
/// Next-item evaluation of a sequential recommender (DiffuRec, DreamRec, any scorer): every sample
/// (user, end) of a data::SequenceSamples set is a history (the items before `end`, the last maxLen of them,
/// padded) and ONE held-out label (the item at `end`), ranked among all score columns (metrics::evaluateLabels:
/// HR@K, NDCG@K under full ranking).
///
/// Every protocol choice is a field of NextItemProtocol; the defaults are the sound ones:
///   maskHistory  true   every item the user had before the label (the whole history, not only the last
///                       maxLen) is left out of the ranking — the label itself never is
///   rankPadding  false  the padding column (PaddingOptions::padId, when it is a score column) is never ranked
///   average      PerRow the mean over samples
/// NextItemProtocol::reference() is DiffuRec's own code (WHUIR/DiffuRec trainer.py hrs_and_ndcgs_k): no history
/// mask, the padding item 0 ranked like any item, the mean of per-batch means over batches of 512 users, with
/// float32 NDCG sums.
///
/// Usage (compiled in tests/models/usage_snippets_test.cpp, snippet next_item_evaluation):
///   const auto split = data::leaveLastOut(full);
///   auto m = evaluateNextItem(full, split.test, std::vector<Index>{5, 10}, NextItemProtocol{}, model.padding(),
///                             model.columns(), [&](const data::HistoryBatch& b, RowMatrix<float>& scores) {
///                               model.scores(b, scores, rng);  // [b × columns]
///                             });

#include <algorithm>
#include <span>
#include <vector>

#include <Eigen/SparseCore>

#include "../data/batching.hpp"
#include "../data/sequences.hpp"
#include "../error.hpp"
#include "../metrics/ranking.hpp"
#include "../metrics/topk.hpp"

namespace recdiff {

/// How held-out next items are ranked and averaged; see the file comment.
struct NextItemProtocol {
  bool maskHistory = true;   ///< leave the user's earlier items out of the ranking
  bool rankPadding = false;  ///< rank the padding column as an item (DiffuRec's code does)
  metrics::RowAverage average = metrics::RowAverage::PerRow;
  Index batchSize = 512;     ///< samples scored at once; the batches of RowAverage::BatchMeans
  metrics::Accumulation accumulation = metrics::Accumulation::Double;

  /// DiffuRec's evaluation code: no history mask, padding ranked, mean of batch means, float32 NDCG.
  static NextItemProtocol reference(Index batchSize = 512) {
    return {.maskHistory = false,
            .rankPadding = true,
            .average = metrics::RowAverage::BatchMeans,
            .batchSize = batchSize,
            .accumulation = metrics::Accumulation::Float32};
  }
};

/// The items of each history row [batch × len] as a CSR mask [batch × columns] (ids <= 0 are padding), for
/// recommend(batch, k, filterSeen = true) of the sequence models.
inline metrics::CsrMatrix historyItemMask(const data::IdMatrix& history, Index columns) {
  metrics::CsrMatrix mask(history.rows(), columns);
  std::vector<Eigen::Triplet<float, int>> entries;
  for (Index r = 0; r < history.rows(); ++r)
    for (Index c = 0; c < history.cols(); ++c) {
      const int id = history(r, c);
      RECDIFF_REQUIRE(id < columns, "historyItemMask(): item id ", id, " outside [0, ", columns, ")");
      if (id > 0) entries.emplace_back(static_cast<int>(r), id, 1.0f);
    }
  mask.setFromTriplets(entries.begin(), entries.end(), [](float a, float) { return a; });
  mask.makeCompressed();
  return mask;
}

/// CSR mask [samples × columns]: row r holds every item of sample r's user before the label (positions
/// 0 … end−1 of the full sequence). Item ids must lie in [0, columns).
inline metrics::CsrMatrix historyMask(const data::Sequences& seqs, const data::SequenceSamples& samples, Index columns) {
  RECDIFF_REQUIRE(columns > 0, "historyMask(): columns must be positive, got ", columns);
  std::vector<Eigen::Triplet<float, int>> entries;
  for (Index r = 0; r < samples.size(); ++r) {
    const int u = samples.user[static_cast<std::size_t>(r)], end = samples.end[static_cast<std::size_t>(r)];
    const auto seq = seqs.sequence(u);
    RECDIFF_REQUIRE(end >= 0 && end < static_cast<int>(seq.size()), "historyMask(): sample ", r, " ends at ", end,
                    " outside user ", u, "'s sequence of ", seq.size());
    for (int j = 0; j < end; ++j) {
      const int item = seq[static_cast<std::size_t>(j)];
      RECDIFF_REQUIRE(item >= 0 && item < columns, "historyMask(): item ", item, " outside [0, ", columns, ")");
      entries.emplace_back(static_cast<int>(r), item, 1.0f);
    }
  }
  metrics::CsrMatrix mask(samples.size(), columns);
  mask.setFromTriplets(entries.begin(), entries.end(), [](float a, float) { return a; });
  mask.makeCompressed();
  return mask;
}

/// The terms evaluateNextItem() sums, for its scoring batches [firstBatch, lastBatch) (batches of
/// protocol.batchSize samples in sample order): terms[2·|ks|·(b − firstBatch) + c] = weight_b · HR@ks[c] of batch
/// b, and at + |ks| its NDCG@ks[c] (weight_b: the batch's share of the samples, or 1 / batches for BatchMeans).
/// `mask` is historyMask(seqs, samples, columns) when protocol.maskHistory (else unused). For sharded
/// evaluation (recdiff/distributed/evaluation.hpp): the terms of all batches, summed in batch order, are the
/// single process's metrics bit for bit.
template <class Scorer>
void nextItemTerms(const data::Sequences& seqs, const data::SequenceSamples& samples, std::span<const Index> ks,
                   const NextItemProtocol& protocol, const data::PaddingOptions& padding, Index columns,
                   const metrics::CsrMatrix& mask, Index firstBatch, Index lastBatch, Scorer&& scorer,
                   std::vector<double>& terms) {
  const Index n = samples.size(), k = static_cast<Index>(ks.size());
  const Index batches = (n + protocol.batchSize - 1) / protocol.batchSize;
  terms.assign(static_cast<std::size_t>(2 * k * std::max<Index>(0, lastBatch - firstBatch)), 0.0);
  std::vector<Index> rows;
  data::HistoryBatch batch;
  RowMatrix<float> scores;
  for (Index b = firstBatch; b < lastBatch; ++b) {
    const Index first = b * protocol.batchSize;
    const Index count = std::min(protocol.batchSize, n - first);
    rows.resize(static_cast<std::size_t>(count));
    for (Index r = 0; r < count; ++r) rows[static_cast<std::size_t>(r)] = first + r;
    data::fillHistoryBatch(seqs, samples, rows, padding, batch);
    scorer(static_cast<const data::HistoryBatch&>(batch), scores);
    RECDIFF_REQUIRE(scores.rows() == count && scores.cols() == columns, "evaluateNextItem(): the scorer returned ",
                    scores.rows(), "x", scores.cols(), " scores for ", count, " samples and ", columns, " columns");
    metrics::LabelOptions options;
    if (protocol.maskHistory) options.mask.exclude.push_back(&mask);
    options.mask.users = rows;
    if (!protocol.rankPadding && padding.padId >= 0 && padding.padId < columns) options.mask.excludeColumn = padding.padId;
    options.accumulation = protocol.accumulation;
    const auto labels = std::span<const int>(batch.targets.data(), static_cast<std::size_t>(count));
    const metrics::LabelMetrics m = metrics::evaluateLabels(scores, labels, ks, options);
    // PerRow: weight by the batch's share of the samples; BatchMeans: every batch counts the same.
    const double weight = protocol.average == metrics::RowAverage::PerRow
                              ? static_cast<double>(count) / static_cast<double>(n)
                              : 1.0 / static_cast<double>(batches);
    double* t = terms.data() + 2 * k * (b - firstBatch);
    for (Index c = 0; c < k; ++c) {
      t[c] = weight * m.hitRate[static_cast<std::size_t>(c)];
      t[k + c] = weight * m.ndcg[static_cast<std::size_t>(c)];
    }
  }
}

/// The LabelMetrics of `samples` for the terms of all its batches (nextItemTerms), summed in batch order.
inline metrics::LabelMetrics sumNextItemTerms(std::span<const Index> ks, Index samples, const std::vector<double>& terms) {
  metrics::LabelMetrics total;
  total.ks.assign(ks.begin(), ks.end());
  total.hitRate.assign(ks.size(), 0.0);
  total.ndcg.assign(ks.size(), 0.0);
  total.rows = samples;
  const std::size_t k = ks.size();
  for (std::size_t at = 0; at + 2 * k <= terms.size(); at += 2 * k)
    for (std::size_t c = 0; c < k; ++c) {
      total.hitRate[c] += terms[at + c];
      total.ndcg[c] += terms[at + k + c];
    }
  return total;
}

/// Checks evaluateNextItem()'s arguments and returns the history mask the protocol needs (empty without it).
inline metrics::CsrMatrix nextItemMask(const data::Sequences& seqs, const data::SequenceSamples& samples,
                                       std::span<const Index> ks, const NextItemProtocol& protocol, Index columns) {
  RECDIFF_REQUIRE(protocol.batchSize > 0, "evaluateNextItem(): batchSize must be positive, got ", protocol.batchSize);
  RECDIFF_REQUIRE(!ks.empty(), "evaluateNextItem(): no cut-offs");
  metrics::CsrMatrix mask;
  if (protocol.maskHistory) mask = historyMask(seqs, samples, columns);
  return mask;
}

/// HR@K and NDCG@K of the labels of `samples` under `protocol`. `scorer(const data::HistoryBatch& batch,
/// RowMatrix<float>& scores)` fills scores [batch rows × columns] for the padded histories of up to
/// protocol.batchSize samples at a time (in sample order); `columns` is the number of score columns.
template <class Scorer>
metrics::LabelMetrics evaluateNextItem(const data::Sequences& seqs, const data::SequenceSamples& samples,
                                       std::span<const Index> ks, const NextItemProtocol& protocol,
                                       const data::PaddingOptions& padding, Index columns, Scorer&& scorer) {
  const metrics::CsrMatrix mask = nextItemMask(seqs, samples, ks, protocol, columns);
  const Index n = samples.size();
  std::vector<double> terms;
  nextItemTerms(seqs, samples, ks, protocol, padding, columns, mask, 0, (n + protocol.batchSize - 1) / protocol.batchSize,
                scorer, terms);
  return sumNextItemTerms(ks, n, terms);
}

}  // namespace recdiff

#endif  // RECDIFF_MODELS_NEXT_ITEM_EVALUATION_HPP
