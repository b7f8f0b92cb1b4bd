#include <recdiff/models/diffrec.hpp>

#include <cmath>
#include <filesystem>

#include "support/catch.hpp"
#include "support/test_env.hpp"

namespace {

/// A small synthetic implicit-feedback data set with structure: users of group g like items of block g.
recdiff::data::Interactions blockData(recdiff::Index users, recdiff::Index items, recdiff::Index groups, double keep,
                                      recdiff::Rng& rng) {
  std::vector<int> us, is;
  const recdiff::Index block = items / groups;
  for (recdiff::Index u = 0; u < users; ++u) {
    const recdiff::Index g = u % groups;
    for (recdiff::Index i = g * block; i < (g + 1) * block; ++i)
      if (rng.uniform() < keep) {
        us.push_back(static_cast<int>(u));
        is.push_back(static_cast<int>(i));
      }
  }
  return recdiff::data::Interactions::fromTriplets(users, items, us, is);
}

}  // namespace

TEST_CASE("DiffRec trains to a lower loss on structured data and ranks the user's block first", "[models][diffrec]") {
  recdiff::Rng dataRng(recdiff::test::seed());
  const auto train = blockData(120, 60, 4, 0.5, dataRng);
  recdiff::DiffRecOptions options;
  options.dims = {32};
  options.batchSize = 40;
  options.steps = 10;
  options.learningRate = 1e-2;
  recdiff::DiffRec<> model(options, train.items(), 3);
  recdiff::Rng rng(recdiff::test::seed());
  const double first = model.trainEpoch(train, rng).meanLoss;
  recdiff::EpochResult last;
  for (int epoch = 0; epoch < 60; ++epoch) last = model.trainEpoch(train, rng);
  REQUIRE(last.finite);
  CHECK(last.meanLoss < 0.5 * first);
  const std::vector<recdiff::Index> users = {0, 1, 2, 3};
  const auto top = model.recommend(train, users, 5, true, rng);
  for (std::size_t r = 0; r < users.size(); ++r) {
    const recdiff::Index block = 60 / 4, g = users[r] % 4;
    int inBlock = 0;
    for (recdiff::Index c = 0; c < 5; ++c) {
      const int item = top.ids(static_cast<recdiff::Index>(r), c);
      inBlock += item >= g * block && item < (g + 1) * block;
      CHECK_FALSE(train.contains(users[r], item));  // history is filtered
    }
    CHECK(inBlock >= 4);
  }
}

TEST_CASE("DiffRec gives identical results for the same seed", "[models][diffrec]") {
  recdiff::Rng dataRng(recdiff::test::seed());
  const auto train = blockData(50, 30, 3, 0.5, dataRng);
  recdiff::DiffRecOptions options;
  options.dims = {16};
  options.batchSize = 16;
  options.steps = 5;
  const auto run = [&] {
    recdiff::DiffRec<> model(options, train.items(), 11);
    recdiff::Rng rng(5);
    for (int e = 0; e < 3; ++e) (void)model.trainEpoch(train, rng);
    return model.scores(train, rng);
  };
  const auto a = run(), b = run();
  CHECK(a == b);
}

TEST_CASE("DiffRec rejects data of the wrong width", "[models][diffrec]") {
  recdiff::DiffRecOptions options;
  options.dims = {8};
  recdiff::DiffRec<> model(options, 10);
  recdiff::Rng rng(1);
  const std::vector<int> us = {0, 1}, is = {1, 2};
  const auto other = recdiff::data::Interactions::fromTriplets(3, 12, us, is);
  CHECK_THROWS_WITH(model.trainEpoch(other, rng), Catch::Contains("12 items") && Catch::Contains("built for 10"));
}

TEST_CASE("A DiffRec checkpoint round trip gives identical recommendations", "[models][diffrec][io]") {
  recdiff::Rng dataRng(recdiff::test::seed());
  const auto train = blockData(40, 24, 3, 0.5, dataRng);
  recdiff::DiffRecOptions options;
  options.dims = {16, 8};
  options.batchSize = 16;
  options.steps = 6;
  options.schedule.noiseMax = 0.02;
  recdiff::DiffRec<> trained(options, train.items(), 5);
  recdiff::Rng rng(9);
  for (int e = 0; e < 3; ++e) (void)trained.trainEpoch(train, rng);
  const auto file = std::filesystem::temp_directory_path() / ("recdiff_diffrec_" + std::to_string(recdiff::test::seed()) + ".ckpt");
  trained.save(file);

  const auto info = recdiff::io::readCheckpointInfo(file);
  const auto [restoredOptions, items] = recdiff::DiffRec<>::optionsFromHyperparameters(info.hyperparameters);
  CHECK(items == train.items());
  CHECK(restoredOptions.dims == options.dims);
  CHECK(restoredOptions.schedule.noiseMax == options.schedule.noiseMax);
  recdiff::DiffRec<> restored(restoredOptions, items, 99);  // different init, then overwritten by load()
  restored.load(file);
  std::filesystem::remove(file);
  const std::vector<recdiff::Index> users = {0, 5, 7};
  recdiff::Rng r1(3), r2(3);
  const auto a = trained.recommend(train, users, 6, true, r1);
  const auto b = restored.recommend(train, users, 6, true, r2);
  CHECK(a.ids == b.ids);
  CHECK(a.scores == b.scores);

  recdiff::DiffRecOptions other = options;
  other.dims = {16};
  recdiff::DiffRec<> wrongShape(other, train.items(), 5);
  trained.save(file);
  const auto before = wrongShape.model().parameters().values();
  CHECK_THROWS_AS(wrongShape.load(file), recdiff::DataError);
  CHECK(wrongShape.model().parameters().values() == before);
  std::filesystem::remove(file);
}
