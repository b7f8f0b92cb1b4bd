#ifndef RECDIFF_DATA_DIFFREC_SPLITS_HPP
#define RECDIFF_DATA_DIFFREC_SPLITS_HPP

/// \file diffrec_splits.hpp
/// DiffRec's own splits (Wang et al., SIGIR 2023; YiyanXu/DiffRec `datasets/<name>/`), loaded exactly as they
/// are: `train_list.npy`, `valid_list.npy`, `test_list.npy` hold (user, item) rows of 0-based dense ids,
/// int32 or int64 in either byte order, shape (N, 2). The reference's shape rule is kept:
/// n_user = max(train user) + 1 and n_item = max(train item) + 1; a valid or test id outside that range is a
/// DataError (the reference would fail building its scipy matrix). Each user's rows keep the file order (the
/// authors' chronological order, which T-DiffRec's time weights use). Duplicate (user, item) rows in a split
/// are a DataError naming the row (the files have none; scipy would silently sum them to 2).
/// `item_emb.npy` (float32 [n_item × 64], L-DiffRec's clustering input) loads with loadItemEmbeddings().

#include <filesystem>
#include <string>
#include <unordered_set>

#include "npy.hpp"
#include "split.hpp"

namespace recdiff::data {

/// DiffRec's train, validation and test interactions over the same [n_user × n_item] shape.
using DiffRecSplits = Split;

/// Builds a split from a [N × 2] matrix of (user, item) rows, checking ranges and duplicates.
inline Interactions interactionsFromPairs(const Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& pairs,
                                          Index users, Index items, const std::string& file) {
  RECDIFF_REQUIRE(pairs.cols() == 2, "interactionsFromPairs(): expected 2 columns, got ", pairs.cols());
  std::vector<int> u(static_cast<std::size_t>(pairs.rows())), i(static_cast<std::size_t>(pairs.rows()));
  std::unordered_set<std::uint64_t> seen;
  seen.reserve(u.size());
  for (Index r = 0; r < pairs.rows(); ++r) {
    const std::int64_t a = pairs(r, 0), b = pairs(r, 1);
    if (a < 0 || a >= users || b < 0 || b >= items)
      throw DataError(file, 0, detail::concat("row ", r, ": (user ", a, ", item ", b, ") outside [0, ", users, ") x [0, ", items,
                                              ") (n_user and n_item come from the train split)"));
    u[static_cast<std::size_t>(r)] = static_cast<int>(a);
    i[static_cast<std::size_t>(r)] = static_cast<int>(b);
    if (!seen.insert((static_cast<std::uint64_t>(a) << 32) | static_cast<std::uint64_t>(b)).second)
      throw DataError(file, 0, detail::concat("row ", r, ": duplicate (user ", a, ", item ", b, ")"));
  }
  return Interactions::fromPairs(users, items, u, i);
}

/// Loads DiffRec's three splits from `folder`.
inline DiffRecSplits loadDiffRecSplits(const std::filesystem::path& folder) {
  const std::string trainPath = (folder / "train_list.npy").string();
  const std::string validPath = (folder / "valid_list.npy").string();
  const std::string testPath = (folder / "test_list.npy").string();
  const auto train = readNpyMatrix<std::int64_t>(trainPath, 2);
  const auto valid = readNpyMatrix<std::int64_t>(validPath, 2);
  const auto test = readNpyMatrix<std::int64_t>(testPath, 2);
  if (train.rows() == 0) throw DataError(trainPath, 0, "the train split is empty");
  const std::int64_t maxUser = train.col(0).maxCoeff(), maxItem = train.col(1).maxCoeff();
  if (train.minCoeff() < 0) throw DataError(trainPath, 0, "negative id in the train split");
  if (maxUser >= 2147483647 || maxItem >= 2147483647) throw DataError(trainPath, 0, "ids exceed the int range");
  const Index users = maxUser + 1, items = maxItem + 1;
  return {interactionsFromPairs(train, users, items, trainPath), interactionsFromPairs(valid, users, items, validPath),
          interactionsFromPairs(test, users, items, testPath)};
}

/// Loads `item_emb.npy`: float [items × dim] (float32 or float64 on disk).
inline RowMatrix<float> loadItemEmbeddings(const std::string& path) {
  const std::string bytes = detail::readFile(path);
  const NpyHeader h = parseNpyHeader(bytes, path);
  if (h.kind != 'f') throw DataError(path, 0, "item embeddings must be a float array");
  return parseNpyMatrix<float>(bytes, path);
}

}  // namespace recdiff::data

#endif  // RECDIFF_DATA_DIFFREC_SPLITS_HPP
