#ifndef RECDIFF_EXAMPLES_COMMON_SEQUENCE_DATA_HPP
#define RECDIFF_EXAMPLES_COMMON_SEQUENCE_DATA_HPP
// The sequential examples' --data (DiffuRec, DreamRec): a folder with DiffuRec's export (sequences.txt, see
// ../shared/data/diffurec/README.md) used as it is, or a raw MovieLens release (u.data, ratings.dat,
// ratings.csv) loaded through the library's loaders in chronological order (optionally with a rating threshold).
// Either way: item ids 1 … items, 0 = padding; chronological leave-one-out (validation target = second to
// last item, test target = last); every prefix of the training part is a training sample (DiffuRec's
// utils.py); the most-popular baseline (counts over the training parts) under any NextItemProtocol; the first N
// samples of a held-out set; and a scorer that caches a model's inferred representations across protocols.
//
// Usage:
//   std::string description;
//   const auto d = recdiff::examples::loadSequenceData("../shared/data/diffurec/ml-1m", std::nullopt);
//   // d.full, d.split.valid / d.split.test (samples indexing d.full), d.train (samples indexing d.split.train)
//   const recdiff::metrics::LabelMetrics test = recdiff::evaluateNextItem(d.full, d.split.test, ks, protocol,
//       {.maxLen = 50}, d.columns(), scorer);
//   table.add("popularity.test", recdiff::examples::popularityMetrics(d, HeldOut::Test, ks, protocol, {.maxLen = 50}));

#include <recdiff/baselines/most_popular.hpp>
#include <recdiff/data/movielens.hpp>
#include <recdiff/data/sequences.hpp>
#include <recdiff/io/state_archive.hpp>
#include <recdiff/metrics/metric_table.hpp>
#include <recdiff/models/next_item_evaluation.hpp>
#include <recdiff/train/trainer.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace recdiff::examples {

/// Which held-out sample set.
enum class HeldOut { Valid, Test };

/// A sequential data set split for next-item prediction.
struct SequenceData {
  std::string description;       ///< one line: what was loaded
  data::Sequences full;          ///< each user's whole chronological sequence, item ids 1 … items
  data::SequenceSplit split;     ///< leaveLastOut(full): train part, valid / test samples (indexing `full`)
  data::SequenceSamples train;   ///< every prefix of split.train (indexing split.train): DiffuRec's samples
  Index items = 0;               ///< number of items; score matrices have items + 1 columns (0 = padding)

  Index columns() const noexcept { return items + 1; }
  const data::SequenceSamples& heldOut(HeldOut which) const { return which == HeldOut::Valid ? split.valid : split.test; }
};

/// The fingerprint of the sequences a training state is tied to (--resume); the split is derived from them.
inline std::string sequenceFingerprint(const SequenceData& d) {
  io::Fingerprint f;
  f.add(static_cast<std::int64_t>(d.full.users()));
  for (Index u = 0; u < d.full.users(); ++u) {
    const auto s = d.full.sequence(u);
    f.add(static_cast<std::int64_t>(s.size()));
    f.add(s.data(), s.size() * sizeof(int));
  }
  return f.hex();
}

/// Loads `folder` (see the file comment). minRating applies to raw MovieLens only (unset: every rating is an
/// interaction, as DiffuRec's ML-1M).
inline SequenceData loadSequenceData(const std::filesystem::path& folder, std::optional<double> minRating = std::nullopt) {
  if (!std::filesystem::is_directory(folder)) throw std::runtime_error("--data " + folder.string() + ": not a folder");
  SequenceData d;
  if (std::filesystem::exists(folder / "sequences.txt")) {
    d.full = data::loadSequences((folder / "sequences.txt").string());
    d.description = "DiffuRec export (" + folder.string() + ")";
  } else {
    data::BuildOptions build;
    build.minRating = minRating;
    build.sortByTime = true;
    const data::Interactions all = data::loadMovieLens(folder, build);
    d.full = data::sequencesFromInteractions(all, 1);
    d.description = "MovieLens " + folder.filename().string() + " (chronological" +
                    (minRating ? ", rating >= " + std::to_string(*minRating) : std::string(", every rating")) + ")";
  }
  d.items = d.full.maxItem();
  d.split = data::leaveLastOut(d.full);
  d.train = data::prefixSamples(d.split.train);
  return d;
}

/// The most-popular ranking (item counts over the training parts split.train, ties to the lower id) scored on
/// held-out `samples` (indexing d.full, e.g. a prefix of split.test) under `protocol`.
inline metrics::LabelMetrics popularityMetrics(const SequenceData& d, const data::SequenceSamples& samples,
                                               std::span<const Index> ks, const NextItemProtocol& protocol,
                                               const data::PaddingOptions& padding) {
  std::vector<int> users, items;
  for (Index u = 0; u < d.split.train.users(); ++u)
    for (const int i : d.split.train.sequence(u)) {
      users.push_back(static_cast<int>(u));
      items.push_back(i);
    }
  const auto train = data::Interactions::fromPairs(d.split.train.users(), d.columns(), users, items);
  baselines::MostPopular<float> pop;
  pop.fit(train);
  RowMatrix<float> one;
  pop.score(train, 0, 1, one);
  return evaluateNextItem(d.full, samples, ks, protocol, padding, d.columns(),
                          [&](const data::HistoryBatch& b, RowMatrix<float>& scores) {
                            scores.resize(b.targets.size(), d.columns());
                            scores.rowwise() = one.row(0);
                          });
}

/// popularityMetrics() on every valid or test sample.
inline metrics::LabelMetrics popularityMetrics(const SequenceData& d, HeldOut which, std::span<const Index> ks,
                                               const NextItemProtocol& protocol, const data::PaddingOptions& padding) {
  return popularityMetrics(d, d.heldOut(which), ks, protocol, padding);
}

/// Scores held-out samples of a model that infers a representation x̂0 per history and scores it against its
/// item table (DiffuRec: scores = x̂0·Eᵀ) with one reverse run per user, whatever the number of protocols
/// evaluated: the representations of each batch are computed on the first pass and reused afterwards.
/// \tparam Model  representations(history, x0, rng), columns(), approximator().itemEmbedding().weight().
template <class Model>
class CachedScorer {
 public:
  CachedScorer(Model& model, std::uint64_t seed) : model_(model), rng_(seed, 0x5C0E) {}

  /// Starts a pass over the samples (call before each evaluateNextItem).
  void rewind() { row_ = first_; }
  /// A shard of the samples (World::nextItem): its first batch is the samples' row `row` (its random numbers
  /// those of that row); a new start clears the cache.
  void startAt(Index row) {
    if (row != first_) x0_.resize(0, 0);
    first_ = row_ = row;
  }
  double inferenceSeconds() const { return seconds_; }
  double inferenceCpuSeconds() const { return cpuSeconds_; }
  Index inferredUsers() const { return x0_.rows(); }

  void operator()(const data::HistoryBatch& b, RowMatrix<float>& scores) {
    const Index n = b.targets.size();
    if (row_ - first_ + n > x0_.rows()) {
      const auto start = std::chrono::steady_clock::now();
      const double cpu = train::cpuSeconds();
      Rng batchRng = rng_.fork(static_cast<std::uint64_t>(row_));
      model_.representations(b.history, batch_, batchRng);
      x0_.conservativeResize(row_ - first_ + n, batch_.cols());
      x0_.middleRows(row_ - first_, n) = batch_;
      seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      cpuSeconds_ += train::cpuSeconds() - cpu;
    }
    scores.resize(n, model_.columns());
    scores.noalias() = x0_.middleRows(row_ - first_, n) * model_.approximator().itemEmbedding().weight().transpose();
    row_ += n;
  }

 private:
  Model& model_;
  Rng rng_;
  RowMatrix<float> x0_, batch_;
  Index row_ = 0, first_ = 0;
  double seconds_ = 0.0, cpuSeconds_ = 0.0;
};

/// The first `count` samples of a set (all when count is 0 or larger).
inline data::SequenceSamples firstSamples(const data::SequenceSamples& s, Index count) {
  if (count <= 0 || count >= s.size()) return s;
  data::SequenceSamples out;
  out.user.assign(s.user.begin(), s.user.begin() + count);
  out.end.assign(s.end.begin(), s.end.begin() + count);
  return out;
}

}  // namespace recdiff::examples

#endif  // RECDIFF_EXAMPLES_COMMON_SEQUENCE_DATA_HPP
