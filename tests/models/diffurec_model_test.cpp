// DiffuRec model facade: training reduces the loss on a learnable toy problem, runs are reproducible for a seed
// (bit for bit at a fixed thread count, closely across 1 and 2 threads), checkpoints round-trip to identical
// scores, inference averaging, and bad input errors.

#include <cstdio>
#include <filesystem>
#include <limits>
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

recdiff::data::Sequences cycleSequences() { return recdiff::test::diffuRecCycleSequences(); }
recdiff::DiffuRecOptions tinyOptions() { return recdiff::test::tinyDiffuRecOptions(); }

std::filesystem::path tempFile(const char* name) {
  return std::filesystem::temp_directory_path() / (std::string("recdiff_diffurec_") + std::to_string(recdiff::test::seed()) + name);
}

}  // namespace

TEST_CASE("DiffuRec training reduces the loss and learns a deterministic cycle", "[models][diffurec]") {
  const auto full = cycleSequences();
  const auto split = recdiff::data::leaveLastOut(full);
  const auto samples = recdiff::data::prefixSamples(split.train);
  recdiff::DiffuRec<float> model(tinyOptions(), 12, recdiff::test::seed());
  recdiff::Rng rng(recdiff::test::seed());
  const std::vector<Index> ks{1, 5};
  recdiff::Rng evalRng(7);
  const auto before = model.evaluate(full, split.test, ks, evalRng);
  double first = 0.0, last = 0.0;
  for (int epoch = 1; epoch <= 40; ++epoch) {
    recdiff::Rng e = rng.fork(static_cast<std::uint64_t>(epoch));
    const auto r = model.trainEpoch(split.train, samples, e);
    REQUIRE(r.finite);
    REQUIRE(r.samples == samples.size());
    if (epoch == 1) first = r.meanLoss;
    last = r.meanLoss;
  }
  CHECK(last < 0.5 * first);
  const auto after = model.evaluate(full, split.test, ks, evalRng);
  CHECK(after.at("hr@1") > before.at("hr@1"));
  CHECK(after.at("hr@5") > 0.5);  // chance: 5 of 11 unmasked items at best
}

TEST_CASE("DiffuRec with loss-aware timesteps trains and warms its sampler", "[models][diffurec]") {
  const auto full = cycleSequences();
  const auto split = recdiff::data::leaveLastOut(full);
  const auto samples = recdiff::data::prefixSamples(split.train);
  auto o = tinyOptions();
  o.lossAwareTimesteps = true;
  recdiff::DiffuRec<float> model(o, 12, recdiff::test::seed());
  recdiff::Rng rng(recdiff::test::seed());
  for (int epoch = 1; epoch <= 6; ++epoch) {
    recdiff::Rng e = rng.fork(static_cast<std::uint64_t>(epoch));
    REQUIRE(model.trainEpoch(split.train, samples, e).finite);
  }
  CHECK(model.timestepSampler().warmedUp());
  const Eigen::ArrayXd w = model.timestepSampler().weights();
  CHECK(std::abs(w.sum() - 1.0) < 1e-9);
  // The Trainer feeds the sampler in Objective::afterStep, after an applied update: a diverged batch (a
  // non-finite loss) records nothing.
  const Eigen::ArrayXi counts = model.timestepSampler().counts();
  const Eigen::ArrayXXd history = model.timestepSampler().lossHistory();
  model.approximator().parameters().values().setConstant(std::numeric_limits<float>::quiet_NaN());
  recdiff::Rng diverging = rng.fork(7);
  const recdiff::EpochResult d = model.trainEpoch(split.train, samples, diverging);
  CHECK_FALSE(d.finite);
  CHECK(d.divergedBatch == 1);
  CHECK((model.timestepSampler().counts() == counts).all());
  CHECK((model.timestepSampler().lossHistory() == history).all());
}

TEST_CASE("DiffuRec runs are reproducible for a seed", "[models][diffurec]") {
  const auto full = cycleSequences();
  const auto split = recdiff::data::leaveLastOut(full);
  const auto samples = recdiff::data::prefixSamples(split.train);
  const auto train = [&](int threads) {
#if defined(_OPENMP)
    omp_set_num_threads(threads);
#else
    (void)threads;
#endif
    recdiff::DiffuRec<double> model(tinyOptions(), 12, 5);
    recdiff::Rng rng(11);
    for (int epoch = 1; epoch <= 2; ++epoch) {
      recdiff::Rng e = rng.fork(static_cast<std::uint64_t>(epoch));
      model.trainEpoch(split.train, samples, e);
    }
    return recdiff::ColVector<double>(model.approximator().parameters().values());
  };
  const auto a = train(1), b = train(1);
  CHECK((a - b).cwiseAbs().maxCoeff() == 0.0);
#if defined(_OPENMP)
  const int saved = omp_get_max_threads();
  const auto c = train(2), d = train(2);
  omp_set_num_threads(saved);
  CHECK((c - d).cwiseAbs().maxCoeff() == 0.0);
  // Across thread counts only GEMM summation order differs.
  CHECK((a - c).cwiseAbs().maxCoeff() < 1e-9 * std::max(1.0, a.cwiseAbs().maxCoeff()));
#endif
}

TEST_CASE("DiffuRec checkpoints round-trip to identical scores", "[models][diffurec]") {
  const auto full = cycleSequences();
  const auto split = recdiff::data::leaveLastOut(full);
  const auto samples = recdiff::data::prefixSamples(split.train);
  auto o = tinyOptions();
  o.attentionMask = recdiff::nn::PaddingMask::kQueryRows;
  o.learnedPositions = true;
  recdiff::DiffuRec<float> model(o, 12, 3);
  recdiff::Rng rng(4);
  model.trainEpoch(split.train, samples, rng);
  const auto file = tempFile("roundtrip.rdc");
  model.save(file);
  const auto info = recdiff::io::readCheckpointInfo(file);
  const auto [options, items] = recdiff::DiffuRec<float>::optionsFromHyperparameters(info.hyperparameters);
  CHECK(items == 12);
  CHECK(options.attentionMask == recdiff::nn::PaddingMask::kQueryRows);
  CHECK(options.learnedPositions);
  recdiff::DiffuRec<float> loaded(options, items, 99);
  loaded.load(file);
  recdiff::data::HistoryBatch batch;
  const std::vector<Index> rows{0, 1, 2, 3};
  recdiff::data::fillHistoryBatch(full, split.test, rows, {.maxLen = o.maxLength}, batch);
  RowMatrix<float> s1, s2;
  recdiff::Rng r1(21), r2(21);
  model.scores(batch.history, s1, r1);
  loaded.scores(batch.history, s2, r2);
  REQUIRE(s1.rows() == 4);
  REQUIRE(s1.cols() == 13);
  CHECK((s1 - s2).cwiseAbs().maxCoeff() == 0.0f);
  recdiff::DiffuRec<float> other(tinyOptions(), 13, 3);  // a different item count
  CHECK_THROWS_AS(other.load(file), recdiff::DataError);
  std::filesystem::remove(file);
}

TEST_CASE("DiffuRec averages several reverse runs at inference", "[models][diffurec]") {
  const auto full = cycleSequences();
  const auto split = recdiff::data::leaveLastOut(full);
  auto o = tinyOptions();
  recdiff::DiffuRec<double> one(o, 12, 3);
  o.inferenceRuns = 3;
  recdiff::DiffuRec<double> three(o, 12, 3);
  recdiff::data::HistoryBatch batch;
  const std::vector<Index> rows{0, 1, 2};
  recdiff::data::fillHistoryBatch(full, split.test, rows, {.maxLen = o.maxLength}, batch);
  // The mean of three runs equals the mean of the three single runs drawn from the same sub-streams.
  RowMatrix<double> mean, run;
  recdiff::Rng r(8);
  three.representations(batch.history, mean, r);
  RowMatrix<double> expected = RowMatrix<double>::Zero(3, o.hidden);
  for (std::uint64_t k = 0; k < 3; ++k) {
    recdiff::Rng base(8);
    one.approximator().setTraining(false);
    one.approximator().setRng(base.fork(2 * k).fork(0));  // one tile: tile 0's streams of run k
    recdiff::Rng reverse = base.fork(2 * k + 1).fork(0);
    const recdiff::DiffuRecApproximator<double>::Sequences seq = batch.history.array();
    recdiff::DdpmSampler(one.diffusion(), recdiff::diffuRecReverseOptions())
        .sampleFromNoise(one.approximator(), seq, seq.rows(), o.hidden, reverse, run);
    expected += run / 3.0;
  }
  CHECK((mean - expected).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("DiffuRec rejects bad options and inputs", "[models][diffurec]") {
  CHECK_THROWS_AS(recdiff::DiffuRec<float>(tinyOptions(), 0), std::invalid_argument);
  auto o = tinyOptions();
  o.batchSize = 0;
  CHECK_THROWS_AS(recdiff::DiffuRec<float>(o, 12), std::invalid_argument);
  o = tinyOptions();
  o.inferenceRuns = 0;
  CHECK_THROWS_AS(recdiff::DiffuRec<float>(o, 12), std::invalid_argument);
  o = tinyOptions();
  o.schedule.name = "no-such-schedule";
  CHECK_THROWS_AS(recdiff::DiffuRec<float>(o, 12), std::invalid_argument);
  recdiff::DiffuRec<float> model(tinyOptions(), 12);
  recdiff::data::IdMatrix history = recdiff::data::IdMatrix::Constant(2, 6, 13);  // item 13 > 12 items
  RowMatrix<float> s;
  recdiff::Rng rng(1);
  CHECK_THROWS_AS(model.scores(history, s, rng), std::invalid_argument);
  const auto full = cycleSequences();  // items up to 12
  const auto small = recdiff::data::Sequences::fromLists({{1, 2, 3}});
  recdiff::DiffuRec<float> tooFew(tinyOptions(), 2);
  CHECK_THROWS_AS(tooFew.trainEpoch(full, recdiff::data::prefixSamples(full), rng), std::invalid_argument);
  CHECK_THROWS_AS(model.trainEpoch(small, recdiff::data::SequenceSamples{}, rng), std::invalid_argument);
  CHECK_THROWS_AS(model.load(tempFile("missing.rdc")), recdiff::DataError);
}
