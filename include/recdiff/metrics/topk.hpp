#ifndef RECDIFF_METRICS_TOPK_HPP
#define RECDIFF_METRICS_TOPK_HPP

/// \file topk.hpp
/// Masked top-K over a score matrix [rows × items], scaling to all users × all items.
///
/// Masking goes through the CSR matrices themselves (Interactions::matrix(): sorted column indices per row);
/// no dense [users × items] mask is ever built. Row r of the scores belongs to user `users[r]` (or to user r
/// when `users` is empty). Optionally one column (DiffuRec's padding item 0) is never ranked.
///
/// Selection: one pass per row that skips blocks of 16 scores below the current k-th best with one vectorisable
/// test, appends the rest to a buffer of max(4k, 64) candidates and cuts it back to the k best with
/// nth_element when full (O(items) per row plus rare selections); rows run in parallel with OpenMP. The order is deterministic: higher score first,
/// equal scores by ascending item index; NaN ranks below every number (even −∞). When fewer than k items
/// are rankable, the tail of the row is filled with id −1 and score −∞.
/// topKReference() is the straightforward std::partial_sort version, kept as the test oracle and the
/// benchmark baseline.
///
/// Usage:
///   metrics::TopK<float> top;
///   metrics::topK(scores, 20, top, {.exclude = {&train.matrix()}});   // DiffRec validation
///   metrics::topK(scores, 20, top, {.exclude = {&train.matrix(), &valid.matrix()}});   // DiffRec test

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../types.hpp"

namespace recdiff::metrics {

/// The CSR type used for masks: [users × items], row-major, sorted columns (Interactions::Matrix).
using CsrMatrix = Eigen::SparseMatrix<float, Eigen::RowMajor, int>;
/// Integer id matrix [rows × k].
using IdMatrix = Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Result of topK: ids and scores [rows × k], best first.
template <class Scalar>
struct TopK {
  IdMatrix ids;
  RowMatrix<Scalar> scores;
};

/// What to leave out of the ranking.
struct TopKOptions {
  std::vector<const CsrMatrix*> exclude{};  ///< CSR masks (e.g. train, valid); their items are never ranked
  std::span<const Index> users{};         ///< users[r] = mask row of score row r (empty: r itself)
  Index excludeColumn = -1;               ///< a column never ranked (e.g. padding id 0); -1 = none
};

namespace detail {

/// Ranking key: NaN below everything; ties by smaller index first.
template <class Scalar>
struct Candidate {
  Scalar score;
  int item;
};
template <class Scalar>
inline bool better(const Candidate<Scalar>& a, const Candidate<Scalar>& b) {
  const bool an = std::isnan(a.score), bn = std::isnan(b.score);
  if (an != bn) return bn;
  if (!an && a.score != b.score) return a.score > b.score;
  return a.item < b.item;
}

/// An unsigned integer key with the order of `better` on scores: larger key = better score; every NaN maps to
/// 0, below −∞; −0 and +0 share a key. Makes the selection's comparisons integer compares.
template <class Scalar>
struct RankKey {
  using Bits = std::conditional_t<sizeof(Scalar) == 4, std::uint32_t, std::uint64_t>;
  static Bits of(Scalar v) {
    if (std::isnan(v)) return 0;
    if (v == Scalar(0)) v = Scalar(0);
    const Bits u = std::bit_cast<Bits>(v);
    constexpr Bits sign = Bits(1) << (sizeof(Bits) * 8 - 1);
    return (u & sign) ? Bits(~u) : Bits(u | sign);
  }
};

/// A candidate: key, then item (smaller item wins ties), and the score itself.
template <class Scalar>
struct Keyed {
  typename RankKey<Scalar>::Bits key;
  int item;
  Scalar score;
};
template <class Scalar>
inline bool keyedBetter(const Keyed<Scalar>& a, const Keyed<Scalar>& b) {
  return a.key > b.key || (a.key == b.key && a.item < b.item);
}

/// The sorted union of the masked columns of one user (plus excludeColumn) into `out`.
inline void maskedColumns(const TopKOptions& o, Index user, std::vector<int>& out) {
  out.clear();
  for (const CsrMatrix* m : o.exclude) {
    const int* b = m->innerIndexPtr() + m->outerIndexPtr()[user];
    const int* e = m->innerIndexPtr() + m->outerIndexPtr()[user + 1];
    out.insert(out.end(), b, e);
  }
  if (o.excludeColumn >= 0) out.push_back(static_cast<int>(o.excludeColumn));
  if (o.exclude.size() > 1 || o.excludeColumn >= 0) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
}

inline void checkOptions(const char* who, const TopKOptions& o, Index rows, Index items) {
  RECDIFF_REQUIRE(o.users.empty() || static_cast<Index>(o.users.size()) == rows, who, ": ", o.users.size(), " users for ", rows,
                  " score rows");
  RECDIFF_REQUIRE(o.excludeColumn < items, who, ": excludeColumn ", o.excludeColumn, " outside [0, ", items, ")");
  for (const CsrMatrix* m : o.exclude) {
    RECDIFF_REQUIRE(m != nullptr, who, ": null mask");
    RECDIFF_REQUIRE(m->isCompressed(), who, ": masks must be compressed CSR");
    RECDIFF_REQUIRE(m->cols() == items, who, ": mask has ", m->cols(), " columns, scores have ", items);
    for (Index r = 0; r < rows; ++r) {
      const Index u = o.users.empty() ? r : o.users[static_cast<std::size_t>(r)];
      RECDIFF_REQUIRE(u >= 0 && u < m->rows(), who, ": user ", u, " outside the mask's [0, ", m->rows(), ")");
    }
  }
  if (o.exclude.empty())
    for (Index u : o.users) RECDIFF_REQUIRE(u >= 0, who, ": negative user ", u);
}

/// Contiguous scores of row r: a pointer into `s` when its rows are contiguous, else a copy in `buffer`.
template <class Derived>
const typename Derived::Scalar* rowPointer(const Derived& s, Index r, std::vector<typename Derived::Scalar>& buffer) {
  if constexpr (bool(Derived::Flags & Eigen::DirectAccessBit) && bool(Derived::IsRowMajor)) {
    if (s.innerStride() == 1) return s.data() + r * s.outerStride();
  }
  buffer.resize(static_cast<std::size_t>(s.cols()));
  for (Index j = 0; j < s.cols(); ++j) buffer[static_cast<std::size_t>(j)] = s.coeff(r, j);
  return buffer.data();
}

inline constexpr int kBlock = 16;

/// Appends item j to the candidates; cuts them back to the k best when `cap` are held and returns the new
/// threshold state through `worst` / `worstIsNan` / `haveThreshold`.
template <class Scalar>
void appendCandidate(std::vector<Keyed<Scalar>>& cand, Scalar v, int j, Index k, std::size_t cap, Scalar& worst,
                     bool& worstIsNan, bool& haveThreshold) {
  cand.push_back({RankKey<Scalar>::of(v), j, v});
  if (cand.size() < cap) return;
  std::nth_element(cand.begin(), cand.begin() + (k - 1), cand.end(), keyedBetter<Scalar>);
  cand.resize(static_cast<std::size_t>(k));
  worst = cand[static_cast<std::size_t>(k - 1)].score;  // the k-th best
  worstIsNan = std::isnan(worst);
  haveThreshold = true;
}

/// The k best unmasked items of one contiguous row, best first, in cand[0, returned count).
/// Filter and select: candidates scoring above the current k-th best are appended to `cand`; when it holds
/// `cap` entries, nth_element keeps the k best and their worst score becomes the threshold. Items are scanned
/// in increasing index, so a candidate never wins a tie against a kept one: with a threshold it enters only
/// with a strictly higher score, or as a number when the k-th best is NaN. Whole blocks of kBlock scores
/// below a numeric threshold are skipped with one vectorisable test.
template <class Scalar>
std::size_t selectRow(const Scalar* row, int items, const std::vector<int>& masked, Index k, std::size_t cap,
                      std::vector<Keyed<Scalar>>& cand) {
  cand.clear();
  bool haveThreshold = false, worstIsNan = false;
  Scalar worst = Scalar(0);
  int start = 0;
  for (std::size_t mi = 0; mi <= masked.size(); ++mi) {
    const int stop = mi < masked.size() ? masked[mi] : items;
    int j = start;
    for (; j + kBlock <= stop; j += kBlock) {
      if (haveThreshold && !worstIsNan) {
        const Scalar w = worst;
        bool any = false;
        for (int q = 0; q < kBlock; ++q) any |= row[j + q] > w;
        if (!any) continue;
      }
      if (haveThreshold && !worstIsNan) {
        // Branch-free compaction of the block's passing items, then the (few) appends.
        int pass[kBlock];
        int count = 0;
        const Scalar w = worst;
        for (int q = 0; q < kBlock; ++q) {
          pass[count] = j + q;
          count += static_cast<int>(row[j + q] > w);
        }
        for (int c = 0; c < count; ++c) {
          const Scalar v = row[pass[c]];
          if (v > worst) appendCandidate(cand, v, pass[c], k, cap, worst, worstIsNan, haveThreshold);
        }
        continue;
      }
      for (int q = j; q < j + kBlock; ++q) {
        const Scalar v = row[q];
        if (!haveThreshold || v > worst || (worstIsNan && !std::isnan(v)))
          appendCandidate(cand, v, q, k, cap, worst, worstIsNan, haveThreshold);
      }
    }
    for (; j < stop; ++j) {
      const Scalar v = row[j];
      if (!haveThreshold || v > worst || (worstIsNan && !std::isnan(v)))
        appendCandidate(cand, v, j, k, cap, worst, worstIsNan, haveThreshold);
    }
    start = stop + 1;
  }
  const std::size_t keep = std::min(cand.size(), static_cast<std::size_t>(k));
  std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(keep), cand.end(), keyedBetter<Scalar>);
  return keep;
}

}  // namespace detail

/// Top-k items of every row of `scores` [rows × items] with the masks of `options`; fills `out` (resized
/// to [rows × k] only when needed).
template <class Derived>
void topK(const Eigen::MatrixBase<Derived>& scores, Index k, TopK<typename Derived::Scalar>& out, const TopKOptions& options = {}) {
  using Scalar = typename Derived::Scalar;
  const Index rows = scores.rows(), items = scores.cols();
  RECDIFF_REQUIRE(k > 0, "topK(): k must be positive, got ", k);
  RECDIFF_REQUIRE(items < std::numeric_limits<int>::max(), "topK(): too many items");
  detail::checkOptions("topK()", options, rows, items);
  if (out.ids.rows() != rows || out.ids.cols() != k) {
    out.ids.resize(rows, k);
    out.scores.resize(rows, k);
  }
  const auto& s = scores.derived();
  const std::size_t cap = static_cast<std::size_t>(std::max<Index>(4 * k, 64));
  struct Scratch {  // per thread
    std::vector<int> masked;
    std::vector<Scalar> copy;
    std::vector<detail::Keyed<Scalar>> cand;
  };
  parallelForWithState(rows, true, LoopSchedule{}, [cap] {
    Scratch t;
    t.cand.reserve(cap);
    return t;
  }, [&](Scratch& t, Index r) {
    const Index user = options.users.empty() ? r : options.users[static_cast<std::size_t>(r)];
    detail::maskedColumns(options, user, t.masked);
    const Scalar* row = detail::rowPointer(s, r, t.copy);
    const std::size_t keep = detail::selectRow(row, static_cast<int>(items), t.masked, k, cap, t.cand);
    for (Index q = 0; q < k; ++q) {
      if (q < static_cast<Index>(keep)) {
        out.ids(r, q) = t.cand[static_cast<std::size_t>(q)].item;
        out.scores(r, q) = t.cand[static_cast<std::size_t>(q)].score;
      } else {
        out.ids(r, q) = -1;
        out.scores(r, q) = -std::numeric_limits<Scalar>::infinity();
      }
    }
  });
}

/// Same contract as topK, computed by copying each row's rankable candidates and std::partial_sort.
template <class Derived>
void topKReference(const Eigen::MatrixBase<Derived>& scores, Index k, TopK<typename Derived::Scalar>& out,
                   const TopKOptions& options = {}) {
  using Scalar = typename Derived::Scalar;
  const Index rows = scores.rows(), items = scores.cols();
  RECDIFF_REQUIRE(k > 0, "topKReference(): k must be positive, got ", k);
  detail::checkOptions("topKReference()", options, rows, items);
  out.ids.resize(rows, k);
  out.scores.resize(rows, k);
  std::vector<int> masked;
  std::vector<detail::Candidate<Scalar>> cand;
  for (Index r = 0; r < rows; ++r) {
    const Index user = options.users.empty() ? r : options.users[static_cast<std::size_t>(r)];
    detail::maskedColumns(options, user, masked);
    cand.clear();
    for (int j = 0; j < static_cast<int>(items); ++j)
      if (!std::binary_search(masked.begin(), masked.end(), j)) cand.push_back({scores(r, j), j});
    const std::size_t take = std::min<std::size_t>(cand.size(), static_cast<std::size_t>(k));
    std::partial_sort(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(take), cand.end(),
                      [](const auto& a, const auto& b) { return detail::better(a, b); });
    for (Index q = 0; q < k; ++q) {
      const bool have = q < static_cast<Index>(take);
      out.ids(r, q) = have ? cand[static_cast<std::size_t>(q)].item : -1;
      out.scores(r, q) = have ? cand[static_cast<std::size_t>(q)].score : -std::numeric_limits<Scalar>::infinity();
    }
  }
}

}  // namespace recdiff::metrics

#endif  // RECDIFF_METRICS_TOPK_HPP
