// DiffuRec's data-parallel tiles (DiffuRecOptions::trainingTile / inferenceTile): a tiled inference equals the
// tiles run one by one through the approximator with their own streams; a tiled training step has the gradient
// and loss of the whole batch; tiled training and inference give the same bits at 1 and 2 threads; a tile's
// error reaches the caller.

#include <cmath>
#include <stdexcept>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include <recdiff/models/diffurec.hpp>

#include "support/catch.hpp"
#include "support/test_env.hpp"
#include "diffurec_toy.hpp"

namespace {

using recdiff::Index;
using recdiff::RowMatrix;

recdiff::DiffuRecOptions tiledOptions() {
  recdiff::DiffuRecOptions o = recdiff::test::tinyDiffuRecOptions();
  o.batchSize = 16;
  o.trainingTile = 4;   // a batch of 11 → tiles of 3, 4, 4 rows (near-equal)
  o.inferenceTile = 2;  // 5 histories → tiles of 1, 2, 2
  return o;
}

recdiff::data::IdMatrix histories(Index rows, Index len, Index items, recdiff::Rng& rng) {
  recdiff::data::IdMatrix h = recdiff::data::IdMatrix::Zero(rows, len);
  for (Index r = 0; r < rows; ++r) {
    const Index filled = 1 + rng.uniformIndex(len);
    for (Index j = len - filled; j < len; ++j) h(r, j) = 1 + static_cast<int>(rng.uniformIndex(items));
  }
  return h;
}

Eigen::ArrayXi targetsFor(Index rows, Index items, recdiff::Rng& rng) {
  Eigen::ArrayXi t(rows);
  for (Index r = 0; r < rows; ++r) t(r) = 1 + static_cast<int>(rng.uniformIndex(items));
  return t;
}

void setThreads(int threads) {
#if defined(_OPENMP)
  omp_set_num_threads(threads);
#else
  (void)threads;
#endif
}

int currentThreads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace

TEST_CASE("DiffuRec inference tiles equal the tiles run one by one", "[models][diffurec][tiles]") {
  const auto o = tiledOptions();
  recdiff::DiffuRec<double> model(o, 12, 3);
  recdiff::Rng data(recdiff::test::seed());
  const recdiff::data::IdMatrix h = histories(5, o.maxLength, 12, data);
  RowMatrix<double> tiled;
  recdiff::Rng rng(8);
  model.representations(h, tiled, rng);
  REQUIRE(tiled.rows() == 5);
  // Tile k covers rows [5k/3, 5(k+1)/3): {0}, {1, 2}, {3, 4}; its streams are fork(k) of the run's.
  const std::vector<Index> begins{0, 1, 3, 5};
  recdiff::DiffuRec<double> reference(o, 12, 3);
  auto& m = reference.approximator();
  m.setTraining(false);
  for (Index k = 0; k < 3; ++k) {
    const Index b = begins[static_cast<std::size_t>(k)], n = begins[static_cast<std::size_t>(k) + 1] - b;
    recdiff::Rng base(8);
    m.setRng(base.fork(0).fork(static_cast<std::uint64_t>(k)));
    recdiff::Rng reverse = base.fork(1).fork(static_cast<std::uint64_t>(k));
    RowMatrix<double> out;
    const recdiff::DiffuRecApproximator<double>::Sequences seq = h.middleRows(b, n).array();
    recdiff::DdpmSampler(reference.diffusion(), recdiff::diffuRecReverseOptions()).sampleFromNoise(m, seq, n, m.options().hidden, reverse, out);
    CHECK((tiled.middleRows(b, n) - out).cwiseAbs().maxCoeff() == 0.0);
  }
}

TEST_CASE("DiffuRec training tiles give the whole batch's loss and gradient", "[models][diffurec][tiles]") {
  // Without dropout and with λ = 0 nothing random differs between tilings: the tiled step (3 tiles) must give
  // the one-tile step's loss and gradients up to rounding, also with loss-aware importance weights.
  for (const bool lossAware : {false, true}) {
    auto o = tiledOptions();
    o.dropout = 0.0;
    o.embeddingDropout = 0.0;
    o.lambda = 0.0;
    o.lossAwareTimesteps = lossAware;
    auto whole = o;
    whole.trainingTile = 0;
    recdiff::DiffuRec<double> tiled(o, 12, 5), single(whole, 12, 5);
    recdiff::Rng data(recdiff::test::seed() + 1);
    const recdiff::data::IdMatrix h = histories(11, o.maxLength, 12, data);
    const Eigen::ArrayXi targets = targetsFor(11, 12, data);
    // Warm the loss-aware sampler identically in both (it then weights the loss by 1/(T·p_t)).
    for (int i = 0; i < (lossAware ? 12 : 1); ++i) {
      recdiff::Rng r1(40 + i), r2(40 + i);
      const double a = tiled.step(h, targets, r1), b = single.step(h, targets, r2);
      INFO("warm-up step " << i);
      REQUIRE(std::abs(a - b) <= 1e-12 * std::abs(b));
    }
    CHECK(tiled.timestepSampler().warmedUp() == lossAware);
    recdiff::Rng r1(99), r2(99);
    const double a = tiled.step(h, targets, r1), b = single.step(h, targets, r2);
    CHECK(std::abs(a - b) <= 1e-12 * std::abs(b));
    const auto& ga = tiled.approximator().parameters().grads();
    const auto& gb = single.approximator().parameters().grads();
    CHECK((ga - gb).cwiseAbs().maxCoeff() <= 1e-12 * gb.cwiseAbs().maxCoeff());
    CHECK(gb.cwiseAbs().maxCoeff() > 0.0);
    CHECK((tiled.lastRowLosses() - single.lastRowLosses()).abs().maxCoeff() <= 1e-12);
  }
}

TEST_CASE("DiffuRec tiles give the same bits at 1 and 2 threads", "[models][diffurec][tiles]") {
  const auto o = tiledOptions();
  recdiff::Rng data(recdiff::test::seed() + 2);
  const recdiff::data::IdMatrix h = histories(11, o.maxLength, 12, data);
  const Eigen::ArrayXi targets = targetsFor(11, 12, data);
  const auto run = [&](int threads) {
    setThreads(threads);
    recdiff::DiffuRec<float> model(o, 12, 7);
    recdiff::Rng rng(3);
    for (int i = 0; i < 3; ++i) {
      model.approximator().setTraining(true);
      (void)model.step(h, targets, rng);
      model.optimizer().step(model.approximator().parameters());
    }
    RowMatrix<float> scores;
    model.scores(h, scores, rng);
    return scores;
  };
  const int saved = currentThreads();
  const RowMatrix<float> one = run(1), two = run(2);
  setThreads(saved);
  REQUIRE(one.rows() == 11);
  CHECK((one - two).cwiseAbs().maxCoeff() == 0.0f);
  CHECK(one.allFinite());
}

TEST_CASE("DiffuRec reports an error raised inside a tile", "[models][diffurec][tiles]") {
  recdiff::DiffuRec<float> model(tiledOptions(), 12, 1);
  recdiff::Rng data(5);
  recdiff::data::IdMatrix h = histories(9, 6, 12, data);
  Eigen::ArrayXi targets = targetsFor(9, 12, data);
  recdiff::Rng rng(1);
  const recdiff::data::IdMatrix good = h;
  h(7, 5) = 40;  // not an item: the tile holding row 7 (a worker's tile at 2 threads) throws
  CHECK_THROWS_AS(model.step(h, targets, rng), std::out_of_range);
  CHECK(std::isfinite(model.step(good, targets, rng)));  // the model still works afterwards
  targets(3) = 13;  // targets are checked before any tile runs
  CHECK_THROWS_WITH(model.step(good, targets, rng), Catch::Contains("target 13 at row 3"));
  auto o = tiledOptions();
  o.trainingTile = -1;
  CHECK_THROWS_AS(recdiff::DiffuRec<float>(o, 12), std::invalid_argument);
  o = tiledOptions();
  o.inferenceTile = -2;
  CHECK_THROWS_AS(recdiff::DiffuRec<float>(o, 12), std::invalid_argument);
}
