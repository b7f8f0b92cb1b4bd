#include <recdiff/models/diffrec.hpp>

#include <cmath>
#include <filesystem>
#if defined(_OPENMP)
#include <omp.h>
#endif

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

// Same seed and thread count: bit-identical (the noise, dropout and timesteps are counter-based, so they do not
// depend on threads at all). Across thread counts Eigen's GEMM chooses a different depth blocking (kc depends
// on the thread count), so sums are rounded in another order: close, not identical.
TEST_CASE("DiffRec runs are bit-identical for one seed at 1 and at 2 threads", "[models][diffrec][threads]") {
#if defined(_OPENMP)
  recdiff::Rng dataRng(recdiff::test::seed());
  const auto train = blockData(256, 600, 4, 0.3, dataRng);  // large enough for Eigen's parallel GEMM
  recdiff::DiffRecOptions options;
  options.dims = {256};
  options.batchSize = 128;
  options.steps = 8;
  const auto run = [&](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    recdiff::DiffRec<> model(options, train.items(), 2);
    recdiff::Rng rng(4);
    for (int e = 0; e < 2; ++e) (void)model.trainEpoch(train, rng);
    auto scores = model.scores(train, rng);
    omp_set_num_threads(saved);
    return std::make_pair(model.model().parameters().values(), scores);
  };
  const auto one = run(1), oneAgain = run(1), two = run(2), twoAgain = run(2);
  CHECK(one.first == oneAgain.first);
  CHECK(one.second == oneAgain.second);
  CHECK(two.first == twoAgain.first);
  CHECK(two.second == twoAgain.second);
  const auto relative = [](const auto& a, const auto& b) {
    return static_cast<double>((a - b).cwiseAbs().maxCoeff() / b.cwiseAbs().maxCoeff());
  };
  CHECK(relative(one.first, two.first) < 1e-4);
  CHECK(relative(one.second, two.second) < 1e-4);
#else
  WARN("built without OpenMP: one thread only");
#endif
}
