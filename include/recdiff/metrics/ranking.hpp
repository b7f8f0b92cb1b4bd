#ifndef RECDIFF_METRICS_RANKING_HPP
#define RECDIFF_METRICS_RANKING_HPP

/// \file ranking.hpp
/// Ranking metrics, with every protocol choice an explicit option.
///
/// Held-out SETS (DiffRec, YiyanXu/DiffRec evaluate_utils.py computeTopNAccuracy), for a user with ground
/// truth G and ranked list R (first K entries):
///   hits        = |R[:K] ∩ G|
///   Precision@K = hits / K                         Recall@K = hits / |G|
///   NDCG@K      = Σ_{j<K, R_j∈G} 1/log2(j+2)  /  Σ_{j<min(|G|,K)} 1/log2(j+2)
///   MRR@K       = 1/(j+1) for the first hit j < K, else 0
///   HitRate@K   = 1 if hits > 0
/// Averaging (UserAverage): over ALL rows, users without ground truth adding 0 (DiffRec's denominator), or only
/// over rows with ground truth. Unrankable slots (id −1) never hit.
///
/// ONE held-out item under full ranking (DiffuRec, WHUIR/DiffuRec trainer.py hrs_and_ndcgs_k): rank = number
/// of rankable items scored strictly higher than the label, plus those scored equal with a smaller index (the
/// topK tie rule); HR@K = [rank < K], NDCG@K = 1/log2(rank+2) if rank < K else 0. The label itself is never
/// masked, even when it is in the history. Averaging (RowAverage): the mean over rows, or DiffuRec's mean of
/// per-batch means (batches of batchSize consecutive rows; the last may be smaller).
/// Reference behaviours are options, not defaults: DiffuRec ranks its padding row 0 and masks no history —
/// use TopKOptions{} with excludeColumn = -1 and no masks to reproduce it.

#include <cmath>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "../parallel.hpp"
#include "topk.hpp"

namespace recdiff::metrics {

/// Who is in the denominator of a held-out-set metric.
enum class UserAverage {
  AllUsers,         ///< every row; rows without ground truth add 0 (DiffRec)
  UsersWithTruth,   ///< only rows with at least one ground-truth item
};

/// How single-label metrics are averaged.
enum class RowAverage {
  PerRow,       ///< mean over rows
  BatchMeans,   ///< mean of the means of consecutive batches of `batchSize` rows (DiffuRec)
};

/// Averaged held-out-set metrics at each cut-off ks[c].
struct SetMetrics {
  std::vector<Index> ks;
  std::vector<double> precision, recall, ndcg, mrr, hitRate;
  Index rows = 0;           ///< rows evaluated
  Index rowsWithTruth = 0;  ///< rows with ground truth
};

/// Options of evaluateSets.
struct SetOptions {
  UserAverage average = UserAverage::AllUsers;
  std::span<const Index> users{};  ///< users[r] = ground-truth row of ranked row r (empty: r)
};

/// Held-out-set metrics of ranked lists `ranked` [rows × ≥ max(ks)] (e.g. TopK::ids) against the rows of
/// the CSR `truth` (Interactions::matrix(): sorted columns). See the file comment for the formulas.
inline SetMetrics evaluateSets(const IdMatrix& ranked, const CsrMatrix& truth, std::span<const Index> ks, const SetOptions& options = {}) {
  const Index rows = ranked.rows();
  RECDIFF_REQUIRE(!ks.empty(), "evaluateSets(): no cut-offs");
  for (Index k : ks) RECDIFF_REQUIRE(k > 0 && k <= ranked.cols(), "evaluateSets(): cut-off ", k, " outside [1, ", ranked.cols(), "]");
  RECDIFF_REQUIRE(options.users.empty() || static_cast<Index>(options.users.size()) == rows, "evaluateSets(): ", options.users.size(),
                  " users for ", rows, " rows");
  RECDIFF_REQUIRE(truth.isCompressed(), "evaluateSets(): truth must be compressed CSR");
  SetMetrics m;
  m.ks.assign(ks.begin(), ks.end());
  const std::size_t nk = ks.size();
  m.precision.assign(nk, 0.0);
  m.recall.assign(nk, 0.0);
  m.ndcg.assign(nk, 0.0);
  m.mrr.assign(nk, 0.0);
  m.hitRate.assign(nk, 0.0);
  m.rows = rows;
  for (Index r = 0; r < rows; ++r) {
    const Index u = options.users.empty() ? r : options.users[static_cast<std::size_t>(r)];
    RECDIFF_REQUIRE(u >= 0 && u < truth.rows(), "evaluateSets(): user ", u, " outside [0, ", truth.rows(), ")");
    const int* gb = truth.innerIndexPtr() + truth.outerIndexPtr()[u];
    const int* ge = truth.innerIndexPtr() + truth.outerIndexPtr()[u + 1];
    const auto g = static_cast<Index>(ge - gb);
    if (g == 0) continue;
    ++m.rowsWithTruth;
    for (std::size_t c = 0; c < nk; ++c) {
      const Index k = ks[c];
      double dcg = 0.0, idcg = 0.0, mrr = 0.0;
      Index hits = 0;
      for (Index j = 0; j < k; ++j) {
        const int item = ranked(r, j);
        if (item >= 0 && std::binary_search(gb, ge, item)) {
          dcg += 1.0 / std::log2(static_cast<double>(j) + 2.0);
          if (hits == 0) mrr = 1.0 / (static_cast<double>(j) + 1.0);
          ++hits;
        }
        if (j < g) idcg += 1.0 / std::log2(static_cast<double>(j) + 2.0);
      }
      m.precision[c] += static_cast<double>(hits) / static_cast<double>(k);
      m.recall[c] += static_cast<double>(hits) / static_cast<double>(g);
      m.ndcg[c] += dcg / idcg;
      m.mrr[c] += mrr;
      m.hitRate[c] += hits > 0 ? 1.0 : 0.0;
    }
  }
  const Index denom = options.average == UserAverage::AllUsers ? m.rows : m.rowsWithTruth;
  if (denom > 0)
    for (std::size_t c = 0; c < nk; ++c) {
      const auto d = static_cast<double>(denom);
      m.precision[c] /= d;
      m.recall[c] /= d;
      m.ndcg[c] /= d;
      m.mrr[c] /= d;
      m.hitRate[c] /= d;
    }
  return m;
}

/// Averaged single-label metrics at each cut-off ks[c].
struct LabelMetrics {
  std::vector<Index> ks;
  std::vector<double> hitRate, ndcg;
  Index rows = 0;
};

/// Arithmetic of the single-label NDCG.
enum class Accumulation {
  Double,   ///< per-row values and means in double (default)
  Float32,  ///< as DiffuRec's torch code: per-row 1/log2(rank+2) in float32, each (batch) mean a sequential
            ///< float32 sum divided in float32; reproduces its printed values bit for bit
};

/// Options of evaluateLabels.
struct LabelOptions {
  TopKOptions mask{};                     ///< masks (history, padding column); the label is never masked
  RowAverage average = RowAverage::PerRow;
  Index batchSize = 0;                    ///< for RowAverage::BatchMeans
  Accumulation accumulation = Accumulation::Double;
};

/// The 0-based rank of `label` in a row of scores under the masks (see the file comment).
template <class Derived>
Index labelRank(const Eigen::MatrixBase<Derived>& scores, Index r, int label, const std::vector<int>& masked) {
  using Scalar = typename Derived::Scalar;
  const Scalar t = scores.coeff(r, label);
  const bool tNan = std::isnan(t);
  Index rank = 0;
  int start = 0;
  for (std::size_t mi = 0; mi <= masked.size(); ++mi) {
    const int stop = mi < masked.size() ? masked[mi] : static_cast<int>(scores.cols());
    if (!tNan) {
      // better(j, label): a higher score, or an equal score at a smaller index (NaN is never better).
      for (int j = start; j < stop; ++j) {
        const Scalar v = scores.coeff(r, j);
        rank += static_cast<Index>(v > t) + static_cast<Index>(v == t && j < label);
      }
    } else {
      for (int j = start; j < stop; ++j) {
        const Scalar v = scores.coeff(r, j);
        rank += static_cast<Index>(!std::isnan(v)) + static_cast<Index>(std::isnan(v) && j < label);
      }
    }
    start = stop + 1;
  }
  return rank;
}

/// HR@K and NDCG@K of one label per row of `scores` [rows × items] under full ranking.
template <class Derived>
LabelMetrics evaluateLabels(const Eigen::MatrixBase<Derived>& scores, std::span<const int> labels, std::span<const Index> ks,
                            const LabelOptions& options = {}) {
  const Index rows = scores.rows(), items = scores.cols();
  RECDIFF_REQUIRE(static_cast<Index>(labels.size()) == rows, "evaluateLabels(): ", labels.size(), " labels for ", rows, " rows");
  RECDIFF_REQUIRE(!ks.empty(), "evaluateLabels(): no cut-offs");
  for (Index k : ks) RECDIFF_REQUIRE(k > 0, "evaluateLabels(): cut-offs must be positive, got ", k);
  RECDIFF_REQUIRE(options.average == RowAverage::PerRow || options.batchSize > 0, "evaluateLabels(): BatchMeans needs batchSize > 0");
  detail::checkOptions("evaluateLabels()", options.mask, rows, items);
  for (const int label : labels)
    RECDIFF_REQUIRE(label >= 0 && label < items, "evaluateLabels(): label ", label, " outside [0, ", items, ")");
  std::vector<Index> rank(static_cast<std::size_t>(rows));
  // Ranks per row in parallel (each row its own entry), then the sums below in row order on this thread.
  parallelForWithState(rows, true, LoopSchedule{}, [] { return std::vector<int>(); },
                       [&](std::vector<int>& masked, Index r) {
    const int label = labels[static_cast<std::size_t>(r)];
    RECDIFF_ASSERT(label >= 0 && label < items);
    const Index user = options.mask.users.empty() ? r : options.mask.users[static_cast<std::size_t>(r)];
    detail::maskedColumns(options.mask, user, masked);
    rank[static_cast<std::size_t>(r)] = labelRank(scores, r, label, masked);
  });
  LabelMetrics m;
  m.ks.assign(ks.begin(), ks.end());
  m.rows = rows;
  m.hitRate.assign(ks.size(), 0.0);
  m.ndcg.assign(ks.size(), 0.0);
  if (rows == 0) return m;
  const Index batch = options.average == RowAverage::PerRow ? rows : options.batchSize;
  Index batches = 0;
  for (Index b0 = 0; b0 < rows; b0 += batch, ++batches) {
    const Index b1 = std::min(rows, b0 + batch);
    for (std::size_t c = 0; c < ks.size(); ++c) {
      double hr = 0.0, nd = 0.0;
      float ndFloat = 0.0f;
      for (Index r = b0; r < b1; ++r) {
        const Index rk = rank[static_cast<std::size_t>(r)];
        if (rk < ks[c]) {
          hr += 1.0;
          nd += 1.0 / std::log2(static_cast<double>(rk) + 2.0);
          ndFloat += 1.0f / std::log2(static_cast<float>(rk) + 2.0f);
        }
      }
      m.hitRate[c] += hr / static_cast<double>(b1 - b0);
      m.ndcg[c] += options.accumulation == Accumulation::Float32 ? static_cast<double>(ndFloat / static_cast<float>(b1 - b0))
                                                                 : nd / static_cast<double>(b1 - b0);
    }
  }
  for (std::size_t c = 0; c < ks.size(); ++c) {
    m.hitRate[c] /= static_cast<double>(batches);
    m.ndcg[c] /= static_cast<double>(batches);
  }
  return m;
}

}  // namespace recdiff::metrics

#endif  // RECDIFF_METRICS_RANKING_HPP
