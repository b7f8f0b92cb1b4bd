#ifndef RECDIFF_DATA_RAW_INTERACTIONS_HPP
#define RECDIFF_DATA_RAW_INTERACTIONS_HPP

/// \file raw_interactions.hpp
/// The loaders' common output (RawInteractions: one row per file line, raw ids) and the one place where it
/// becomes an Interactions object: rating threshold (implicit feedback), duplicate rule, k-core filtering,
/// dense id assignment and chronological order. Every choice is a field of BuildOptions.
///
/// Order of operations in buildInteractions():
///   1. keep rows with rating ≥ minRating (when set; DiffRec's ML-1M uses 4);
///   2. assign dense ids to the remaining raw ids (ascending raw id by default: deterministic, and the same
///      rule as DiffuRec's item map);
///   3. order each user's rows by timestamp (stable: ties keep file order) when the file has timestamps;
///   4. resolve duplicate (user, item) pairs by BuildOptions::duplicates (DuplicateRule::Error reports the line);
///   5. k-core: repeatedly drop users with fewer than minUserInteractions and items with fewer than
///      minItemInteractions interactions until both hold (then re-index densely, keeping ascending raw order).

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "interactions.hpp"

namespace recdiff::data {

/// Interactions as read from a file, before any filtering: raw ids, one entry per data line.
struct RawInteractions {
  std::string source;                      ///< the file, for messages
  std::vector<std::int64_t> users;         ///< raw user id per row
  std::vector<std::int64_t> items;         ///< raw item id per row
  std::vector<float> ratings;              ///< empty, or one rating per row
  std::vector<std::int64_t> timestamps;    ///< empty, or one timestamp per row
  std::vector<long> lines;                 ///< empty, or the 1-based source line of each row
  std::unordered_map<std::int64_t, std::string> titles;  ///< raw item id -> UTF-8 title (optional)

  Index size() const noexcept { return static_cast<Index>(users.size()); }
};

/// How dense indices are assigned to raw ids.
enum class IdOrder {
  Ascending,  ///< by ascending raw id (default; independent of file order)
  FirstSeen,  ///< in order of first appearance in the file
};

/// What Interactions::values() (and so matrix()) holds.
enum class ValueKind {
  Binary,   ///< 1 for every kept interaction (implicit feedback); ratings stay available in ratings()
  Ratings,  ///< the rating itself (needs ratings)
};

/// Every choice of buildInteractions(), with the defaults stated.
struct BuildOptions {
  std::optional<double> minRating{};              ///< keep rating ≥ this (unset: keep all)
  ValueKind values = ValueKind::Binary;
  DuplicateRule duplicates = DuplicateRule::KeepLast;
  Index minUserInteractions = 0;                  ///< k-core on users (0 or 1: no filtering)
  Index minItemInteractions = 0;                  ///< k-core on items
  IdOrder idOrder = IdOrder::Ascending;
  bool sortByTime = true;                         ///< chronological stored order when timestamps exist
};

/// The interactions of the kept users and items (masks over rows / columns), re-indexed densely in the old
/// order; stored order, values, ratings, timestamps, raw ids and titles are carried over.
inline Interactions selectInteractions(const Interactions& x, const std::vector<char>& keepUser,
                                       const std::vector<char>& keepItem) {
  RECDIFF_REQUIRE(static_cast<Index>(keepUser.size()) == x.users() && static_cast<Index>(keepItem.size()) == x.items(),
                  "selectInteractions(): masks of ", keepUser.size(), " and ", keepItem.size(), " for ", x.users(),
                  " x ", x.items());
  std::vector<int> newUser(keepUser.size(), -1), newItem(keepItem.size(), -1);
  std::vector<std::int64_t> rawUsers, rawItems;
  std::vector<std::string> titles;
  int nu = 0, ni = 0;
  for (std::size_t u = 0; u < keepUser.size(); ++u)
    if (keepUser[u]) {
      newUser[u] = nu++;
      rawUsers.push_back(x.userIds().raw(static_cast<Index>(u)));
    }
  for (std::size_t i = 0; i < keepItem.size(); ++i)
    if (keepItem[i]) {
      newItem[i] = ni++;
      rawItems.push_back(x.itemIds().raw(static_cast<Index>(i)));
      if (!x.itemTitles().empty()) titles.push_back(x.itemTitles()[i]);
    }
  std::vector<int> us, is;
  std::vector<float> vs, rs;
  std::vector<std::int64_t> ts;
  for (Index u = 0; u < x.users(); ++u) {
    if (!keepUser[static_cast<std::size_t>(u)]) continue;
    const auto items = x.rowItems(u);
    const auto values = x.rowValues(u);
    const auto ratings = x.rowRatings(u);
    const auto times = x.rowTimestamps(u);
    for (std::size_t k = 0; k < items.size(); ++k) {
      const int ni2 = newItem[static_cast<std::size_t>(items[k])];
      if (ni2 < 0) continue;
      us.push_back(newUser[static_cast<std::size_t>(u)]);
      is.push_back(ni2);
      vs.push_back(values[k]);
      if (x.hasRatings()) rs.push_back(ratings[k]);
      if (x.hasTimestamps()) ts.push_back(times[k]);
    }
  }
  static const float kNoFloat = 0.0f;
  static const std::int64_t kNoTime = 0;
  // An empty-but-present array is passed as a zero-length span with a non-null pointer.
  const std::span<const float> rSpan = x.hasRatings() ? (rs.empty() ? std::span<const float>(&kNoFloat, 0) : std::span<const float>(rs))
                                                      : std::span<const float>{};
  const std::span<const std::int64_t> tSpan =
      x.hasTimestamps() ? (ts.empty() ? std::span<const std::int64_t>(&kNoTime, 0) : std::span<const std::int64_t>(ts))
                        : std::span<const std::int64_t>{};
  Interactions r = Interactions::fromTriplets(nu, ni, us, is, vs, rSpan, tSpan, DuplicateRule::KeepLast);
  r.setUserIds(IdMap::fromRaw(std::move(rawUsers)));
  r.setItemIds(IdMap::fromRaw(std::move(rawItems)));
  r.setItemTitles(std::move(titles));
  return r;
}

/// k-core filtering: repeatedly removes users with fewer than `minUser` and items with fewer than `minItem`
/// interactions until both conditions hold, then re-indexes (old order kept). Users or items left with no
/// interaction are dropped too when the corresponding minimum is ≥ 1.
inline Interactions kCore(const Interactions& x, Index minUser, Index minItem) {
  RECDIFF_REQUIRE(minUser >= 0 && minItem >= 0, "kCore(): minimums must be >= 0, got ", minUser, ", ", minItem);
  std::vector<char> keepUser(static_cast<std::size_t>(x.users()), 1), keepItem(static_cast<std::size_t>(x.items()), 1);
  std::vector<Index> userDeg(keepUser.size()), itemDeg(keepItem.size());
  bool changed = true;
  while (changed) {
    changed = false;
    std::fill(userDeg.begin(), userDeg.end(), 0);
    std::fill(itemDeg.begin(), itemDeg.end(), 0);
    for (Index u = 0; u < x.users(); ++u) {
      if (!keepUser[static_cast<std::size_t>(u)]) continue;
      for (int i : x.rowItems(u))
        if (keepItem[static_cast<std::size_t>(i)]) {
          ++userDeg[static_cast<std::size_t>(u)];
          ++itemDeg[static_cast<std::size_t>(i)];
        }
    }
    for (std::size_t u = 0; u < keepUser.size(); ++u)
      if (keepUser[u] && minUser > 0 && userDeg[u] < minUser) keepUser[u] = 0, changed = true;
    for (std::size_t i = 0; i < keepItem.size(); ++i)
      if (keepItem[i] && minItem > 0 && itemDeg[i] < minItem) keepItem[i] = 0, changed = true;
  }
  return selectInteractions(x, keepUser, keepItem);
}

/// RawInteractions -> Interactions by the steps in the file comment.
inline Interactions buildInteractions(const RawInteractions& raw, const BuildOptions& options = {}) {
  const std::size_t n = raw.users.size();
  RECDIFF_REQUIRE(raw.items.size() == n && (raw.ratings.empty() || raw.ratings.size() == n) &&
                      (raw.timestamps.empty() || raw.timestamps.size() == n) && (raw.lines.empty() || raw.lines.size() == n),
                  "buildInteractions(): column lengths disagree in ", raw.source);
  RECDIFF_REQUIRE(!options.minRating || !raw.ratings.empty(), "buildInteractions(): minRating set but ", raw.source,
                  " has no ratings");
  RECDIFF_REQUIRE(options.values != ValueKind::Ratings || !raw.ratings.empty(), "buildInteractions(): ValueKind::Ratings but ",
                  raw.source, " has no ratings");
  // 1. threshold
  std::vector<std::size_t> rows;
  rows.reserve(n);
  for (std::size_t k = 0; k < n; ++k)
    if (!options.minRating || static_cast<double>(raw.ratings[k]) >= *options.minRating) rows.push_back(k);
  // 2. dense ids
  auto assign = [&](const std::vector<std::int64_t>& ids) {
    std::vector<std::int64_t> distinct;
    if (options.idOrder == IdOrder::Ascending) {
      distinct.reserve(rows.size());
      for (std::size_t k : rows) distinct.push_back(ids[k]);
      std::sort(distinct.begin(), distinct.end());
      distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
      return IdMap::fromRaw(std::move(distinct));
    }
    IdMap m;
    for (std::size_t k : rows) m.insert(ids[k]);
    return m;
  };
  IdMap userIds = assign(raw.users), itemIds = assign(raw.items);
  RECDIFF_REQUIRE(userIds.size() < 2147483647 && itemIds.size() < 2147483647, "buildInteractions(): too many ids");
  std::vector<int> u(rows.size()), it(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    u[r] = static_cast<int>(userIds.dense(raw.users[rows[r]]));
    it[r] = static_cast<int>(itemIds.dense(raw.items[rows[r]]));
  }
  // 3. chronological order within each user (fromTriplets groups by user stably).
  std::vector<std::size_t> order(rows.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (options.sortByTime && !raw.timestamps.empty()) {
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return raw.timestamps[rows[a]] < raw.timestamps[rows[b]];
    });
  }
  // 4. duplicates reported with their line
  if (options.duplicates == DuplicateRule::Error) {
    std::unordered_map<std::uint64_t, std::size_t> seen;
    seen.reserve(rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const std::uint64_t key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(u[r])) << 32) |
                                static_cast<std::uint32_t>(it[r]);
      const auto [at, fresh] = seen.emplace(key, rows[r]);
      if (!fresh) {
        const std::size_t k = rows[r];
        throw DataError(raw.source, raw.lines.empty() ? 0 : raw.lines[k],
                        detail::concat("duplicate (user, item) pair (", raw.users[k], ", ", raw.items[k], ")",
                                       raw.lines.empty() ? std::string() : detail::concat(", first on line ", raw.lines[at->second])));
      }
    }
  }
  std::vector<int> su(rows.size()), si(rows.size());
  std::vector<float> sv, sr;
  std::vector<std::int64_t> st;
  if (!raw.ratings.empty()) sr.resize(rows.size());
  if (!raw.timestamps.empty()) st.resize(rows.size());
  if (options.values == ValueKind::Ratings) sv.resize(rows.size());
  for (std::size_t q = 0; q < order.size(); ++q) {
    const std::size_t r = order[q], k = rows[r];
    su[q] = u[r];
    si[q] = it[r];
    if (!sr.empty()) sr[q] = raw.ratings[k];
    if (!st.empty()) st[q] = raw.timestamps[k];
    if (!sv.empty()) sv[q] = raw.ratings[k];
  }
  Interactions x = Interactions::fromTriplets(userIds.size(), itemIds.size(), su, si, sv, sr, st,
                                              options.duplicates == DuplicateRule::Error ? DuplicateRule::KeepLast
                                                                                         : options.duplicates);
  if (!raw.titles.empty()) {
    std::vector<std::string> titles(static_cast<std::size_t>(itemIds.size()));
    for (Index i = 0; i < itemIds.size(); ++i) {
      const auto found = raw.titles.find(itemIds.raw(i));
      if (found != raw.titles.end()) titles[static_cast<std::size_t>(i)] = found->second;
    }
    x.setItemTitles(std::move(titles));
  }
  x.setUserIds(std::move(userIds));
  x.setItemIds(std::move(itemIds));
  if (options.minUserInteractions > 1 || options.minItemInteractions > 1)
    x = kCore(x, options.minUserInteractions, options.minItemInteractions);
  return x;
}

}  // namespace recdiff::data

#endif  // RECDIFF_DATA_RAW_INTERACTIONS_HPP
