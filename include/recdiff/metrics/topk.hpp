#ifndef RECDIFF_METRICS_TOPK_HPP
#define RECDIFF_METRICS_TOPK_HPP

/// \file topk.hpp
/// Masked top-K over a score matrix [rows × items], scaling to all users × all items.
///
/// Masking goes through the CSR matrices themselves (Interactions::matrix(): sorted column indices per row);
/// no dense [users × items] mask is ever built. Row r of the scores belongs to user `users[r]` (or to user r
/// when `users` is empty). Optionally one column (DiffuRec's padding item 0) is never ranked.
///
/// Selection: one pass per row keeping the k best candidates in a binary heap (O(items + hits · log k));
/// rows are processed in parallel with OpenMP when available. The order is deterministic: higher score first,
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
#include <cmath>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "../error.hpp"
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
#if RECDIFF_HAS_OPENMP
#pragma omp parallel
#endif
  {
    std::vector<int> masked;
    std::vector<detail::Candidate<Scalar>> heap;
    heap.reserve(static_cast<std::size_t>(k));
    const auto worse = [](const detail::Candidate<Scalar>& a, const detail::Candidate<Scalar>& b) { return detail::better(a, b); };
#if RECDIFF_HAS_OPENMP
#pragma omp for schedule(static)
#endif
    for (Index r = 0; r < rows; ++r) {
      const Index user = options.users.empty() ? r : options.users[static_cast<std::size_t>(r)];
      detail::maskedColumns(options, user, masked);
      heap.clear();
      // heap ordered so that front() is the WORST kept candidate (make_heap with `better` as "less").
      std::size_t mi = 0;
      for (int j = 0; j < static_cast<int>(items); ++j) {
        if (mi < masked.size() && masked[mi] == j) {
          ++mi;
          continue;
        }
        const detail::Candidate<Scalar> c{s(r, j), j};
        if (static_cast<Index>(heap.size()) < k) {
          heap.push_back(c);
          std::push_heap(heap.begin(), heap.end(), worse);
        } else if (detail::better(c, heap.front())) {
          std::pop_heap(heap.begin(), heap.end(), worse);
          heap.back() = c;
          std::push_heap(heap.begin(), heap.end(), worse);
        }
      }
      std::sort_heap(heap.begin(), heap.end(), worse);  // ascending by `worse` = best first
      for (Index q = 0; q < k; ++q) {
        if (q < static_cast<Index>(heap.size())) {
          out.ids(r, q) = heap[static_cast<std::size_t>(q)].item;
          out.scores(r, q) = heap[static_cast<std::size_t>(q)].score;
        } else {
          out.ids(r, q) = -1;
          out.scores(r, q) = -std::numeric_limits<Scalar>::infinity();
        }
      }
    }
  }
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
