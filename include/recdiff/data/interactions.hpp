#ifndef RECDIFF_DATA_INTERACTIONS_HPP
#define RECDIFF_DATA_INTERACTIONS_HPP

/// \file interactions.hpp
/// User–item interactions as a CSR matrix. The orientation is fixed: **rows are users, columns are items**
/// (the implicit-0.5 lesson, STYLE.md). Dense indices are 0-based; the raw ids of the source file are kept in
/// two IdMaps so results can be printed with the original ids and, when loaded, item titles.
///
/// Two views of the same interactions:
///   - the *stored order* (rowItems(u), rowValues(u), rowRatings(u), rowTimestamps(u)): each user's
///     interactions in the order they were given (loaders give them chronologically when the file has
///     timestamps, else in file order — DiffRec's .npy splits are chronological by construction);
///   - matrix(): an Eigen::SparseMatrix<float, RowMajor, int> in compressed form with the column indices of
///     each row sorted ascending (Eigen's invariant), values = 1 for implicit data, or the ratings / weights.
///
/// Duplicate (user, item) pairs never reach an Interactions object: the builder resolves them by a stated
/// DuplicateRule (default KeepLast: the later interaction in stored order replaces the earlier one and takes its
/// position; the loaders sort each user's interactions by timestamp first (stably), so there "later" means
/// chronologically later, ties broken by file order).
///
/// Usage:
///   auto train = recdiff::data::loadMovieLens100k("ml-100k").implicit(4.0f);   // see movielens.hpp
///   for (int item : train.rowItems(user)) ...;
///   const auto& X = train.matrix();                                           // [users × items], CSR
///   std::cout << train.itemTitle(item);

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <Eigen/SparseCore>

#include "../error.hpp"
#include "../types.hpp"
#include "id_map.hpp"

namespace recdiff::data {

/// What to do with a repeated (user, item) pair when building Interactions.
enum class DuplicateRule {
  KeepLast,   ///< the later interaction (in stored order) wins, value, rating, timestamp and position
  KeepFirst,  ///< the earlier one wins
  Sum,        ///< one entry at the first position; values summed (click counts); rating/timestamp of the last
  Error,      ///< std::invalid_argument naming the pair (loaders turn it into a DataError with file and line)
};

/// Users × items interactions: CSR with users as rows, optional ratings and timestamps, raw-id maps, titles.
class Interactions {
 public:
  /// The sparse matrix type every consumer uses: [users × items], row-major, int indices.
  using Matrix = Eigen::SparseMatrix<float, Eigen::RowMajor, int>;

  /// An empty 0 × 0 set.
  Interactions() { rowPtr_.assign(1, 0); }

  /// Builds from per-interaction arrays of dense indices (any order; each user's interactions keep their
  /// relative order, which becomes the stored order). `values` empty means 1 for every interaction;
  /// `ratings` and `timestamps` may be empty (absent) or have one entry per interaction.
  /// Duplicate pairs are resolved by `duplicates` (see DuplicateRule).
  static Interactions fromTriplets(Index users, Index items, std::span<const int> userIndex,
                                   std::span<const int> itemIndex, std::span<const float> values = {},
                                   std::span<const float> ratings = {}, std::span<const std::int64_t> timestamps = {},
                                   DuplicateRule duplicates = DuplicateRule::KeepLast) {
    const std::size_t n = userIndex.size();
    RECDIFF_REQUIRE(users >= 0 && items >= 0, "Interactions::fromTriplets(): negative shape ", users, " x ", items);
    RECDIFF_REQUIRE(users <= kMaxIndex && items <= kMaxIndex && n <= static_cast<std::size_t>(kMaxIndex),
                    "Interactions::fromTriplets(): shape or nnz exceeds the int index range");
    RECDIFF_REQUIRE(itemIndex.size() == n, "Interactions::fromTriplets(): ", n, " users but ", itemIndex.size(), " items");
    RECDIFF_REQUIRE(values.empty() || values.size() == n, "Interactions::fromTriplets(): values has ", values.size(),
                    " entries, expected ", n);
    RECDIFF_REQUIRE(ratings.empty() || ratings.size() == n, "Interactions::fromTriplets(): ratings has ",
                    ratings.size(), " entries, expected ", n);
    RECDIFF_REQUIRE(timestamps.empty() || timestamps.size() == n, "Interactions::fromTriplets(): timestamps has ",
                    timestamps.size(), " entries, expected ", n);
    Interactions r;
    r.users_ = users;
    r.items_ = items;
    r.userIds_ = IdMap::identity(users);
    r.itemIds_ = IdMap::identity(items);
    r.hasRatings_ = !ratings.empty() || (n == 0 && ratings.data() != nullptr);
    r.hasTimestamps_ = !timestamps.empty() || (n == 0 && timestamps.data() != nullptr);
    // Counting sort by user (stable: keeps each user's relative order).
    std::vector<Index> ptr(static_cast<std::size_t>(users) + 1, 0);
    for (std::size_t k = 0; k < n; ++k) {
      const int u = userIndex[k], i = itemIndex[k];
      RECDIFF_REQUIRE(u >= 0 && u < users, "Interactions::fromTriplets(): user index ", u, " outside [0, ", users, ")");
      RECDIFF_REQUIRE(i >= 0 && i < items, "Interactions::fromTriplets(): item index ", i, " outside [0, ", items, ")");
      ++ptr[static_cast<std::size_t>(u) + 1];
    }
    for (std::size_t u = 0; u < static_cast<std::size_t>(users); ++u) ptr[u + 1] += ptr[u];
    std::vector<std::size_t> order(n);
    {
      std::vector<Index> next(ptr.begin(), ptr.end() - 1);
      for (std::size_t k = 0; k < n; ++k) order[static_cast<std::size_t>(next[static_cast<std::size_t>(userIndex[k])]++)] = k;
    }
    // Resolve duplicates per row with a last-seen table over items (reset per row).
    std::vector<Index> seen(static_cast<std::size_t>(items), -1);  // position in the output of this row, or -1
    r.rowPtr_.assign(static_cast<std::size_t>(users) + 1, 0);
    r.itemIndex_.reserve(n);
    r.values_.reserve(n);
    if (!ratings.empty()) r.ratings_.reserve(n);
    if (!timestamps.empty()) r.timestamps_.reserve(n);
    std::vector<char> dead;  // this row's entries removed by KeepLast, indexed from rowStart
    for (Index u = 0; u < users; ++u) {
      const std::size_t rowStart = r.itemIndex_.size();
      bool rowHasDead = false;
      for (Index p = ptr[static_cast<std::size_t>(u)]; p < ptr[static_cast<std::size_t>(u) + 1]; ++p) {
        const std::size_t k = order[static_cast<std::size_t>(p)];
        const int item = itemIndex[k];
        const float value = values.empty() ? 1.0f : values[k];
        Index& at = seen[static_cast<std::size_t>(item)];
        if (at >= 0) {
          const auto q = static_cast<std::size_t>(at);
          switch (duplicates) {
            case DuplicateRule::Error:
              throw std::invalid_argument(detail::concat("Interactions::fromTriplets(): duplicate pair (user ", u,
                                                         ", item ", item, ")"));
            case DuplicateRule::KeepFirst:
              continue;
            case DuplicateRule::Sum:
              r.values_[q] += value;
              if (!ratings.empty()) r.ratings_[q] = ratings[k];
              if (!timestamps.empty()) r.timestamps_[q] = timestamps[k];
              continue;
            case DuplicateRule::KeepLast:
              dead.resize(r.itemIndex_.size() - rowStart, 0);
              dead[q - rowStart] = 1;
              rowHasDead = true;
              break;
          }
        }
        at = static_cast<Index>(r.itemIndex_.size());
        r.itemIndex_.push_back(item);
        r.values_.push_back(value);
        if (!ratings.empty()) r.ratings_.push_back(ratings[k]);
        if (!timestamps.empty()) r.timestamps_.push_back(timestamps[k]);
      }
      if (rowHasDead) {
        dead.resize(r.itemIndex_.size() - rowStart, 0);
        std::size_t w = rowStart;
        for (std::size_t q = rowStart; q < r.itemIndex_.size(); ++q) {
          if (dead[q - rowStart]) continue;
          r.itemIndex_[w] = r.itemIndex_[q];
          r.values_[w] = r.values_[q];
          if (r.hasRatings_) r.ratings_[w] = r.ratings_[q];
          if (r.hasTimestamps_) r.timestamps_[w] = r.timestamps_[q];
          ++w;
        }
        r.itemIndex_.resize(w);
        r.values_.resize(w);
        if (r.hasRatings_) r.ratings_.resize(w);
        if (r.hasTimestamps_) r.timestamps_.resize(w);
      }
      dead.clear();  // indexed from the row's start: O(row length) per row
      for (std::size_t q = rowStart; q < r.itemIndex_.size(); ++q) seen[static_cast<std::size_t>(r.itemIndex_[q])] = -1;
      r.rowPtr_[static_cast<std::size_t>(u) + 1] = static_cast<Index>(r.itemIndex_.size());
    }
    r.buildMatrix();
    return r;
  }

  /// Builds from (user, item) pairs with value 1 (implicit feedback).
  static Interactions fromPairs(Index users, Index items, std::span<const int> userIndex, std::span<const int> itemIndex,
                                DuplicateRule duplicates = DuplicateRule::KeepLast) {
    return fromTriplets(users, items, userIndex, itemIndex, {}, {}, {}, duplicates);
  }

  /// Builds from CSR arrays in stored order, taking them without a copy (the Python module's path from a
  /// scipy matrix): rowPtr [users + 1] from 0, non-decreasing, to nnz; itemIndex [nnz] in [0, items), each
  /// row's items in their stored order (not necessarily ascending) and distinct; `values` [nnz], or empty for
  /// all 1. A malformed part or a repeated item in a row is std::invalid_argument naming the row and item.
  static Interactions fromCsr(Index users, Index items, std::vector<Index> rowPtr, std::vector<int> itemIndex,
                              std::vector<float> values = {}) {
    const auto n = static_cast<Index>(itemIndex.size());
    RECDIFF_REQUIRE(users >= 0 && items >= 0 && users <= kMaxIndex && items <= kMaxIndex && n <= kMaxIndex,
                    "Interactions::fromCsr(): shape ", users, " x ", items, " or nnz ", n, " outside [0, 2^31 - 1]");
    RECDIFF_REQUIRE(static_cast<Index>(rowPtr.size()) == users + 1 && rowPtr.front() == 0 && rowPtr.back() == n,
                    "Interactions::fromCsr(): rowPtr must have users + 1 = ", users + 1, " entries from 0 to nnz = ", n);
    RECDIFF_REQUIRE(values.empty() || static_cast<Index>(values.size()) == n, "Interactions::fromCsr(): values has ",
                    values.size(), " entries, expected ", n);
    std::vector<Index> lastRow(static_cast<std::size_t>(items), -1);
    for (Index u = 0; u < users; ++u) {
      const Index b = rowPtr[static_cast<std::size_t>(u)], e = rowPtr[static_cast<std::size_t>(u) + 1];
      RECDIFF_REQUIRE(b <= e && e <= n, "Interactions::fromCsr(): rowPtr decreases at row ", u);
      for (Index q = b; q < e; ++q) {
        const int i = itemIndex[static_cast<std::size_t>(q)];
        RECDIFF_REQUIRE(i >= 0 && i < items, "Interactions::fromCsr(): row ", u, " has item ", i, " outside [0, ",
                        items, ")");
        RECDIFF_REQUIRE(std::exchange(lastRow[static_cast<std::size_t>(i)], u) != u, "Interactions::fromCsr(): row ",
                        u, " has item ", i, " twice");
      }
    }
    Interactions r;
    r.users_ = users;
    r.items_ = items;
    r.userIds_ = IdMap::identity(users);
    r.itemIds_ = IdMap::identity(items);
    r.rowPtr_ = std::move(rowPtr);
    r.itemIndex_ = std::move(itemIndex);
    r.values_ = values.empty() ? std::vector<float>(static_cast<std::size_t>(n), 1.0f) : std::move(values);
    r.buildMatrix();
    return r;
  }

  Index users() const noexcept { return users_; }
  Index items() const noexcept { return items_; }
  Index nnz() const noexcept { return static_cast<Index>(itemIndex_.size()); }
  /// True when ratings / timestamps were given (then rowRatings / rowTimestamps align with rowItems).
  bool hasRatings() const noexcept { return hasRatings_; }
  bool hasTimestamps() const noexcept { return hasTimestamps_; }

  /// Number of interactions of user u.
  Index rowSize(Index u) const {
    const Index b = rowBegin(u);  // checks u first
    return rowEnd(u) - b;
  }
  /// Item indices of user u, in stored order.
  std::span<const int> rowItems(Index u) const { return slice(itemIndex_, u); }
  /// Values (1, rating or weight) of user u, aligned with rowItems(u).
  std::span<const float> rowValues(Index u) const { return slice(values_, u); }
  /// Ratings of user u aligned with rowItems(u); empty when the data has no ratings.
  std::span<const float> rowRatings(Index u) const { return hasRatings_ ? slice(ratings_, u) : std::span<const float>{}; }
  /// Timestamps of user u aligned with rowItems(u); empty when the data has no timestamps.
  std::span<const std::int64_t> rowTimestamps(Index u) const {
    return hasTimestamps_ ? slice(timestamps_, u) : std::span<const std::int64_t>{};
  }

  /// Whole-set arrays in stored order: rowPointers() has users()+1 entries, the others nnz().
  std::span<const Index> rowPointers() const noexcept { return rowPtr_; }
  std::span<const int> itemIndices() const noexcept { return itemIndex_; }
  std::span<const float> values() const noexcept { return values_; }
  std::span<const float> ratings() const noexcept { return ratings_; }
  std::span<const std::int64_t> timestamps() const noexcept { return timestamps_; }

  /// [users × items] CSR, columns sorted within each row; values = values().
  const Matrix& matrix() const noexcept { return matrix_; }

  /// True when user u interacted with item i (binary search in the sorted CSR row).
  bool contains(Index u, Index i) const {
    checkUser(u, "contains");
    const int* begin = matrix_.innerIndexPtr() + matrix_.outerIndexPtr()[u];
    const int* end = matrix_.innerIndexPtr() + matrix_.outerIndexPtr()[u + 1];
    return std::binary_search(begin, end, static_cast<int>(i));
  }

  /// Interactions per item [items].
  Eigen::ArrayXi itemCounts() const {
    Eigen::ArrayXi c = Eigen::ArrayXi::Zero(items_);
    for (int i : itemIndex_) ++c(i);
    return c;
  }
  /// Interactions per user [users].
  Eigen::ArrayXi userCounts() const {
    Eigen::ArrayXi c(users_);
    for (Index u = 0; u < users_; ++u) c(u) = static_cast<int>(rowSize(u));
    return c;
  }

  /// Raw user ids (rows) and raw item ids (columns). Identity maps unless a loader set them.
  const IdMap& userIds() const noexcept { return userIds_; }
  const IdMap& itemIds() const noexcept { return itemIds_; }
  void setUserIds(IdMap ids) {
    RECDIFF_REQUIRE(ids.size() == users_, "Interactions::setUserIds(): map has ", ids.size(), " ids for ", users_, " users");
    userIds_ = std::move(ids);
  }
  void setItemIds(IdMap ids) {
    RECDIFF_REQUIRE(ids.size() == items_, "Interactions::setItemIds(): map has ", ids.size(), " ids for ", items_, " items");
    itemIds_ = std::move(ids);
  }

  /// Item titles (UTF-8) by dense item index; empty when none were loaded.
  const std::vector<std::string>& itemTitles() const noexcept { return titles_; }
  /// Title of item i, or "" when unknown.
  const std::string& itemTitle(Index i) const {
    static const std::string kNone;
    if (i < 0 || i >= items_) throw std::out_of_range(detail::concat("Interactions::itemTitle(): item ", i, " outside [0, ", items_, ")"));
    return titles_.empty() ? kNone : titles_[static_cast<std::size_t>(i)];
  }
  void setItemTitles(std::vector<std::string> titles) {
    RECDIFF_REQUIRE(titles.empty() || static_cast<Index>(titles.size()) == items_, "Interactions::setItemTitles(): ",
                    titles.size(), " titles for ", items_, " items");
    titles_ = std::move(titles);
  }

  /// A copy with every value replaced by `values` (stored order, nnz entries), e.g. T-DiffRec's time weights.
  Interactions withValues(std::vector<float> values) const {
    RECDIFF_REQUIRE(static_cast<Index>(values.size()) == nnz(), "Interactions::withValues(): ", values.size(),
                    " values for ", nnz(), " interactions");
    Interactions r = *this;
    r.values_ = std::move(values);
    r.buildMatrix();
    return r;
  }

  /// A copy with a wider item range (columns), e.g. to give valid/test the train split's item count.
  Interactions withShape(Index users, Index items) const {
    RECDIFF_REQUIRE(users >= users_ && items >= items_ && users <= kMaxIndex && items <= kMaxIndex,
                    "Interactions::withShape(): cannot shrink ", users_, " x ", items_, " to ", users, " x ", items);
    Interactions r = *this;
    r.rowPtr_.resize(static_cast<std::size_t>(users) + 1, static_cast<Index>(itemIndex_.size()));
    r.users_ = users;
    r.items_ = items;
    if (userIds_.size() != users) r.userIds_ = extendIds(userIds_, users);
    if (itemIds_.size() != items) r.itemIds_ = extendIds(itemIds_, items);
    if (!titles_.empty()) r.titles_.resize(static_cast<std::size_t>(items));
    r.buildMatrix();
    return r;
  }

 private:
  static constexpr Index kMaxIndex = 2147483647;
  static constexpr Index kSortBlock = Index{1} << 22;  // entries per block of buildMatrix's counting sort

  template <class T>
  std::span<const T> slice(const std::vector<T>& v, Index u) const {
    return std::span<const T>(v).subspan(static_cast<std::size_t>(rowBegin(u)), static_cast<std::size_t>(rowSize(u)));
  }
  void checkUser(Index u, const char* what) const {
    if (u < 0 || u >= users_)
      throw std::out_of_range(detail::concat("Interactions::", what, "(): user ", u, " outside [0, ", users_, ")"));
  }
  Index rowBegin(Index u) const {
    checkUser(u, "row");
    return rowPtr_[static_cast<std::size_t>(u)];
  }
  Index rowEnd(Index u) const { return rowPtr_[static_cast<std::size_t>(u) + 1]; }

  static IdMap extendIds(const IdMap& ids, Index n) {
    if (ids.size() == 0) return IdMap::identity(n);
    // Raw ids for the new indices: the next integers above the largest raw id (never colliding).
    std::vector<std::int64_t> raw = ids.rawIds();
    std::int64_t next = raw.empty() ? 0 : *std::max_element(raw.begin(), raw.end()) + 1;
    while (static_cast<Index>(raw.size()) < n) raw.push_back(next++);
    return IdMap::fromRaw(std::move(raw));
  }

  // matrix_ from the stored-order arrays: each row's columns ascending. Rows given ascending are copied; the
  // others are sorted by a counting sort over the items, in blocks of users of at most kSortBlock entries
  // (two linear passes per block, as Eigen's setFromTriplets, and O(items + kSortBlock) scratch memory).
  void buildMatrix() {
    const Index n = static_cast<Index>(itemIndex_.size());
    matrix_.resize(users_, items_);
    matrix_.resizeNonZeros(n);
    int* outer = matrix_.outerIndexPtr();
    int* inner = matrix_.innerIndexPtr();
    float* val = matrix_.valuePtr();
    for (Index u = 0; u <= users_; ++u) outer[u] = static_cast<int>(rowPtr_[static_cast<std::size_t>(u)]);
    std::copy(itemIndex_.begin(), itemIndex_.end(), inner);
    std::copy(values_.begin(), values_.end(), val);
    std::vector<int> colStart, rowOf;
    std::vector<float> valueOf;
    for (Index first = 0, last = 0; first < users_; first = last) {
      const Index begin = rowPtr_[static_cast<std::size_t>(first)];
      last = first + 1;  // the block [first, last): at least one row, at most kSortBlock entries otherwise
      while (last < users_ && rowPtr_[static_cast<std::size_t>(last) + 1] - begin <= kSortBlock) ++last;
      for (Index u = first; u < last; ++u) {
        const auto b = static_cast<std::size_t>(rowPtr_[static_cast<std::size_t>(u)]);
        if (!std::is_sorted(inner + b, inner + rowPtr_[static_cast<std::size_t>(u) + 1])) {
          sortRows(first, last, colStart, rowOf, valueOf);
          break;
        }
      }
    }
    matrix_.makeCompressed();
  }

  // Sorts the columns of rows [first, last) of matrix_ (a counting sort over the items).
  void sortRows(Index first, Index last, std::vector<int>& colStart, std::vector<int>& rowOf,
                std::vector<float>& valueOf) {
    int* inner = matrix_.innerIndexPtr();
    float* val = matrix_.valuePtr();
    const Index begin = rowPtr_[static_cast<std::size_t>(first)], end = rowPtr_[static_cast<std::size_t>(last)];
    colStart.assign(static_cast<std::size_t>(items_) + 1, 0);
    for (Index q = begin; q < end; ++q) ++colStart[static_cast<std::size_t>(inner[q]) + 1];
    for (std::size_t c = 0; c < static_cast<std::size_t>(items_); ++c) colStart[c + 1] += colStart[c];
    rowOf.resize(static_cast<std::size_t>(end - begin));
    valueOf.resize(static_cast<std::size_t>(end - begin));
    for (Index u = first; u < last; ++u)  // into columns, rows ascending within each column
      for (Index q = rowPtr_[static_cast<std::size_t>(u)]; q < rowPtr_[static_cast<std::size_t>(u) + 1]; ++q) {
        const auto p = static_cast<std::size_t>(colStart[static_cast<std::size_t>(inner[q])]++);
        rowOf[p] = static_cast<int>(u);
        valueOf[p] = val[q];
      }
    std::vector<Index> next(rowPtr_.begin() + first, rowPtr_.begin() + last);
    for (std::size_t p = 0, c = 0; p < rowOf.size(); ++p) {  // back into rows, columns ascending
      while (static_cast<std::size_t>(colStart[c]) <= p) ++c;  // colStart[c] is now the end of column c
      const Index w = next[static_cast<std::size_t>(rowOf[p] - first)]++;
      inner[w] = static_cast<int>(c);
      val[w] = valueOf[p];
    }
  }

  Index users_ = 0;
  Index items_ = 0;
  std::vector<Index> rowPtr_;          // [users + 1]
  std::vector<int> itemIndex_;         // [nnz], stored order
  std::vector<float> values_;          // [nnz]
  std::vector<float> ratings_;         // [nnz] or empty
  std::vector<std::int64_t> timestamps_;  // [nnz] or empty
  Matrix matrix_;
  IdMap userIds_;
  IdMap itemIds_;
  std::vector<std::string> titles_;
  bool hasRatings_ = false;
  bool hasTimestamps_ = false;
};

}  // namespace recdiff::data

#endif  // RECDIFF_DATA_INTERACTIONS_HPP
