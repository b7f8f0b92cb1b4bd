#ifndef RECDIFF_DATA_BATCHING_HPP
#define RECDIFF_DATA_BATCHING_HPP

/// \file batching.hpp
/// Mini-batches for training and inference.
///   - UserBatcher (DiffRec): shuffled batches of user rows, each row made dense [batch × items] from the CSR
///     into a buffer the batcher owns and reuses — no allocation after the first full and the first partial
///     batch; only the entries written by the previous batch are cleared.
///   - SequenceBatcher (DiffuRec, DreamRec): shuffled batches of (history, target) samples padded into a reused
///     HistoryBatch.
/// Shuffling is a Fisher–Yates permutation drawn from the Rng passed to startEpoch (fork it per epoch for
/// reproducible runs); without shuffling batches follow index order (inference).
///
/// Usage:
///   UserBatcher batches(train, 400);
///   for (int epoch = 0; epoch < epochs; ++epoch) {
///     Rng epochRng = rng.fork(epoch);
///     batches.startEpoch(epochRng);
///     for (Index b = 0; b < batches.batches(); ++b) {
///       const RowMatrix<float>& x0 = batches.rows(b);   // [batch × items]
///       std::span<const Index> users = batches.users(b);
///     }
///   }

#include <span>
#include <vector>

#include "../memory.hpp"
#include "../random/rng.hpp"
#include "interactions.hpp"
#include "sequences.hpp"

namespace recdiff::data {

namespace detail {
/// A permutation of [0, n) (identity, or shuffled with Fisher–Yates from `rng`).
inline void permutation(std::vector<Index>& order, Index n, Rng* rng) {
  order.resize(static_cast<std::size_t>(n));
  for (Index k = 0; k < n; ++k) order[static_cast<std::size_t>(k)] = k;
  if (rng == nullptr) return;
  for (Index k = n - 1; k > 0; --k) std::swap(order[static_cast<std::size_t>(k)], order[static_cast<std::size_t>(rng->uniformIndex(k + 1))]);
}
}  // namespace detail

/// Options of both batchers.
struct BatchOptions {
  Index batchSize = 400;
  bool dropLast = false;  ///< drop a final batch smaller than batchSize (DiffRec keeps it)
};

/// Dense rows of the given users: out [users.size() × items] (resized only when the shape differs).
inline void denseRows(const Interactions& x, std::span<const Index> users, RowMatrix<float>& out) {
  if (out.rows() != static_cast<Index>(users.size()) || out.cols() != x.items()) {
    requireMemory(denseBytes(users.size(), static_cast<std::uint64_t>(x.items()), sizeof(float)),
                  recdiff::detail::concat("data::denseRows(): the dense ", users.size(), " x ", x.items(), " interaction rows"));
    out.resize(static_cast<Index>(users.size()), x.items());
  }
  out.setZero();
  const auto& m = x.matrix();
  for (std::size_t r = 0; r < users.size(); ++r) {
    const Index u = users[r];
    RECDIFF_REQUIRE(u >= 0 && u < x.users(), "denseRows(): user ", u, " outside [0, ", x.users(), ")");
    for (int q = m.outerIndexPtr()[u]; q < m.outerIndexPtr()[u + 1]; ++q)
      out(static_cast<Index>(r), m.innerIndexPtr()[q]) = m.valuePtr()[q];
  }
}

/// Shuffled batches of users' dense interaction rows (values of Interactions::matrix()).
class UserBatcher {
 public:
  /// Batches over all users of `x` (which must outlive the batcher).
  explicit UserBatcher(const Interactions& x, BatchOptions options = {}) : x_(&x), options_(options) {
    RECDIFF_REQUIRE(options_.batchSize > 0, "UserBatcher: batchSize must be positive, got ", options_.batchSize);
    detail::permutation(order_, x.users(), nullptr);
  }
  UserBatcher(const Interactions& x, Index batchSize) : UserBatcher(x, BatchOptions{batchSize, false}) {}

  /// Draws this epoch's order (shuffled from rng).
  void startEpoch(Rng& rng) { detail::permutation(order_, x_->users(), &rng); }
  /// Resets to index order (no shuffling).
  void startEpochInOrder() { detail::permutation(order_, x_->users(), nullptr); }

  Index batches() const noexcept {
    const Index n = x_->users(), b = options_.batchSize;
    return options_.dropLast ? n / b : (n + b - 1) / b;
  }

  /// The users of batch b.
  std::span<const Index> users(Index b) const {
    RECDIFF_REQUIRE(b >= 0 && b < batches(), "UserBatcher::users(): batch ", b, " outside [0, ", batches(), ")");
    const Index begin = b * options_.batchSize, end = std::min(begin + options_.batchSize, x_->users());
    return std::span<const Index>(order_).subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(end - begin));
  }

  /// Dense rows [batch × items] of batch b, in a buffer reused across calls (valid until the next call).
  const RowMatrix<float>& rows(Index b) {
    const auto us = users(b);
    const bool full = static_cast<Index>(us.size()) == options_.batchSize;
    RowMatrix<float>& buf = full ? full_ : partial_;
    std::vector<Index>& previous = full ? previousFull_ : previousPartial_;
    const auto& m = x_->matrix();
    if (buf.rows() != static_cast<Index>(us.size()) || buf.cols() != x_->items()) {
      requireMemory(denseBytes(us.size(), static_cast<std::uint64_t>(x_->items()), sizeof(float)),
                    recdiff::detail::concat("UserBatcher: the dense ", us.size(), " x ", x_->items(), " batch"),
                    "lower the batch size");
      buf.setZero(static_cast<Index>(us.size()), x_->items());
      previous.reserve(static_cast<std::size_t>(options_.batchSize));
    } else {
      for (std::size_t r = 0; r < previous.size(); ++r)  // clear only what the previous batch wrote
        for (int q = m.outerIndexPtr()[previous[r]]; q < m.outerIndexPtr()[previous[r] + 1]; ++q)
          buf(static_cast<Index>(r), m.innerIndexPtr()[q]) = 0.0f;
    }
    previous.assign(us.begin(), us.end());
    for (std::size_t r = 0; r < us.size(); ++r)
      for (int q = m.outerIndexPtr()[us[r]]; q < m.outerIndexPtr()[us[r] + 1]; ++q)
        buf(static_cast<Index>(r), m.innerIndexPtr()[q]) = m.valuePtr()[q];
    return buf;
  }

 private:
  const Interactions* x_;
  BatchOptions options_;
  std::vector<Index> order_;
  RowMatrix<float> full_, partial_;
  std::vector<Index> previousFull_, previousPartial_;
};

/// Shuffled batches of padded (history, target) samples.
class SequenceBatcher {
 public:
  /// `seqs` and `samples` must outlive the batcher.
  SequenceBatcher(const Sequences& seqs, const SequenceSamples& samples, BatchOptions options, PaddingOptions padding)
      : seqs_(&seqs), samples_(&samples), options_(options), padding_(padding) {
    RECDIFF_REQUIRE(options_.batchSize > 0, "SequenceBatcher: batchSize must be positive, got ", options_.batchSize);
    detail::permutation(order_, samples.size(), nullptr);
  }

  void startEpoch(Rng& rng) { detail::permutation(order_, samples_->size(), &rng); }
  void startEpochInOrder() { detail::permutation(order_, samples_->size(), nullptr); }

  Index batches() const noexcept {
    const Index n = samples_->size(), b = options_.batchSize;
    return options_.dropLast ? n / b : (n + b - 1) / b;
  }

  /// Sample indices of batch b.
  std::span<const Index> samples(Index b) const {
    RECDIFF_REQUIRE(b >= 0 && b < batches(), "SequenceBatcher::samples(): batch ", b, " outside [0, ", batches(), ")");
    const Index begin = b * options_.batchSize, end = std::min(begin + options_.batchSize, samples_->size());
    return std::span<const Index>(order_).subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(end - begin));
  }

  /// The padded batch b, in a buffer reused across calls.
  const HistoryBatch& batch(Index b) {
    const auto rows = samples(b);
    HistoryBatch& buf = static_cast<Index>(rows.size()) == options_.batchSize ? full_ : partial_;
    fillHistoryBatch(*seqs_, *samples_, rows, padding_, buf);
    return buf;
  }

 private:
  const Sequences* seqs_;
  const SequenceSamples* samples_;
  BatchOptions options_;
  PaddingOptions padding_;
  std::vector<Index> order_;
  HistoryBatch full_, partial_;
};

}  // namespace recdiff::data

#endif  // RECDIFF_DATA_BATCHING_HPP
