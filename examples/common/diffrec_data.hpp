#ifndef RECDIFF_EXAMPLES_COMMON_DIFFREC_DATA_HPP
#define RECDIFF_EXAMPLES_COMMON_DIFFREC_DATA_HPP
// The DiffRec examples' --data: DiffRec's own .npy splits used as they are, or a raw MovieLens release
// (u.data, ratings.dat or ratings.csv) with a rating threshold, split 7:1:2 by time within each user.

#include <recdiff/data/diffrec_splits.hpp>
#include <recdiff/data/movielens.hpp>
#include <recdiff/data/split.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace recdiff::examples {

/// Loads `folder` as described above; `description` receives a one-line account of what was loaded.
inline data::Split loadDiffRecData(const std::filesystem::path& folder, double minRating, std::string& description) {
  if (!std::filesystem::is_directory(folder)) throw std::runtime_error("--data " + folder.string() + ": not a folder");
  if (std::filesystem::exists(folder / "train_list.npy")) {
    description = "DiffRec splits (" + folder.string() + ")";
    return data::loadDiffRecSplits(folder);
  }
  data::BuildOptions build;
  build.minRating = minRating;
  const data::Interactions all = data::loadMovieLens(folder, build);
  char threshold[32];
  std::snprintf(threshold, sizeof threshold, "%g", minRating);
  description = "MovieLens " + folder.filename().string() + " (rating >= " + threshold +
                ", per-user chronological split 7:1:2)";
  // Per user, not global: DiffRec's released ML-1M splits give every user validation and test interactions,
  // which a global time cut cannot (see docs/protocols.md).
  return data::temporalSplit(all, {0.7, 0.1, 0.2}, data::SplitScope::PerUser);
}

}  // namespace recdiff::examples

#endif
