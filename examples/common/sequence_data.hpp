#ifndef RECDIFF_EXAMPLES_COMMON_SEQUENCE_DATA_HPP
#define RECDIFF_EXAMPLES_COMMON_SEQUENCE_DATA_HPP
// The sequential examples' --data (DiffuRec, DreamRec): a folder with DiffuRec's export (sequences.txt, see
// ../shared/data/diffurec/README.md) used as it is, or a raw MovieLens release (u.data, ratings.dat,
// ratings.csv) loaded through the library's loaders in chronological order (optionally with a rating threshold).
// Either way: item ids 1 … items, 0 = padding; chronological leave-one-out (validation target = second to
// last item, test target = last); every prefix of the training part is a training sample (DiffuRec's
// utils.py); and the most-popular baseline (counts over the training parts) under any NextItemProtocol.
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
#include <recdiff/metrics/metric_table.hpp>
#include <recdiff/models/next_item_evaluation.hpp>

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

}  // namespace recdiff::examples

#endif  // RECDIFF_EXAMPLES_COMMON_SEQUENCE_DATA_HPP
