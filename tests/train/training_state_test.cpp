#include <recdiff/io/state_archive.hpp>
#include <recdiff/optim/optimizer.hpp>
#include <recdiff/timesteps/loss_second_moment_sampler.hpp>
#include <recdiff/train/callbacks.hpp>
#include <recdiff/train/trainer.hpp>
#include <recdiff/train/training_state.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "support/catch.hpp"

// Resumable training (train/training_state.hpp): the state round trip of every stateful piece, a run killed
// at every batch and resumed giving the bits of the uninterrupted run, and the refusals.

namespace {

using recdiff::Index;
using recdiff::Rng;
namespace fs = std::filesystem;
namespace train = recdiff::train;
namespace io = recdiff::io;

/// A small least-squares model with everything a diffusion model's training has that carries state: a shuffle
/// from the epoch generator, noise and timesteps from the step generator, a loss-aware timestep sampler fed
/// after every update, AdamW moments, a StepDecay position.
struct Model {
  using Batch = recdiff::RowMatrix<double>;
  recdiff::nn::ParameterBuffer<double> params{4};
  recdiff::LossSecondMomentSampler sampler{3, 2};
  recdiff::optim::Optimizer<recdiff::optim::AdamWUpdate, recdiff::optim::StepDecay> optimizer{
      {.learningRate = 0.05, .weightDecay = 0.01}, recdiff::optim::StepDecay(2, 0.5)};
  recdiff::RowMatrix<double> data{recdiff::RowMatrix<double>::Zero(24, 5)};
  std::vector<Batch> batches;
  recdiff::TimestepBatch<double> tb;
  Eigen::ArrayXd rowLosses;

  Model() {
    Rng init(7);
    init.fillNormal(data);
    params.values().setZero();
  }

  double lossAndGradient(const Batch& b, Rng& rng) {
    tb = sampler.sample<double>(b.rows(), rng);
    Eigen::VectorXd noise(b.rows());
    rng.fillNormal(noise);
    const Eigen::VectorXd target = b.col(4) + 0.1 * noise;
    const Eigen::VectorXd r = b.leftCols(4) * params.values() - target;
    rowLosses = r.array().square() * (1.0 + tb.t.cast<double>());
    params.grads() = 2.0 * b.leftCols(4).transpose() * (r.array() * (1.0 + tb.t.cast<double>())).matrix() /
                     static_cast<double>(b.rows());
    return rowLosses.mean();
  }
  recdiff::nn::ParameterBuffer<double>& parameters() { return params; }
  void afterStep(const Batch&) { sampler.update(tb.t, rowLosses); }

  template <class Archive>
  void serializeState(Archive& ar) {
    ar("parameters", params.values());
    ar("optimizer", optimizer);
    ar("timestep_sampler", sampler);
  }

  /// One epoch as the models run it: the shuffle from the epoch generator, then the Trainer.
  template <class... Callbacks>
  recdiff::EpochResult epoch(Index e, Rng& rng, Callbacks&... cb) {
    std::vector<Index> order(24);
    for (Index i = 0; i < 24; ++i) order[static_cast<std::size_t>(i)] = i;
    for (Index k = 23; k > 0; --k) std::swap(order[static_cast<std::size_t>(k)], order[static_cast<std::size_t>(rng.uniformIndex(k + 1))]);
    batches.assign(6, Batch(4, 5));
    for (Index b = 0; b < 6; ++b)
      for (Index r = 0; r < 4; ++r) batches[static_cast<std::size_t>(b)].row(r) = data.row(order[static_cast<std::size_t>(4 * b + r)]);
    struct Source {
      Model* m;
      Index batches() const { return 6; }
      const Batch& batch(Index b) const { return m->batches[static_cast<std::size_t>(b)]; }
    } source{this};
    train::Trainer<Model, decltype(optimizer)> trainer(*this, optimizer);
    return trainer.epoch(source, rng, e, 0, cb...);
  }
};

/// Throws after the `at`-th batch of the run (before the state of that batch is written): a kill.
struct Kill {
  Index at = 0, seen = 0;
  void endBatch(Index, Index, Index, double) {
    if (++seen == at) throw std::runtime_error("killed");
  }
};

struct Run {
  Model model;
  train::EarlyStopping early;
  train::KeepBest<double> keep;
  train::CsvLog log;
  train::TrainingCheckpoint state;
  recdiff::TrainResult result;

  Run(const fs::path& csv)
      : early([this](Index) {
                recdiff::metrics::MetricTable t;
                t.set("valid.loss", (model.data.leftCols(4) * model.params.values() - model.data.col(4)).squaredNorm());
                return t;
              },
              "valid.loss", {.patience = 3, .every = 2, .unit = train::PatienceUnit::kEpochs, .higherIsBetter = false}),
        keep(early, {&model.params}),
        log(csv, {"valid.loss"}, &early) {}

  void enable(const fs::path& file, io::StateFile header, const std::string& every) {
    state.enable(file, std::move(header), train::CheckpointEvery::parse(every));
    state.add("model", model);
    state.add("early_stopping", early);
    state.add("keep_best", keep);
    state.add("csv_log", log);
  }

  template <class... Extra>
  void fit(Extra&... extra) {
    result = train::fit({.epochs = 9, .seed = 3}, [&](Index e, Rng& rng, auto&... cb) { return model.epoch(e, rng, cb...); },
                        early, keep, log, extra..., state);
  }
};

io::StateFile header(const std::string& model = "toy", const std::string& fp = "00ff", const std::string& lr = "0.05") {
  return {.modelType = model, .fingerprint = fp, .hyperparameters = {{"lr", lr}, {"epochs", "9"}}, .sections = {}};
}

struct TempDir {
  fs::path path;
  TempDir() : path(fs::temp_directory_path() / (std::string("recdiff_state_").append(std::to_string(::getpid())))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string csvWithoutTimes(const fs::path& p) {  // epoch .. samples and the metric; seconds differ between runs
  std::ifstream in(p);
  std::string line, out;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string cell;
    for (int c = 0; std::getline(ss, cell, ','); ++c)
      if (c != 6) out += cell + ';';
    out += '\n';
  }
  return out;
}

void requireSameRun(const Run& a, const Run& b) {
  REQUIRE(a.result.epochs == b.result.epochs);
  REQUIRE(a.result.stopReason == b.result.stopReason);
  REQUIRE(a.result.history.size() == b.result.history.size());
  for (std::size_t i = 0; i < a.result.history.size(); ++i) {
    REQUIRE(a.result.history[i].sumLoss == b.result.history[i].sumLoss);
    REQUIRE(a.result.history[i].batches == b.result.history[i].batches);
  }
  REQUIRE(a.early.bestEpoch() == b.early.bestEpoch());
  REQUIRE(*a.early.best() == *b.early.best());
  REQUIRE(a.keep.savedEpoch() == b.keep.savedEpoch());
  for (Index i = 0; i < a.model.params.size(); ++i) REQUIRE(a.model.params.values()(i) == b.model.params.values()(i));
  REQUIRE(a.model.optimizer.stepCount() == b.model.optimizer.stepCount());
  REQUIRE((a.model.sampler.lossHistory() == b.model.sampler.lossHistory()).all());
}

}  // namespace

TEST_CASE("Rng: state() and Rng(state) continue the stream exactly", "[train][state]") {
  Rng a(11, 5);
  a.nextU32();     // part of a block used
  (void)a.normal();  // a cached second normal
  Rng b(a.state());
  for (int i = 0; i < 9; ++i) REQUIRE(a.nextU32() == b.nextU32());
  REQUIRE(a.normal() == b.normal());
  REQUIRE(a.normal() == b.normal());
  REQUIRE(a.position() == b.position());
}

TEST_CASE("StateArchive: a round trip of every field type; loading checks names, types and shapes", "[train][state]") {
  Rng rng(3, 4);
  rng.nextU64();
  Eigen::ArrayXXd m = Eigen::ArrayXXd::Random(3, 2);
  std::vector<std::string> names{"a", "bc"};
  std::optional<double> best = 0.25;
  Index n = -7;
  io::StateArchive out{io::StateArchive::Save{}};
  out("rng", rng), out("m", m), out("names", names), out("best", best), out("n", n);
  const std::vector<unsigned char> bytes = out.bytes();

  Rng rng2;
  Eigen::ArrayXXd m2;  // empty: resized
  std::vector<std::string> names2;
  std::optional<double> best2;
  Index n2 = 0;
  io::StateArchive in(bytes, "f", "s");
  in("rng", rng2), in("m", m2), in("names", names2), in("best", best2), in("n", n2);
  in.finish();
  REQUIRE(rng2.nextU64() == rng.nextU64());
  REQUIRE((m2 == m).all());
  REQUIRE(names2 == names);
  REQUIRE(best2 == best);
  REQUIRE(n2 == n);

  io::StateArchive wrongName(bytes, "f", "s");
  REQUIRE_THROWS_WITH(wrongName("seed", rng2), Catch::Contains("expected field 'seed', found 'rng'"));
  io::StateArchive wrongShape(bytes, "f", "s");
  wrongShape("rng", rng2);
  Eigen::ArrayXXd fixed = Eigen::ArrayXXd::Zero(2, 2);
  REQUIRE_THROWS_WITH(wrongShape("m", fixed), Catch::Contains("3 x 2 in the file but 2 x 2 in this run"));
  io::StateArchive wrongType(bytes, "f", "s");
  wrongType("rng", rng2), wrongType("m", m2), wrongType("names", names2), wrongType("best", best2);
  int small = 0;
  REQUIRE_THROWS_WITH(wrongType("n", small), Catch::Contains("another type"));
}

TEST_CASE("TrainingCheckpoint: a run killed at any batch and resumed gives the uninterrupted run's bits",
          "[train][state]") {
  TempDir dir;
  Run reference(dir.path / "reference.csv");
  reference.fit();
  REQUIRE(reference.result.epochs >= 4);  // an early stop or the budget, after several evaluations
  const Index total = static_cast<Index>(reference.result.epochs) * 6;
  for (const std::string every : {"1", "4", "2e"}) {
    for (Index killAt = 1; killAt <= total; killAt += (every == "1" ? 2 : 5)) {
      const fs::path file = dir.path / (std::string("state_").append(every));
      fs::remove(file);
      const fs::path csv = dir.path / "run.csv";
      {
        Run killed(csv);
        killed.enable(file, header(), every);
        Kill kill{killAt};
        REQUIRE_THROWS_WITH(killed.fit(kill), "killed");
      }
      const bool written = fs::exists(file);  // none when killed before the first state
      Run resumed(csv);
      resumed.enable(file, header(), every);
      resumed.fit();
      INFO("every " << every << ", killed after batch " << killAt);
      REQUIRE(resumed.state.resumed() == written);
      requireSameRun(reference, resumed);
      REQUIRE(csvWithoutTimes(csv) == csvWithoutTimes(dir.path / "reference.csv"));
    }
  }
  // A finished run's state makes a rerun return the same result without training.
  const fs::path file = dir.path / "finished";
  Run first(dir.path / "a.csv");
  first.enable(file, header(), "3");
  first.fit();
  Run again(dir.path / "a.csv");
  again.enable(file, header(), "3");
  again.fit();
  REQUIRE(again.state.resumed());
  REQUIRE(again.state.writes() == 1);  // the final state only: no batch ran
  requireSameRun(reference, again);
}

TEST_CASE("TrainingCheckpoint: refuses another model, other data, other hyperparameters, damaged files",
          "[train][state]") {
  TempDir dir;
  const fs::path file = dir.path / "run.state";
  {
    Run run(dir.path / "a.csv");
    run.enable(file, header(), "5");
    Kill kill{8};
    REQUIRE_THROWS(run.fit(kill));
  }
  const auto refusal = [&](io::StateFile h) {
    Run run(dir.path / "b.csv");
    run.enable(file, std::move(h), "5");
    try {
      run.fit();
    } catch (const recdiff::DataError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  REQUIRE_THAT(refusal(header("other")), Catch::Contains("written by model 'toy', this run trains 'other'"));
  REQUIRE_THAT(refusal(header("toy", "1234")), Catch::Contains("other data (fingerprint of the splits 00ff, this run's 1234)"));
  REQUIRE_THAT(refusal(header("toy", "00ff", "0.1")), Catch::Contains("lr = 0.05 in the file, 0.1 in this run"));
  REQUIRE(refusal(header()) == "accepted");

  // Every truncation and every flipped bit of the file is refused (and nothing is loaded).
  std::ifstream in(file, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto refused = [&](const std::vector<char>& b) {
    const fs::path bad = dir.path / "bad.state";
    std::ofstream(bad, std::ios::binary | std::ios::trunc).write(b.data(), static_cast<std::streamsize>(b.size()));
    try {
      (void)io::readStateFile(bad);
    } catch (const recdiff::DataError& e) {
      const std::string what = e.what();
      return what.find("bad.state") != std::string::npos &&
             (what.find("checksum") != std::string::npos || what.find("magic") != std::string::npos ||
              what.find("truncated") != std::string::npos);
    }
    return false;
  };
  for (std::size_t n = 0; n < bytes.size(); ++n) REQUIRE(refused(std::vector<char>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n))));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::vector<char> flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x10);
    INFO("byte " << i);
    REQUIRE(refused(flipped));
  }
  REQUIRE_THROWS_WITH(train::CheckpointEvery::parse("0"), Catch::Contains("N > 0"));
  REQUIRE_THROWS_WITH(train::CheckpointEvery::parse("5x"), Catch::Contains("expected N (batches) or Ne (epochs)"));
  REQUIRE(train::CheckpointEvery::parse("12e").epochs == 12);
  REQUIRE(train::CheckpointEvery::parse("5").batches == 5);
}
