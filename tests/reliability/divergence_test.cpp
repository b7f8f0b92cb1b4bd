// Divergence (issue 22): a batch poisoned with NaN, +Inf or a blown-up (finite) value, through the library's
// Trainer with DivergenceStop and TrainingCheckpoint, stops training with a reason naming the epoch and the
// batch; the last good training state (written before the bad batch) stays on disk, and a run resumed from it
// without the poison ends with the bits of a run that was never poisoned.

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <recdiff/optim/optimizer.hpp>
#include <recdiff/train/callbacks.hpp>
#include <recdiff/train/trainer.hpp>
#include <recdiff/train/training_state.hpp>

#include "reliability_fixtures.hpp"
#include "support/catch.hpp"

namespace {

using namespace recdiff::test::reliability;
using recdiff::Index;
using recdiff::Rng;
namespace train = recdiff::train;

/// Least squares on 20 rows in 5 batches of 4, AdamW, noise from the step generator; batch `poisonBatch` of
/// epoch `poisonEpoch` gets `poison` in one cell (0: none).
struct Model {
  using Batch = recdiff::RowMatrix<double>;
  recdiff::nn::ParameterBuffer<double> params{3};
  recdiff::optim::Optimizer<recdiff::optim::AdamWUpdate> optimizer{{.learningRate = 0.05, .weightDecay = 0.01}};
  recdiff::RowMatrix<double> data{recdiff::RowMatrix<double>::Zero(20, 4)};
  std::vector<Batch> batches;
  Index poisonEpoch = 0, poisonBatch = 0;
  double poison = 0.0;

  Model() {
    Rng init(11);
    init.fillNormal(data);
    params.values().setZero();
  }
  double lossAndGradient(const Batch& b, Rng& rng) {
    Eigen::VectorXd noise(b.rows());
    rng.fillNormal(noise);
    const Eigen::VectorXd r = b.leftCols(3) * params.values() - (b.col(3) + 0.1 * noise);
    params.grads() = 2.0 * b.leftCols(3).transpose() * r / static_cast<double>(b.rows());
    return r.squaredNorm() / static_cast<double>(b.rows());
  }
  recdiff::nn::ParameterBuffer<double>& parameters() { return params; }
  template <class Archive>
  void serializeState(Archive& ar) {
    ar("parameters", params.values());
    ar("optimizer", optimizer);
  }
  template <class... Callbacks>
  recdiff::EpochResult epoch(Index e, Rng& rng, Callbacks&... cb) {
    batches.assign(5, Batch(4, 4));
    for (Index b = 0; b < 5; ++b) batches[static_cast<std::size_t>(b)] = data.middleRows(4 * b, 4);
    if (e == poisonEpoch) batches[static_cast<std::size_t>(poisonBatch - 1)](1, 2) = poison;
    struct Source {
      Model* m;
      Index batches() const { return 5; }
      const Batch& batch(Index b) const { return m->batches[static_cast<std::size_t>(b)]; }
    } source{this};
    train::Trainer<Model, decltype(optimizer)> trainer(*this, optimizer);
    return trainer.epoch(source, rng, e, 0, cb...);
  }
};

struct Run {
  Model model;
  train::DivergenceStop stop{1e6};
  train::TrainingCheckpoint state;
  recdiff::TrainResult result;

  explicit Run(const fs::path& file) {
    state.enable(file, {.modelType = "toy", .fingerprint = "01", .hyperparameters = {{"lr", "0.05"}}, .sections = {}},
                 train::CheckpointEvery::parse("2"));
    state.add("model", model);
  }
  void fit() {
    result = train::fit({.epochs = 4, .seed = 5},
                        [&](Index e, Rng& rng, auto&... cb) { return model.epoch(e, rng, cb...); }, stop, state);
  }
};

}  // namespace

TEST_CASE("Divergence: a poisoned batch stops training naming epoch and batch, and the last good state resumes",
          "[reliability][train][state]") {
  TempDir dir("diverge");
  Run clean(dir.path / "clean.state");
  clean.fit();
  REQUIRE(clean.result.epochs == 4);
  REQUIRE_FALSE(clean.result.diverged);
  REQUIRE_FALSE(clean.result.stoppedEarly);

  struct Poison {
    const char* name;
    double value;
    Index batch;
    const char* reason;
  };
  const double inf = std::numeric_limits<double>::infinity();
  for (const Poison p : {Poison{"NaN", std::nan(""), 3, "diverged: non-finite loss or gradient in epoch 2, batch 3"},
                         Poison{"+Inf", inf, 4, "diverged: non-finite loss or gradient in epoch 2, batch 4"},
                         Poison{"-Inf", -inf, 1, "diverged: non-finite loss or gradient in epoch 2, batch 1"},
                         Poison{"1e9 (finite, blown up)", 1e9, 3, "in epoch 2, batch 3"}}) {
    INFO("poison " << p.name << " in epoch 2, batch " << p.batch);
    const fs::path file = dir.path / "run.state";
    fs::remove(file);
    Run poisoned(file);
    poisoned.model.poisonEpoch = 2;
    poisoned.model.poisonBatch = p.batch;
    poisoned.model.poison = p.value;
    poisoned.fit();
    CHECK_THAT(poisoned.result.stopReason, Catch::Contains(p.reason) && Catch::StartsWith("diverged:"));
    CHECK(poisoned.result.epochs == 2);
    CHECK(train::TrainingCheckpoint::divergedRun(poisoned.result));
    CHECK(poisoned.state.keptLastGoodState());
    // The state on disk is the last one written before the bad batch: after an even number of batches.
    const Index before = 5 + p.batch - 1;  // batches applied before the bad one
    const Index lastGood = before - before % 2;
    Run resumed(file);
    resumed.fit();
    CHECK(resumed.state.resumed());
    const Index epoch = lastGood / 5 + 1, batch = lastGood % 5;
    CHECK(resumed.state.resumedFrom() == "epoch " + std::to_string(epoch) + ", batch " + std::to_string(batch));
    CHECK(resumed.result.epochs == clean.result.epochs);
    CHECK_FALSE(resumed.result.diverged);
    CHECK(resumed.result.stopReason == clean.result.stopReason);
    REQUIRE(resumed.result.history.size() == clean.result.history.size());
    for (std::size_t e = 0; e < clean.result.history.size(); ++e)
      CHECK(resumed.result.history[e].sumLoss == clean.result.history[e].sumLoss);
    CHECK(resumed.model.params.values() == clean.model.params.values());  // bit for bit
    CHECK(resumed.model.optimizer.stepCount() == clean.model.optimizer.stepCount());
  }
}

TEST_CASE("Divergence before the first state leaves no state file", "[reliability][train][state]") {
  TempDir dir("diverge_first");
  const fs::path file = dir.path / "run.state";
  Run poisoned(file);
  poisoned.model.poisonEpoch = 1;
  poisoned.model.poisonBatch = 1;
  poisoned.model.poison = std::nan("");
  poisoned.fit();
  CHECK(poisoned.result.diverged);
  CHECK_THAT(poisoned.result.stopReason, Catch::Contains("epoch 1, batch 1"));
  CHECK_FALSE(poisoned.state.keptLastGoodState());
  CHECK_FALSE(fs::exists(file));
  CHECK(dir.entries().empty());
}
