// examples/common/training.hpp: the loop flags (a preset's defaults, then what the command line gave) and the
// callbacks every training example passes to fit(), run on a scripted epoch function.
#include <string>
#include <vector>

#include "../../examples/common/training.hpp"
#include "support/catch.hpp"

namespace ex = recdiff::examples;
using recdiff::Index;

namespace {

void parse(CLI::App& app, std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("LoopFlags: the preset sets the defaults, the command line wins", "[examples][training]") {
  ex::LoopFlags loop;
  CLI::App app;
  loop.add(app, "patience help");
  parse(app, {"prog", "--patience", "3", "--no-progress", "--log", "runs/x.csv", "--max-batches-per-epoch", "7"});
  loop.epochs = 100;  // the preset, after parsing
  loop.evalEvery = 5;
  loop.patience = 20;
  loop.applyOverrides();
  CHECK(loop.epochs == 100);
  CHECK(loop.evalEvery == 5);
  CHECK(loop.patience == 3);
  CHECK_FALSE(loop.progress);
  CHECK(loop.log == "runs/x.csv");
  const recdiff::FitOptions f = loop.fitOptions(7, 0xD8EA);
  CHECK(f.epochs == 100);
  CHECK(f.maxBatchesPerEpoch == 7);
  CHECK(f.seed == 7);
  CHECK(f.stream == 0xD8EA);
  CHECK(loop.json() == nlohmann::json{{"epochs", 100}, {"eval_every", 5}, {"patience", 3}, {"max_batches_per_epoch", 7}});

  ex::LoopFlags given;
  CLI::App app2;
  given.add(app2, "");
  parse(app2, {"prog", "--epochs", "0", "--eval-every", "2"});
  given.epochs = 100;
  given.applyOverrides();
  CHECK(given.epochs == 0);
  CHECK(given.evalEvery == 2);
  CHECK(given.progress);
  CLI::App app3;
  ex::LoopFlags bad;
  bad.add(app3, "");
  CHECK_THROWS_AS(parse(app3, {"prog", "--eval-every", "0"}), CLI::ValidationError);
}

TEST_CASE("Callbacks: early stopping, keep-best, the report's loop entries and times", "[examples][training]") {
  ex::LoopFlags loop;
  CLI::App app;
  loop.add(app, "");
  parse(app, {"prog", "--no-progress"});
  loop.epochs = 10;
  loop.evalEvery = 2;
  loop.patience = 2;
  loop.applyOverrides();
  recdiff::nn::ParameterBuffer<float> params(2);
  const std::vector<double> byEpoch = {0, 0.1, 0.4, 0.2, 0.3, 0.1, 0.35, 0, 0.2, 0, 0};
  std::vector<Index> improved;
  ex::Callbacks cb(
      loop,
      [&](Index e) {
        recdiff::metrics::MetricTable t;
        t.set("valid.m", byEpoch[static_cast<std::size_t>(e)]);
        return t;
      },
      "valid.m", recdiff::train::PatienceUnit::kEvaluations, {&params}, {"valid.m"},
      [&](Index e, const recdiff::metrics::MetricTable&) { improved.push_back(e); });
  CHECK_FALSE(cb.log.enabled());   // no --log
  CHECK_FALSE(cb.bar.enabled());   // --no-progress
  CHECK(cb.lines.enabled());       // the bar is off: a line per evaluated epoch on stdout
  const recdiff::TrainResult r = recdiff::train::fit(
      loop.fitOptions(1, 2),
      [&](Index e, recdiff::Rng&, auto&...) {
        params.values().setConstant(static_cast<float>(e));  // the parameters after epoch e
        recdiff::EpochResult er;
        er.batches = 1;
        er.samples = 3;
        return er;
      },
      cb.early, cb.keep, cb.log, cb.bar, cb.lines);
  // Evaluations at 2 (0.4 best), 4 (0.3), 6 (0.35): two without improvement, stop after epoch 6.
  CHECK(r.epochs == 6);
  CHECK(r.stoppedEarly);
  CHECK(improved == std::vector<Index>{2});
  CHECK(params.values().isConstant(2.0f));  // epoch 2's parameters restored
  const ex::RunTimes times(r, cb.early);
  CHECK(times.epochSeconds.size() == 6);
  CHECK(times.epochCpuSeconds.size() == 6);
  CHECK(times.evalSeconds.size() == 3);
  CHECK(times.evalCpuSeconds.size() == 3);
  nlohmann::json j;
  recdiff::metrics::MetricTable table = cb.early.bestTable();
  ex::addRunResult(j, r, cb.early, table);
  CHECK(j["best_epoch"] == 2);
  CHECK(j["epochs_run"] == 6);
  CHECK(j["diverged"] == false);
  CHECK(j["valid.m"] == 0.4);
  CHECK(j["metrics"]["valid.m"] == 0.4);
  CHECK(j["stop_reason"] == "early stop: no better valid.m for 2 evaluations (best epoch 2)");
}
