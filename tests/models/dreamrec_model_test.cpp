// DreamRec model: the whole training loss's gradient by central differences (T-enc, denoiser, null vector and
// item table through history, target and x_t; both empty-history choices; dropout on), learning a
// deterministic next-item rule, determinism for a seed, checkpoint and hyperparameter round trips.

#include <filesystem>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include <recdiff/models/dreamrec.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

namespace {

using recdiff::Index;
using recdiff::RowMatrix;
using Histories = recdiff::DreamRec<double>::Histories;
using Mask = Eigen::Array<bool, Eigen::Dynamic, 1>;

recdiff::DreamRecOptions tinyOptions() {
  recdiff::DreamRecOptions o;
  o.hidden = 4;
  o.maxLength = 4;
  o.steps = 10;
  o.batchSize = 4;
  return o;
}

/// Users whose items cycle 1, 2, …, items, 1, … from a random start: the next item is always determined.
recdiff::data::Sequences cyclicSequences(Index users, Index length, int items, recdiff::Rng& rng) {
  std::vector<std::vector<int>> lists;
  for (Index u = 0; u < users; ++u) {
    int item = static_cast<int>(rng.uniformIndex(items)) + 1;
    std::vector<int> s;
    for (Index j = 0; j < length; ++j) {
      s.push_back(item);
      item = item % items + 1;
    }
    lists.push_back(s);
  }
  return recdiff::data::Sequences::fromLists(lists);
}

}  // namespace

TEST_CASE("DreamRec training loss gradient matches central differences", "[models][dreamrec][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  Histories history(4, 4);
  history << 2, 5, 0, 0,  //
      1, 7, 4, 4,         //
      0, 0, 0, 0,         // empty
      3, 0, 0, 0;
  Eigen::ArrayXi lengths(4), targets(4), t(4);
  lengths << 2, 4, 0, 1;
  targets << 5, 2, 7, 3;  // row 0's target is also in its history: both paths reach E[5]
  t << 0, 9, 4, 6;
  Mask useNull(4);
  useNull << false, true, false, false;
  for (const auto empty : {recdiff::EmptyHistory::kReference, recdiff::EmptyHistory::kNullVector})
    for (const auto arch : {recdiff::DreamRecArchitecture::kMlp1, recdiff::DreamRecArchitecture::kMlp2})
      for (const double dropout : {0.0, 0.2}) {
        CAPTURE(static_cast<int>(empty), static_cast<int>(arch), dropout);
        auto o = tinyOptions();
        o.emptyHistory = empty;
        o.architecture = arch;
        o.dropout = dropout;
        recdiff::DreamRec<double> model(o, 7, recdiff::test::seed());
        const RowMatrix<double> noise = recdiff::test::randomMatrix<double>(4, 4, rng);
        const auto loss = [&] {
          model.encoder().setRng(recdiff::Rng(3));  // the same dropout masks every time
          return model.loss(history, lengths, targets, t, noise, useNull);
        };
        CHECK(recdiff::test::gradientError(model.parameters(), loss, loss) < 1e-6);
      }
  // The non-reference options: an auxiliary cross-entropy (checked by central differences) and a constant
  // regression target (which removes exactly −∂L/∂x̂0 from the target rows of E's gradient).
  auto o = tinyOptions();
  o.crossEntropyWeight = 0.5;
  recdiff::DreamRec<double> withCe(o, 7, recdiff::test::seed());
  const RowMatrix<double> noise = recdiff::test::randomMatrix<double>(4, 4, rng);
  const auto ceLoss = [&] {
    withCe.encoder().setRng(recdiff::Rng(3));
    return withCe.loss(history, lengths, targets, t, noise, useNull);
  };
  CHECK(recdiff::test::gradientError(withCe.parameters(), ceLoss, ceLoss) < 1e-6);
  o = tinyOptions();
  recdiff::DreamRec<double> live(o, 7, recdiff::test::seed());
  o.detachTarget = true;
  recdiff::DreamRec<double> detached(o, 7, recdiff::test::seed());
  live.loss(history, lengths, targets, t, noise, useNull);
  detached.loss(history, lengths, targets, t, noise, useNull);
  const auto gl = live.encoder().itemEmbedding().weightGrad();
  const auto gd = detached.encoder().itemEmbedding().weightGrad();
  for (const int row : {0, 1, 4, 6})  // not a target: the same gradient (history rows included)
    CHECK((gl.row(row) - gd.row(row)).norm() == 0.0);
  for (const int row : {2, 3, 5, 7})  // targets: the regression-target term is gone
    CHECK((gl.row(row) - gd.row(row)).norm() > 1e-6);
}

TEST_CASE("DreamRec learns a deterministic next-item rule", "[models][dreamrec]") {
  recdiff::Rng rng(recdiff::test::seed());
  const int items = 30;
  const auto full = cyclicSequences(120, 10, items, rng);  // shorter than the cycle: the history mask leaves 21 items
  const auto split = recdiff::data::leaveLastOut(full);
  const auto train = recdiff::data::prefixSamples(split.train);
  recdiff::DreamRecOptions o;
  o.hidden = 16;
  o.steps = 50;
  o.batchSize = 64;
  o.learningRate = 1e-3;
  recdiff::DreamRec<float> model(o, items, recdiff::test::seed());
  const std::vector<Index> ks = {1, 3};
  recdiff::Rng evalRng(7);
  const auto before = model.evaluate(full, split.test, ks, evalRng);
  double firstLoss = 0.0, lastLoss = 0.0;
  for (int epoch = 1; epoch <= 80; ++epoch) {
    recdiff::Rng e = rng.fork(static_cast<std::uint64_t>(epoch));
    const auto r = model.trainEpoch(split.train, train, e);
    REQUIRE(r.finite);
    if (epoch == 1) firstLoss = r.meanLoss;
    lastLoss = r.meanLoss;
  }
  const auto after = model.evaluate(full, split.test, ks, evalRng);
  CAPTURE(firstLoss, lastLoss, before.at("hr@3"), after.at("hr@1"), after.at("hr@3"));
  CHECK(lastLoss < 0.5 * firstLoss);
  CHECK(after.at("hr@3") > 0.5);  // chance is 3 / 21
  CHECK(after.at("hr@3") > before.at("hr@3") + 0.25);
}

TEST_CASE("DreamRec is deterministic for a seed and round-trips through a checkpoint", "[models][dreamrec]") {
  recdiff::Rng rng(recdiff::test::seed());
  const auto full = cyclicSequences(10, 8, 9, rng);
  const auto split = recdiff::data::leaveLastOut(full);
  const auto train = recdiff::data::prefixSamples(split.train);
  auto o = tinyOptions();
  o.guidance = 3.0;
  o.emptyHistory = recdiff::EmptyHistory::kNullVector;
  o.architecture = recdiff::DreamRecArchitecture::kMlp2;
  recdiff::DreamRec<float> a(o, 9, 5), b(o, 9, 5);
  recdiff::Rng ra(4), rb(4);
  a.trainEpoch(split.train, train, ra);
  b.trainEpoch(split.train, train, rb);
  CHECK((a.parameters().values() - b.parameters().values()).norm() == 0.0f);
  Histories hist(2, 4);
  hist << 1, 2, 3, 0, 0, 0, 0, 0;
  Eigen::ArrayXi lengths(2);
  lengths << 3, 0;
  RowMatrix<float> sa, sb;
  recdiff::Rng s1(8), s2(8);
  a.scores(hist, lengths, sa, s1);
  const auto file = std::filesystem::temp_directory_path() / ("recdiff_dreamrec_" + std::to_string(recdiff::test::seed()) + ".rdc");
  a.save(file);
  const auto info = recdiff::io::readCheckpointInfo(file);
  const auto [options, items] = recdiff::DreamRec<float>::optionsFromHyperparameters(info.hyperparameters);
  CHECK(items == 9);
  CHECK(options.guidance == 3.0);
  CHECK(options.architecture == recdiff::DreamRecArchitecture::kMlp2);
  CHECK(options.emptyHistory == recdiff::EmptyHistory::kNullVector);
  recdiff::DreamRec<float> c(options, items, 99);
  c.load(file);
  std::filesystem::remove(file);
  c.scores(hist, lengths, sb, s2);
  CHECK(sa.rows() == 2);
  CHECK(sa.cols() == 10);
  CHECK((sa - sb).norm() == 0.0f);
  // Another guidance weight gives other scores from the same noise.
  recdiff::Rng s3(8);
  RowMatrix<float> sw;
  c.scores(hist, lengths, sw, s3, 0.0);
  CHECK((sw - sb).norm() > 0.0f);
  auto top = c.recommend(hist, lengths, 3, s3);
  CHECK((top.ids.array() > 0).all());  // never the padding column
}

TEST_CASE("DreamRec training steps and scores do not depend on the thread count", "[models][dreamrec]") {
  // Large enough for every split: 300 histories (score blocks of 64 rows, > 4 MFLOP; inference tiles) and
  // training batches of 128 (encoder rows); AdamW over 40k parameters runs in chunks.
  recdiff::Rng rng(recdiff::test::seed());
  const int items = 600;
  const auto full = cyclicSequences(300, 12, items, rng);
  const auto split = recdiff::data::leaveLastOut(full);
  const auto train = recdiff::data::prefixSamples(split.train);
  recdiff::DreamRecOptions o;
  o.hidden = 16;
  o.maxLength = 6;
  o.steps = 20;
  o.batchSize = 128;
  o.trainingThreads = 0;  // training on every thread too (the default runs it on one)
  Histories hist = Histories::Zero(300, 6);
  Eigen::ArrayXi lengths(300);
  for (Index b = 0; b < 300; ++b) {
    lengths(b) = static_cast<int>(b % 7);
    for (Index j = 0; j < lengths(b); ++j) hist(b, j) = static_cast<int>(rng.uniformIndex(items)) + 1;
  }
#if defined(_OPENMP)
  const int saved = omp_get_max_threads();
#endif
  RowMatrix<float> params[2], scores[2];
  for (const int threads : {1, 2}) {
#if defined(_OPENMP)
    omp_set_num_threads(threads);
#endif
    recdiff::DreamRec<float> model(o, items, 3);
    recdiff::Rng r(11);
    model.trainEpoch(split.train, train, r, 6);
    params[threads - 1] = model.parameters().values();
    recdiff::Rng s(12);
    model.scores(hist, lengths, scores[threads - 1], s);
  }
#if defined(_OPENMP)
  omp_set_num_threads(saved);
#endif
  CHECK(scores[0].rows() == 300);
  CHECK(scores[0].cols() == items + 1);
  CHECK((params[0].array() == params[1].array()).all());
  CHECK((scores[0].array() == scores[1].array()).all());
}

TEST_CASE("DreamRec rejects bad options", "[models][dreamrec]") {
  auto o = tinyOptions();
  o.schedule.name = "trunc_lin";
  CHECK_THROWS_AS(recdiff::DreamRec<float>(o, 5), std::invalid_argument);
  o = tinyOptions();
  o.nullProbability = 1.5;
  CHECK_THROWS_AS(recdiff::DreamRec<float>(o, 5), std::invalid_argument);
  CHECK_THROWS_AS(recdiff::DreamRec<float>(tinyOptions(), 0), std::invalid_argument);
}
