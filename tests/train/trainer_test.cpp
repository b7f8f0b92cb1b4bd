#include <recdiff/train/callbacks.hpp>
#include <recdiff/train/trainer.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "support/catch.hpp"

namespace {

using recdiff::Index;

/// An objective whose losses and gradients follow a script: batch b of epoch e (both from 1) has loss
/// script(e, b); a NaN entry in `badGradient` puts a NaN into the gradient instead.
struct ScriptedObjective {
  using Batch = Index;  // the batch index within the epoch (0-based)
  std::function<double(Index epoch, Index batch)> script;
  Index epoch = 1;
  bool badGradientAt3 = false;
  recdiff::nn::ParameterBuffer<double> params{3};
  int afterSteps = 0, epochsEnded = 0;

  double lossAndGradient(const Batch& b, recdiff::Rng& /*rng*/) {
    params.grads().setConstant(1.0);
    if (badGradientAt3 && b + 1 == 3) params.grads()(1) = std::numeric_limits<double>::quiet_NaN();
    return script(epoch, b + 1);
  }
  recdiff::nn::ParameterBuffer<double>& parameters() { return params; }
  void afterStep(const Batch&) { ++afterSteps; }
  void endEpoch() {
    ++epochsEnded;
    ++epoch;
  }
};

/// Adds 1 to every parameter per step; counts epochs.
struct CountingOptimizer {
  int steps = 0, epochs = 0;
  void step(recdiff::nn::ParameterBuffer<double>& p) {
    p.values().array() += 1.0;
    ++steps;
  }
  void endEpoch() { ++epochs; }
};

struct Batches {
  Index count;
  std::vector<Index> ids;
  explicit Batches(Index n) : count(n) {
    for (Index i = 0; i < n; ++i) ids.push_back(i);
  }
  Index batches() const { return count; }
  const Index& batch(Index b) const { return ids[static_cast<std::size_t>(b)]; }
};

/// fit() over the scripted objective with `batches` batches per epoch.
template <class... C>
recdiff::TrainResult fitScripted(ScriptedObjective& o, CountingOptimizer& opt, Index batches, Index epochs, C&... c) {
  recdiff::train::Trainer trainer(o, opt);
  Batches source(batches);
  return recdiff::train::fit({.epochs = epochs}, [&](Index e, recdiff::Rng& rng, auto&... cb) {
    return trainer.epoch(source, rng, e, 0, cb...);
  }, c...);
}

/// A metric table with one entry.
recdiff::metrics::MetricTable table(const std::string& name, double v) {
  recdiff::metrics::MetricTable t;
  t.set(name, v);
  return t;
}

}  // namespace

TEST_CASE("Trainer applies finite steps and stops the epoch at a non-finite one", "[train][trainer]") {
  ScriptedObjective o;
  o.script = [](Index, Index b) { return b == 4 ? std::nan("") : static_cast<double>(b); };
  CountingOptimizer opt;
  recdiff::train::Trainer trainer(o, opt);
  Batches source(6);
  recdiff::Rng rng(1);
  const recdiff::EpochResult r = trainer.epoch(source, rng, 1, 0);
  CHECK_FALSE(r.finite);
  CHECK(r.divergedBatch == 4);
  CHECK(r.batches == 3);
  CHECK(r.sumLoss == 6.0);
  CHECK(r.meanLoss == 2.0);
  CHECK(r.lastLoss == 3.0);
  CHECK(opt.steps == 3);  // the fourth update was not applied
  CHECK(o.afterSteps == 3);
  CHECK(o.params.values()(0) == 3.0);
  CHECK(o.epochsEnded == 1);  // epoch hooks run after a divergent epoch too
  CHECK(opt.epochs == 1);

  SECTION("a non-finite gradient with a finite loss is divergence too") {
    ScriptedObjective g;
    g.script = [](Index, Index) { return 1.0; };
    g.badGradientAt3 = true;
    CountingOptimizer opt2;
    recdiff::train::Trainer t2(g, opt2);
    const recdiff::EpochResult r2 = t2.epoch(source, rng, 1, 0);
    CHECK_FALSE(r2.finite);
    CHECK(r2.divergedBatch == 3);
    CHECK(opt2.steps == 2);
  }
  SECTION("maxBatches caps the epoch") {
    ScriptedObjective g;
    g.script = [](Index, Index) { return 1.0; };
    CountingOptimizer opt2;
    recdiff::train::Trainer t2(g, opt2);
    const recdiff::EpochResult r2 = t2.epoch(source, rng, 1, 2);
    CHECK(r2.finite);
    CHECK(r2.batches == 2);
    CHECK(r2.samples == 2);  // one "row" per scalar batch
  }
}

TEST_CASE("fit() stops at a divergent epoch with a message naming the epoch and the batch", "[train][trainer]") {
  ScriptedObjective o;
  o.script = [](Index e, Index b) { return e == 3 && b == 2 ? std::numeric_limits<double>::infinity() : 1.0; };
  CountingOptimizer opt;
  struct Ends {
    int begins = 0, ends = 0, trainingEnds = 0;
    void beginEpoch(Index) { ++begins; }
    void endEpoch(Index, const recdiff::EpochResult&) { ++ends; }
    void endTraining(const recdiff::TrainResult&) { ++trainingEnds; }
  } hooks;
  const recdiff::TrainResult r = fitScripted(o, opt, 4, 10, hooks);
  CHECK(r.diverged);
  CHECK(r.epochs == 3);
  CHECK(r.history.size() == 3);
  CHECK(r.stopReason == "diverged: non-finite loss or gradient in epoch 3, batch 2 (the update was not applied)");
  CHECK(hooks.begins == 3);
  CHECK(hooks.ends == 2);  // not called for the divergent epoch
  CHECK(hooks.trainingEnds == 1);
  CHECK(opt.steps == 4 + 4 + 1);
}

TEST_CASE("fit() draws epoch e from Rng(seed, stream).fork(e)", "[train][trainer]") {
  struct Recorder {
    using Batch = Index;
    std::vector<std::uint64_t> draws;
    recdiff::nn::ParameterBuffer<double> p{1};
    double lossAndGradient(const Batch&, recdiff::Rng& rng) {
      draws.push_back(rng.nextU64());
      return 0.0;
    }
    recdiff::nn::ParameterBuffer<double>& parameters() { return p; }
  } o;
  CountingOptimizer opt;
  recdiff::train::Trainer trainer(o, opt);
  Batches source(1);
  const auto r = recdiff::train::fit({.epochs = 3, .seed = 9, .stream = 5}, [&](Index e, recdiff::Rng& rng) {
    return trainer.epoch(source, rng, e, 0);
  });
  REQUIRE(r.epochs == 3);
  const recdiff::Rng base(9, 5);
  for (std::uint64_t e = 1; e <= 3; ++e) {
    recdiff::Rng expect = base.fork(e);
    CHECK(o.draws[e - 1] == expect.nextU64());
  }
}

TEST_CASE("EarlyStopping in epochs stops where DiffRec's reference loop breaks", "[train][callbacks]") {
  // Reference (DiffRec main.py): for epoch in 1..E: if epoch - best_epoch >= patience: break; train; if
  // epoch % every == 0: evaluate. Metric improves until epoch 10, then falls.
  const auto metric = [](Index e) { return e <= 10 ? 0.01 * static_cast<double>(e) : 0.05; };
  Index referenceEpochs = 0;
  {
    Index best = 0;
    double bestValue = -1.0;
    for (Index e = 1; e <= 100; ++e) {
      if (best > 0 && e - best >= 20) break;
      referenceEpochs = e;
      if (e % 5 == 0 && metric(e) > bestValue) {
        bestValue = metric(e);
        best = e;
      }
    }
  }
  REQUIRE(referenceEpochs == 29);
  ScriptedObjective o;
  o.script = [](Index, Index) { return 1.0; };
  CountingOptimizer opt;
  std::vector<Index> evaluated;
  recdiff::train::EarlyStopping early([&](Index e) { evaluated.push_back(e); return table("valid.recall@20", metric(e)); },
                                      "valid.recall@20", {.patience = 20, .every = 5, .unit = recdiff::train::PatienceUnit::kEpochs});
  const auto r = fitScripted(o, opt, 2, 100, early);
  CHECK(r.epochs == referenceEpochs);
  CHECK(r.stoppedEarly);
  CHECK(early.bestEpoch() == 10);
  CHECK(*early.best() == Approx(0.10));
  CHECK(evaluated == std::vector<Index>{5, 10, 15, 20, 25});
  CHECK(r.stopReason == "early stop: no better valid.recall@20 for 20 epochs (best epoch 10)");

  SECTION("the last epoch of the budget is always evaluated") {
    ScriptedObjective o2;
    o2.script = [](Index, Index) { return 1.0; };
    CountingOptimizer opt2;
    std::vector<Index> seen;
    recdiff::train::EarlyStopping e2([&](Index e) { seen.push_back(e); return table("m", 1.0); }, "m",
                                     {.patience = 50, .every = 5, .unit = recdiff::train::PatienceUnit::kEpochs});
    const auto r2 = fitScripted(o2, opt2, 1, 12, e2);
    CHECK(r2.epochs == 12);
    CHECK_FALSE(r2.stoppedEarly);
    CHECK(seen == std::vector<Index>{5, 10, 12});
  }
}

TEST_CASE("EarlyStopping in evaluations counts evaluations without improvement", "[train][callbacks]") {
  // DiffuRec's example: evaluate every 2 epochs, stop after 2 evaluations in a row without a better NDCG.
  const std::vector<double> byEpoch = {0, 0.1, 0.2, 0.3, 0.4, 0.35, 0.39, 0.38, 0.5, 0.6, 0.7};
  ScriptedObjective o;
  o.script = [](Index, Index) { return 1.0; };
  CountingOptimizer opt;
  recdiff::train::EarlyStopping early([&](Index e) { return table("valid.ndcg@10", byEpoch[static_cast<std::size_t>(e)]); },
                                      "valid.ndcg@10",
                                      {.patience = 2, .every = 2, .unit = recdiff::train::PatienceUnit::kEvaluations});
  const auto r = fitScripted(o, opt, 1, 10, early);
  // evaluations at 2 (0.2 best), 4 (0.4 best), 6 (0.39 worse), 8 (0.5? no: byEpoch[8] = 0.5 better)
  // -> 10 (0.7 better): never two in a row; with patience 1 it stops at 6.
  CHECK(r.epochs == 10);
  CHECK(early.bestEpoch() == 10);
  ScriptedObjective o2;
  o2.script = o.script;
  CountingOptimizer opt2;
  recdiff::train::EarlyStopping e1([&](Index e) { return table("valid.ndcg@10", byEpoch[static_cast<std::size_t>(e)]); },
                                   "valid.ndcg@10",
                                   {.patience = 1, .every = 2, .unit = recdiff::train::PatienceUnit::kEvaluations});
  const auto r1 = fitScripted(o2, opt2, 1, 10, e1);
  CHECK(r1.epochs == 6);
  CHECK(r1.stopReason == "early stop: no better valid.ndcg@10 for 1 evaluations (best epoch 4)");
  SECTION("a lower-is-better metric and a missing metric") {
    ScriptedObjective o3;
    o3.script = o.script;
    CountingOptimizer opt3;
    recdiff::train::EarlyStopping low([&](Index e) { return table("loss", static_cast<double>(e)); }, "loss",
                                      {.patience = 2, .every = 1, .unit = recdiff::train::PatienceUnit::kEvaluations,
                                       .higherIsBetter = false});
    CHECK(fitScripted(o3, opt3, 1, 10, low).epochs == 3);
    CHECK(low.bestEpoch() == 1);
    recdiff::train::EarlyStopping missing([&](Index) { return table("x", 1.0); }, "y",
                                          {.patience = 2, .every = 1, .unit = recdiff::train::PatienceUnit::kEpochs});
    CHECK_THROWS_WITH(fitScripted(o3, opt3, 1, 3, missing), Catch::Contains("no metric 'y'"));
    CHECK_THROWS_WITH(recdiff::train::EarlyStopping([](Index) { return table("x", 1); }, "x",
                                                    {.patience = 0, .every = 1, .unit = recdiff::train::PatienceUnit::kEpochs}),
                      Catch::Contains("patience must be positive"));
  }
}

TEST_CASE("KeepBest restores the parameters of the best epoch", "[train][callbacks]") {
  // The optimizer adds 1 per batch: after epoch e with 3 batches every parameter is 3e.
  const std::vector<double> byEpoch = {0, 0.1, 0.5, 0.2, 0.3, 0.1, 0.0};
  ScriptedObjective o;
  o.script = [](Index, Index) { return 1.0; };
  CountingOptimizer opt;
  recdiff::train::EarlyStopping early([&](Index e) { return table("m", byEpoch[static_cast<std::size_t>(e)]); }, "m",
                                      {.patience = 10, .every = 1, .unit = recdiff::train::PatienceUnit::kEpochs});
  recdiff::train::KeepBest<double> keep(early, {&o.params});
  const auto r = fitScripted(o, opt, 3, 6, early, keep);
  CHECK(r.epochs == 6);
  CHECK(early.bestEpoch() == 2);
  CHECK(keep.savedEpoch() == 2);
  CHECK(keep.restored());
  CHECK(o.params.values().isConstant(6.0));  // not 18, the last epoch's
  SECTION("restores after divergence as well") {
    ScriptedObjective d;
    d.script = [](Index e, Index b) { return e == 4 && b == 2 ? std::nan("") : 1.0; };
    CountingOptimizer opt2;
    recdiff::train::EarlyStopping e2([&](Index e) { return table("m", byEpoch[static_cast<std::size_t>(e)]); }, "m",
                                     {.patience = 10, .every = 1, .unit = recdiff::train::PatienceUnit::kEpochs});
    recdiff::train::KeepBest<double> k2(e2, {&d.params});
    const auto r2 = fitScripted(d, opt2, 3, 6, e2, k2);
    CHECK(r2.diverged);
    CHECK(d.params.values().isConstant(6.0));
  }
}

TEST_CASE("CsvLog writes one flushed row per epoch with the evaluated metrics", "[train][callbacks]") {
  const auto dir = std::filesystem::temp_directory_path() / "recdiff_csvlog_test";
  std::filesystem::remove_all(dir);
  const auto file = dir / "sub" / "log.csv";
  ScriptedObjective o;
  o.script = [](Index e, Index b) { return static_cast<double>(e * 10 + b); };
  CountingOptimizer opt;
  recdiff::train::EarlyStopping early([&](Index e) { auto t = table("valid.m", 0.5 * static_cast<double>(e)); t.set("test.m", 1.0); return t; },
                                      "valid.m", {.patience = 10, .every = 2, .unit = recdiff::train::PatienceUnit::kEpochs});
  {
    recdiff::train::CsvLog log(file, {"valid.m", "test.m"}, &early);
    std::vector<std::string> seen;  // what the file holds while the log is still open
    struct Reader {
      std::filesystem::path f;
      std::vector<std::string>* lines;
      void endEpoch(Index, const recdiff::EpochResult&) {
        std::ifstream in(f);
        std::string line, last;
        Index n = 0;
        while (std::getline(in, line)) {
          last = line;
          ++n;
        }
        lines->push_back(std::to_string(n) + ":" + last);
      }
    } reader{file, &seen};
    const auto r = fitScripted(o, opt, 2, 3, early, log, reader);
    CHECK(r.epochs == 3);
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].rfind("2:1,", 0) == 0);  // header + the first row, before the log is closed
    CHECK(seen[2].rfind("4:3,", 0) == 0);
  }
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "epoch,mean_loss,sum_loss,last_loss,batches,samples,seconds,valid.m,test.m");
  CHECK(lines[1].rfind("1,11.5,23,12,2,2,", 0) == 0);
  CHECK(lines[1].substr(lines[1].size() - 2) == ",,");        // epoch 1 not evaluated
  CHECK(lines[2].substr(lines[2].size() - 4) == ",1,1");      // epoch 2: valid.m 1, test.m 1
  CHECK(lines[3].substr(lines[3].size() - 6) == ",1.5,1");    // epoch 3: the budget's last
  std::filesystem::remove_all(dir);
  CHECK_THROWS_WITH(recdiff::train::CsvLog("/proc/recdiff-no-such-dir/x.csv"), Catch::Contains("CsvLog"));
}

TEST_CASE("DivergenceStop stops at a blown-up loss and names the epoch and the batch", "[train][callbacks]") {
  ScriptedObjective o;
  o.script = [](Index e, Index b) { return e == 2 && b >= 3 ? 1e6 : 1.0; };
  CountingOptimizer opt;
  recdiff::train::DivergenceStop stop(1e3);
  const auto r = fitScripted(o, opt, 5, 10, stop);
  CHECK(r.epochs == 2);
  CHECK(r.stoppedEarly);
  CHECK_FALSE(r.diverged);
  CHECK(r.last().stopped);
  CHECK(r.last().batches == 3);  // the blown-up batch was applied, then training stopped
  CHECK(r.stopReason.find("epoch 2, batch 3") != std::string::npos);
  CHECK(r.stopReason.rfind("diverged: loss", 0) == 0);
}

TEST_CASE("ProgressBar draws batches and epochs to its stream", "[train][callbacks]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  {
    ScriptedObjective o;
    o.script = [](Index, Index) { return 0.25; };
    CountingOptimizer opt;
    recdiff::train::ProgressBar bar(f, true, 2);
    CHECK(bar.enabled());
    (void)fitScripted(o, opt, 4, 2, bar);
  }
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;) text.push_back(static_cast<char>(c));
  std::fclose(f);
  CHECK(text.find("epoch 1/2 batch 2/4 loss 0.2500") != std::string::npos);
  CHECK(text.find("epoch 2/2 batch 4/4") != std::string::npos);
  CHECK(text.find("epoch 2/2 loss 0.2500") != std::string::npos);
  CHECK(text.find("[###############...............] epoch 1/2 loss") != std::string::npos);
  CHECK(text.back() == '\n');
  std::FILE* g = std::tmpfile();
  recdiff::train::ProgressBar quiet(g);  // not a terminal, not forced
  CHECK_FALSE(quiet.enabled());
  std::fclose(g);
}

namespace {

/// Spins on the CPU for at least `seconds` of process CPU time.
void burnCpu(double seconds) {
  const double start = recdiff::train::cpuSeconds();
  volatile double sink = 0.0;
  while (recdiff::train::cpuSeconds() - start < seconds) sink = sink + 1.0;
}

/// The whole text written to a temporary file.
std::string contents(std::FILE* f) {
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;) text.push_back(static_cast<char>(c));
  return text;
}

}  // namespace

TEST_CASE("fit() times every epoch and EarlyStopping every evaluation, wall and CPU", "[train][callbacks]") {
  ScriptedObjective o;
  o.script = [](Index e, Index) {
    if (e == 2) burnCpu(0.02);  // epoch 2's batches use CPU time
    return 1.0;
  };
  CountingOptimizer opt;
  recdiff::train::EarlyStopping early([&](Index e) {
    burnCpu(0.01 * static_cast<double>(e));  // evaluation e uses e/100 s of CPU
    return table("valid.m", static_cast<double>(e));
  }, "valid.m", {.patience = 5, .every = 2, .unit = recdiff::train::PatienceUnit::kEpochs});
  const auto r = fitScripted(o, opt, 2, 5, early);
  REQUIRE(r.history.size() == 5);
  CHECK(r.history[1].cpuSeconds >= 0.04);  // two batches of 0.02 s
  CHECK(r.history[1].seconds >= 0.04 * 0.5);
  CHECK(r.history[0].cpuSeconds < 0.04);
  REQUIRE(early.evaluationTimes().size() == 3);  // epochs 2, 4 and the last, 5
  CHECK(early.evaluationTimes()[0].epoch == 2);
  CHECK(early.evaluationTimes()[2].epoch == 5);
  CHECK(early.evaluationTimes()[2].cpuSeconds >= 0.05);
  CHECK(early.evaluationTimes()[2].seconds > 0.0);
  CHECK(early.evaluationTimes()[0].cpuSeconds < early.evaluationTimes()[2].cpuSeconds);
  CHECK(early.evaluated(5));
  CHECK_FALSE(early.evaluated(4));  // not the last evaluated epoch any more
  (void)fitScripted(o, opt, 1, 1, early);  // a new fit() starts a new list
  CHECK(early.evaluationTimes().size() == 1);
}

TEST_CASE("CsvLog adds CPU and evaluation seconds on request, and an empty path writes nothing", "[train][callbacks]") {
  const auto dir = std::filesystem::temp_directory_path() / "recdiff_csvlog_times_test";
  std::filesystem::remove_all(dir);
  const auto file = dir / "log.csv";
  ScriptedObjective o;
  o.script = [](Index e, Index b) { return static_cast<double>(e * 10 + b); };
  CountingOptimizer opt;
  recdiff::train::EarlyStopping early([&](Index e) { return table("valid.m", 0.5 * static_cast<double>(e)); }, "valid.m",
                                      {.patience = 10, .every = 2, .unit = recdiff::train::PatienceUnit::kEpochs});
  {
    recdiff::train::CsvLog log(file, {"valid.m"}, &early, {.cpuSeconds = true, .evaluationSeconds = true});
    CHECK(log.enabled());
    (void)fitScripted(o, opt, 2, 3, early, log);
  }
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "epoch,mean_loss,sum_loss,last_loss,batches,samples,seconds,cpu_seconds,valid.m,eval_seconds,"
                    "eval_cpu_seconds");
  const auto cells = [](const std::string& line) {
    std::vector<std::string> out(1);
    for (const char ch : line) {
      if (ch == ',') out.emplace_back();
      else out.back().push_back(ch);
    }
    return out;
  };
  for (const auto& l : lines) CHECK(cells(l).size() == 11);
  CHECK(lines[1].rfind("1,11.5,23,12,2,2,", 0) == 0);
  CHECK(lines[1].substr(lines[1].size() - 3) == ",,,");  // epoch 1: no evaluation, no evaluation seconds
  const auto row2 = cells(lines[2]);
  CHECK(row2[8] == "1");
  CHECK_FALSE(row2[7].empty());   // cpu_seconds
  CHECK_FALSE(row2[9].empty());   // eval_seconds
  CHECK_FALSE(row2[10].empty());  // eval_cpu_seconds
  CHECK(std::stod(row2[9]) >= 0.0);
  CHECK(cells(lines[3])[8] == "1.5");
  std::filesystem::remove_all(dir);

  recdiff::train::CsvLog none("", {"valid.m"}, &early, {.evaluationSeconds = true});
  CHECK_FALSE(none.enabled());
  (void)fitScripted(o, opt, 1, 2, early, none);
  CHECK_THROWS_WITH(recdiff::train::CsvLog(file, {}, nullptr, {.evaluationSeconds = true}),
                    Catch::Contains("EarlyStopping"));
  CHECK_FALSE(std::filesystem::exists(file));
}

TEST_CASE("ProgressLog writes one line per epoch or per evaluated epoch", "[train][callbacks]") {
  ScriptedObjective o;
  o.script = [](Index, Index) { return 0.5; };
  CountingOptimizer opt;
  recdiff::train::EarlyStopping early([&](Index e) { return table("valid.m", e == 2 ? 0.75 : 0.25); }, "valid.m",
                                      {.patience = 10, .every = 2, .unit = recdiff::train::PatienceUnit::kEpochs});
  std::FILE* all = std::tmpfile();
  std::FILE* evaluated = std::tmpfile();
  REQUIRE(all != nullptr);
  REQUIRE(evaluated != nullptr);
  {
    recdiff::train::ProgressLog every(all, &early);
    recdiff::train::ProgressLog onlyEvaluated(evaluated, &early, true);
    recdiff::train::ProgressLog off(nullptr, &early);
    CHECK(every.enabled());
    CHECK_FALSE(off.enabled());
    (void)fitScripted(o, opt, 4, 3, early, every, onlyEvaluated, off);
  }
  const std::string a = contents(all), e = contents(evaluated);
  std::fclose(all);
  std::fclose(evaluated);
  CHECK(std::count(a.begin(), a.end(), '\n') == 3);
  CHECK(std::count(e.begin(), e.end(), '\n') == 2);  // epochs 2 and 3 (the budget's last)
  CHECK(a.rfind("epoch 1/3: loss 0.5000, 4 samples in ", 0) == 0);
  CHECK(a.find("epoch 2/3: loss 0.5000, 4 samples in ") != std::string::npos);
  CHECK(e.rfind("epoch 2/3: loss 0.5000, 4 samples in ", 0) == 0);
  CHECK(e.find("; valid.m 0.7500 (best 0.7500 @2), evaluated in ") != std::string::npos);
  CHECK(e.find("epoch 3/3: loss 0.5000") != std::string::npos);
  CHECK(e.find("; valid.m 0.2500 (best 0.7500 @2), evaluated in ") != std::string::npos);
  CHECK(a.find("epoch 1/3: loss 0.5000, 4 samples in ") < a.find("epoch 2/3"));
  CHECK_THROWS_WITH(recdiff::train::ProgressLog(stdout, nullptr, true), Catch::Contains("EarlyStopping"));
}
