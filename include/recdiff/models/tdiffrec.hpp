#ifndef RECDIFF_MODELS_TDIFFREC_HPP
#define RECDIFF_MODELS_TDIFFREC_HPP

/// \file tdiffrec.hpp
/// T-DiffRec (Wang et al., SIGIR 2023, Sec. 3.5; the authors' `T-DiffRec/data_utils.py`): each user's
/// interactions are weighted linearly by recency, from wMin for the oldest to wMax for the newest, and the
/// weighted rows replace the 0/1 rows as x0 in training and as the input of inference. Nothing else changes:
/// the same DiffRec<> model trains on the weighted Interactions.
///
/// The weights of a user with n interactions in time order k = 0 … n−1 are numpy's
/// `np.linspace(wMin, wMax, n)`:  w_k = wMin + k · (wMax − wMin)/(n − 1) for k < n − 1, w_{n−1} = wMax exactly,
/// and a single interaction gets wMin (linspace with one point returns its start).
///
/// Time order. The weights need each user's interactions in chronological order, and Interactions does not
/// know by itself whether its stored order is chronological. Hence:
///   - data with timestamps (hasTimestamps(), e.g. the raw MovieLens loaders): ranked by timestamp, ties in
///     stored order (stable), whatever the `order` argument says;
///   - data without timestamps: the caller states `StoredOrder::Chronological` when the stored order is the time
///     order — true for DiffRec's `.npy` splits (chronological within each user by construction, as the
///     reference assumes) and for splits made by data::temporalSplit; with StoredOrder::Unknown (the default)
///     the function throws std::invalid_argument saying so.
///
/// Masks and metrics. The weighted copy has exactly the sparsity pattern of the input (every weight is
/// positive: wMin > 0 is required), and the library's history masks (metrics::TopKOptions::exclude) read the
/// pattern only, so `DiffRec::evaluate(weightedTrain, valid, test, ...)` masks the same items as with the
/// unweighted train split and scores against the unweighted valid/test splits — exactly the reference, whose
/// masks are `train_data.nonzero()`. (A zero weight would silently drop an interaction from x0 while still
/// masking it; the reference's scipy `nonzero()` would then also stop masking it. wMin > 0 avoids both.)
///
/// Usage (compiled in tests/models/usage_snippets_test.cpp, snippet tdiffrec):
///   const auto weighted = timeWeighted(split.train, {.wMin = 0.1, .wMax = 1.0}, StoredOrder::Chronological);  // .npy splits
///   DiffRec<> model(options, weighted.items());
///   model.trainEpoch(weighted, rng);
///   auto table = model.evaluate(weighted, split.valid, split.test, ks, rng);

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../data/interactions.hpp"
#include "../error.hpp"
#include "../io/fields.hpp"
#include "../types.hpp"

namespace recdiff {

/// T-DiffRec's weight range ([--w_min], [--w_max] in the reference; its defaults 0.1 and 1.0).
struct TimeWeightOptions {
  double wMin = 0.1;  ///< weight of each user's oldest interaction (> 0)
  double wMax = 1.0;  ///< weight of the newest (>= wMin)

  /// The field table (io/fields.hpp); Self is TimeWeightOptions or const TimeWeightOptions.
  template <class Self, class V>
  static void fields(Self& o, V&& v) {
    v(io::Field("w_min", "T-DiffRec: weight of each user's oldest interaction"), o.wMin);
    v(io::Field("w_max", "T-DiffRec: weight of the newest"), o.wMax);
  }
};

/// What the caller knows about the stored order of each user's interactions.
enum class StoredOrder {
  Unknown,        ///< no claim: only timestamps can give the time order
  Chronological,  ///< the stored order is the time order (DiffRec's .npy splits, temporalSplit output)
};

/// numpy's linspace(wMin, wMax, n) in double: w_k = wMin + k·step, the last point exactly wMax; n = 1 → {wMin}.
inline std::vector<double> linearTimeWeights(Index n, const TimeWeightOptions& o) {
  RECDIFF_REQUIRE(n >= 0, "linearTimeWeights(): n = ", n, " is negative");
  std::vector<double> w(static_cast<std::size_t>(n));
  if (n == 0) return w;
  w[0] = o.wMin;
  if (n == 1) return w;
  const double step = (o.wMax - o.wMin) / static_cast<double>(n - 1);
  for (Index k = 1; k < n - 1; ++k) w[static_cast<std::size_t>(k)] = o.wMin + static_cast<double>(k) * step;
  w[static_cast<std::size_t>(n - 1)] = o.wMax;
  return w;
}

/// A copy of `x` whose values are T-DiffRec's time weights (see the file comment for the time order rules).
/// Throws std::invalid_argument when the time order is unknown or the weight range is invalid.
inline data::Interactions timeWeighted(const data::Interactions& x, const TimeWeightOptions& o,
                                       StoredOrder order = StoredOrder::Unknown) {
  RECDIFF_REQUIRE(std::isfinite(o.wMin) && std::isfinite(o.wMax) && o.wMin > 0.0 && o.wMax >= o.wMin,
                  "timeWeighted(): need 0 < wMin <= wMax (finite), got wMin = ", o.wMin, ", wMax = ", o.wMax);
  RECDIFF_REQUIRE(x.hasTimestamps() || order == StoredOrder::Chronological,
                  "timeWeighted(): the data has no timestamps and its stored order is not declared chronological; "
                  "T-DiffRec needs each user's interactions in time order (pass StoredOrder::Chronological for "
                  "DiffRec's .npy splits or temporalSplit output, or load the data with timestamps)");
  std::vector<float> values(static_cast<std::size_t>(x.nnz()));
  const auto pointers = x.rowPointers();
  std::vector<Index> rank;
  for (Index u = 0; u < x.users(); ++u) {
    const Index n = x.rowSize(u);
    const std::vector<double> w = linearTimeWeights(n, o);
    const std::size_t base = static_cast<std::size_t>(pointers[static_cast<std::size_t>(u)]);
    rank.resize(static_cast<std::size_t>(n));
    std::iota(rank.begin(), rank.end(), Index{0});
    if (x.hasTimestamps()) {
      const auto ts = x.rowTimestamps(u);
      std::stable_sort(rank.begin(), rank.end(), [&ts](Index a, Index b) {
        return ts[static_cast<std::size_t>(a)] < ts[static_cast<std::size_t>(b)];
      });
    }
    // rank[k] = stored position of the k-th oldest interaction.
    for (Index k = 0; k < n; ++k)
      values[base + static_cast<std::size_t>(rank[static_cast<std::size_t>(k)])] =
          static_cast<float>(w[static_cast<std::size_t>(k)]);
  }
  return x.withValues(std::move(values));
}

}  // namespace recdiff

#endif  // RECDIFF_MODELS_TDIFFREC_HPP
