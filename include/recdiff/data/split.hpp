#ifndef RECDIFF_DATA_SPLIT_HPP
#define RECDIFF_DATA_SPLIT_HPP

/// \file split.hpp
/// Train / validation / test splits of an Interactions set, seeded where random. Every split keeps the full
/// [users × items] shape, the raw-id maps and the titles in all three parts, and each part keeps the stored
/// (chronological) order of its interactions.
///
/// Cut rule (all ratio splits): for n interactions and ratios (a, b, c) normalised to sum 1, train takes the
/// first round(n·a), validation the next round(n·(a+b)) − round(n·a), test the rest (round half up).
///
/// The temporal split and DiffRec: the paper (Wang et al. 2023, §4.1.1) "splits the sorted interactions into
/// training, validation, and testing sets with the ratio of 7:1:2". TemporalScope::Global implements that
/// reading: all interactions sorted by timestamp (ties: user, then stored position) and cut once, so early
/// users may have no test items. The authors' released ml-1m_clean files, however, give every user at least
/// one validation and one test item and are closer to 7:2:1 (YiyanXu/DiffRec issues #4 and #15), which a
/// global cut cannot produce; TemporalScope::PerUser (each user's own chronological sequence cut by the
/// ratios) is the closer match to those files. To reproduce the paper's numbers, load the authors' files
/// (loadDiffRecSplits) rather than re-splitting.

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <vector>

#include "../random/rng.hpp"
#include "raw_interactions.hpp"

namespace recdiff::data {

/// Train, validation and test interactions over the same [users × items] shape.
struct Split {
  Interactions train;
  Interactions valid;
  Interactions test;
};

/// Ratios of a three-way split (normalised; each ≥ 0, sum > 0).
struct SplitRatios {
  double train = 0.8;
  double valid = 0.1;
  double test = 0.1;
};

/// Whether ratio splits cut each user's interactions or the whole set.
enum class SplitScope { PerUser, Global };

namespace detail {

inline std::array<Index, 2> cuts(Index n, const SplitRatios& r) {
  RECDIFF_REQUIRE(r.train >= 0 && r.valid >= 0 && r.test >= 0 && r.train + r.valid + r.test > 0,
                  "split: ratios must be >= 0 with a positive sum, got ", r.train, ", ", r.valid, ", ", r.test);
  const double s = r.train + r.valid + r.test;
  const auto c1 = static_cast<Index>(std::floor(static_cast<double>(n) * (r.train / s) + 0.5));
  const auto c2 = static_cast<Index>(std::floor(static_cast<double>(n) * ((r.train + r.valid) / s) + 0.5));
  return {std::min(c1, n), std::min(std::max(c2, c1), n)};
}

}  // namespace detail

/// Splits by a part label per interaction (stored order; 0 train, 1 valid, 2 test).
inline Split splitByLabel(const Interactions& x, const std::vector<unsigned char>& part) {
  RECDIFF_REQUIRE(static_cast<Index>(part.size()) == x.nnz(), "splitByLabel(): ", part.size(), " labels for ", x.nnz(),
                  " interactions");
  std::array<std::vector<int>, 3> us, is;
  std::array<std::vector<float>, 3> vs, rs;
  std::array<std::vector<std::int64_t>, 3> ts;
  const auto ptr = x.rowPointers();
  for (Index u = 0; u < x.users(); ++u)
    for (Index q = ptr[static_cast<std::size_t>(u)]; q < ptr[static_cast<std::size_t>(u) + 1]; ++q) {
      const auto k = static_cast<std::size_t>(q);
      const unsigned p = part[k];
      RECDIFF_REQUIRE(p < 3, "splitByLabel(): label ", p, " is not 0, 1 or 2");
      us[p].push_back(static_cast<int>(u));
      is[p].push_back(x.itemIndices()[k]);
      vs[p].push_back(x.values()[k]);
      if (x.hasRatings()) rs[p].push_back(x.ratings()[k]);
      if (x.hasTimestamps()) ts[p].push_back(x.timestamps()[k]);
    }
  static const float kNoFloat = 0.0f;
  static const std::int64_t kNoTime = 0;
  auto make = [&](unsigned p) {
    const std::span<const float> r = x.hasRatings() ? std::span<const float>(rs[p].empty() ? &kNoFloat : rs[p].data(), rs[p].size())
                                                    : std::span<const float>{};
    const std::span<const std::int64_t> t =
        x.hasTimestamps() ? std::span<const std::int64_t>(ts[p].empty() ? &kNoTime : ts[p].data(), ts[p].size())
                          : std::span<const std::int64_t>{};
    Interactions y = Interactions::fromTriplets(x.users(), x.items(), us[p], is[p], vs[p], r, t);
    y.setUserIds(x.userIds());
    y.setItemIds(x.itemIds());
    y.setItemTitles(x.itemTitles());
    return y;
  };
  return {make(0), make(1), make(2)};
}

/// Random ratio split, seeded: per user (each user's interactions shuffled then cut) or global.
inline Split randomSplit(const Interactions& x, const SplitRatios& ratios, Rng& rng, SplitScope scope = SplitScope::PerUser) {
  std::vector<unsigned char> part(static_cast<std::size_t>(x.nnz()), 0);
  auto label = [&](std::vector<Index>& idx) {
    for (Index k = static_cast<Index>(idx.size()) - 1; k > 0; --k)
      std::swap(idx[static_cast<std::size_t>(k)], idx[static_cast<std::size_t>(rng.uniformIndex(k + 1))]);
    const auto c = detail::cuts(static_cast<Index>(idx.size()), ratios);
    for (Index k = 0; k < static_cast<Index>(idx.size()); ++k)
      part[static_cast<std::size_t>(idx[static_cast<std::size_t>(k)])] = k < c[0] ? 0 : (k < c[1] ? 1 : 2);
  };
  const auto ptr = x.rowPointers();
  std::vector<Index> idx;
  if (scope == SplitScope::Global) {
    idx.resize(static_cast<std::size_t>(x.nnz()));
    std::iota(idx.begin(), idx.end(), Index{0});
    label(idx);
  } else {
    for (Index u = 0; u < x.users(); ++u) {
      idx.resize(static_cast<std::size_t>(x.rowSize(u)));
      std::iota(idx.begin(), idx.end(), ptr[static_cast<std::size_t>(u)]);
      label(idx);
    }
  }
  return splitByLabel(x, part);
}

/// Chronological ratio split (see the file comment). Global needs timestamps; PerUser uses the stored order.
inline Split temporalSplit(const Interactions& x, const SplitRatios& ratios, SplitScope scope = SplitScope::Global) {
  std::vector<unsigned char> part(static_cast<std::size_t>(x.nnz()), 0);
  const auto ptr = x.rowPointers();
  if (scope == SplitScope::Global) {
    RECDIFF_REQUIRE(x.hasTimestamps(), "temporalSplit(): a global temporal split needs timestamps");
    std::vector<Index> idx(static_cast<std::size_t>(x.nnz()));
    std::iota(idx.begin(), idx.end(), Index{0});
    // Stored positions are grouped by user, so a stable sort by time breaks ties by user, then position.
    std::stable_sort(idx.begin(), idx.end(), [&](Index a, Index b) {
      return x.timestamps()[static_cast<std::size_t>(a)] < x.timestamps()[static_cast<std::size_t>(b)];
    });
    const auto c = detail::cuts(x.nnz(), ratios);
    for (Index k = 0; k < x.nnz(); ++k) part[static_cast<std::size_t>(idx[static_cast<std::size_t>(k)])] = k < c[0] ? 0 : (k < c[1] ? 1 : 2);
  } else {
    for (Index u = 0; u < x.users(); ++u) {
      const auto c = detail::cuts(x.rowSize(u), ratios);
      for (Index k = 0; k < x.rowSize(u); ++k)
        part[static_cast<std::size_t>(ptr[static_cast<std::size_t>(u)] + k)] = k < c[0] ? 0 : (k < c[1] ? 1 : 2);
    }
  }
  return splitByLabel(x, part);
}

/// Per-user chronological leave-one-out (stored order): test = last, validation = second to last. Users with
/// fewer than 3 interactions keep all of them in train (no validation or test item).
inline Split leaveOneOutSplit(const Interactions& x) {
  std::vector<unsigned char> part(static_cast<std::size_t>(x.nnz()), 0);
  const auto ptr = x.rowPointers();
  for (Index u = 0; u < x.users(); ++u) {
    const Index n = x.rowSize(u), b = ptr[static_cast<std::size_t>(u)];
    if (n < 3) continue;
    part[static_cast<std::size_t>(b + n - 2)] = 1;
    part[static_cast<std::size_t>(b + n - 1)] = 2;
  }
  return splitByLabel(x, part);
}

}  // namespace recdiff::data

#endif  // RECDIFF_DATA_SPLIT_HPP
