#ifndef RECDIFF_EXAMPLES_COMMON_TRAINING_HPP
#define RECDIFF_EXAMPLES_COMMON_TRAINING_HPP
// Shared by the training examples (diffrec_movielens, dreamrec_movielens, diffurec_movielens): the epoch-loop
// flags, the library callbacks every run passes to its model's fit() (train/callbacks.hpp: EarlyStopping,
// KeepBest, CsvLog, ProgressBar, ProgressLog), and what the run's --report says about the loop and its timing.
//
//   ex::LoopFlags loop;  loop.add(app, "stop after N epochs without a better validation recall@20");
//   ... app.parse(); apply the preset to loop.epochs / evalEvery / patience; loop.applyOverrides();
//   ex::Callbacks cb(loop, evaluate, "valid.recall@20", PatienceUnit::kEpochs, {&model.model().parameters()},
//                    {"valid.recall@20", "test.recall@20"}, save);
//   const recdiff::TrainResult r = model.fit(train, loop.fitOptions(seed, stream), cb.early, cb.keep, cb.log,
//                                            cb.bar, cb.lines);

#include <recdiff/io/state_archive.hpp>
#include <recdiff/train/callbacks.hpp>
#include <recdiff/train/training_state.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "run_info.hpp"

namespace recdiff::examples {

/// "1,2,3".
inline std::string join(const std::vector<Index>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) {  // appended piece by piece: `"," + std::string` trips g++ 12's
    if (i > 0) s += ',';                          // -Wrestrict false positive at -O3 (GCC bug 105329)
    s += std::to_string(v[i]);
  }
  return s;
}

/// --epochs, --max-batches-per-epoch, --eval-every, --patience, --log, --no-progress, --resume,
/// --checkpoint-every. The preset sets the defaults (the public fields) after parsing; applyOverrides() then
/// applies what the command line gave.
struct LoopFlags {
  Index epochs = 0, maxBatches = 0, evalEvery = 1, patience = 1;
  std::string log, resume, checkpointEvery = "1e";
  bool progress = true;

  void add(CLI::App& app, const std::string& patienceHelp) {
    app.add_option("--epochs", epochs_, "upper epoch limit (default: the preset's)")
        ->check(wholeNumberAtLeast(0));
    app.add_option("--max-batches-per-epoch", maxBatches, "stop each epoch after this many batches (0: no limit)")
        ->check(wholeNumberAtLeast(0));
    app.add_option("--eval-every", evalEvery_, "validate every N epochs (and after the last)")->check(wholeNumberAtLeast(1));
    app.add_option("--patience", patience_, patienceHelp)->check(wholeNumberAtLeast(1));
    app.add_option("--log", log, "per-epoch CSV log (train::CsvLog: losses, seconds, validation metrics)");
    app.add_flag("--no-progress", noProgress_, "no progress bar");
    app.add_option("--resume", resume, "training-state file: continue from it when it exists, else start afresh; "
                   "written every --checkpoint-every, at the end, and on SIGINT/SIGTERM (then exit code 75)");
    app.add_option("--checkpoint-every", checkpointEvery, "with --resume: write the state every N batches, or Ne epochs")
        ->capture_default_str()
        ->check([](const std::string& s) {
          try {
            train::CheckpointEvery::parse(s);
            return std::string();
          } catch (const std::exception& e) {
            return std::string(e.what());
          }
        });
  }

  void applyOverrides() {
    requireOutputFolders({{"--log", log}, {"--resume", resume}});
    if (epochs_) epochs = *epochs_;
    if (evalEvery_) evalEvery = *evalEvery_;
    if (patience_) patience = *patience_;
    progress = !noProgress_;
  }

  /// The fit options of a run: epoch e draws from Rng(seed, stream).fork(e).
  FitOptions fitOptions(std::uint64_t seed, std::uint64_t stream) const {
    return {.epochs = epochs, .maxBatchesPerEpoch = maxBatches, .seed = seed, .stream = stream};
  }

  /// The loop's entries of the report's "hyperparameters".
  nlohmann::json json() const {
    return {{"epochs", epochs}, {"eval_every", evalEvery}, {"patience", patience}, {"max_batches_per_epoch", maxBatches}};
  }

 private:
  std::optional<Index> epochs_, evalEvery_, patience_;
  bool noProgress_ = false;
};

/// The library's TrainingCheckpoint, which also says at the end of training where the run resumed from and,
/// when training diverged, whether the last good state was kept (a rerun continues from it).
struct ReportingCheckpoint : train::TrainingCheckpoint {
  void endTraining(const TrainResult& r) {
    train::TrainingCheckpoint::endTraining(r);
    if (!enabled()) return;
    if (resumed()) std::printf("training state: resumed from %s\n", resumedFrom().c_str());
    if (divergedRun(r))
      std::printf(keptLastGoodState() ? "training state: %s keeps the last state before the divergence; running the "
                                        "same command again continues from it\n"
                                      : "training state: none written to %s before the divergence\n",
                  file().c_str());
    std::fflush(stdout);
  }
};

/// The callbacks of a training example, in the order fit() must run them: early stopping on `metric`
/// (patience in `unit`; at a new best the parameters are kept and onImprove runs, e.g. writing --save), the
/// kept parameters restored at the end, the --log CSV with `columns` and the CPU and evaluation seconds, the
/// progress bar on a terminal and, when it is off, a line per epoch (`everyEpoch`) or per evaluated epoch.
struct Callbacks {
  train::EarlyStopping early;
  train::KeepBest<float> keep;
  train::CsvLog log;
  train::ProgressBar bar;
  train::ProgressLog lines;
  ReportingCheckpoint state;  ///< disabled unless resumable() is called with --resume

  Callbacks(const LoopFlags& loop, train::EarlyStopping::Evaluator evaluate, std::string metric, train::PatienceUnit unit,
            std::vector<nn::ParameterBuffer<float>*> buffers, std::vector<std::string> columns,
            train::EarlyStopping::OnImprove onImprove = {}, bool everyEpoch = false)
      : early(std::move(evaluate), std::move(metric), {.patience = loop.patience, .every = loop.evalEvery, .unit = unit},
              std::move(onImprove)),
        keep(early, std::move(buffers)),
        log(loop.log, std::move(columns), &early, {.cpuSeconds = true, .evaluationSeconds = true}),
        bar(loop.progress ? stderr : nullptr, false, 16, &early),
        lines(bar.enabled() ? nullptr : stdout, &early, !everyEpoch) {}
};

/// With --resume, makes `cb.state` continue from and write the training state: the model's serializeState and
/// the callbacks' parts, under `modelType`, the data fingerprint and `hyperparameters` (plus the loop flags and
/// the seed), all of which a resumed run must match. Prints where the run continues from.
template <class Model>
void resumable(Callbacks& cb, const LoopFlags& loop, const std::string& modelType, const std::string& fingerprint,
               std::map<std::string, std::string> hyperparameters, std::uint64_t seed, Model& model) {
  if (loop.resume.empty()) return;
  const nlohmann::json flags = loop.json();
  for (const auto& [k, v] : flags.items()) hyperparameters[std::string("loop.").append(k)] = v.dump();
  hyperparameters["seed"] = std::to_string(seed);
  cb.state.enable(loop.resume, {.modelType = modelType, .fingerprint = fingerprint, .hyperparameters = hyperparameters, .sections = {}},
                  train::CheckpointEvery::parse(loop.checkpointEvery), true);
  cb.state.add("model", model);
  cb.state.add("early_stopping", cb.early);
  cb.state.add("keep_best", cb.keep);
  cb.state.add("csv_log", cb.log);
  std::printf("training state: %s (%s)\n", loop.resume.c_str(),
              std::filesystem::exists(loop.resume) ? "continuing from it" : "new; written as training goes");
  std::fflush(stdout);  // a SIGKILL (the reason for --resume) must not lose this line in stdout's buffer
}

/// The wall and CPU seconds of a run's epochs and evaluations, and each epoch's training rows per second (the
/// rows it applied: fewer than the training set with --max-batches-per-epoch or a stopped epoch), for medians.
struct RunTimes {
  std::vector<double> epochSeconds, epochCpuSeconds, evalSeconds, evalCpuSeconds, epochSamplesPerSecond;

  RunTimes(const TrainResult& r, const train::EarlyStopping& early) {
    for (const EpochResult& e : r.history) {
      epochSeconds.push_back(e.seconds);
      epochCpuSeconds.push_back(e.cpuSeconds);
      epochSamplesPerSecond.push_back(e.seconds > 0 ? static_cast<double>(e.samples) / e.seconds : 0.0);
    }
    for (const train::EvaluationTime& t : early.evaluationTimes()) addEvaluation(t.seconds, t.cpuSeconds);
  }
  void addEvaluation(double seconds, double cpuSeconds) {
    evalSeconds.push_back(seconds);
    evalCpuSeconds.push_back(cpuSeconds);
  }
};

/// The outcome entries every example's --report has: best_epoch, epochs_run, stop_reason, diverged, and the
/// metrics both under "metrics" and as flat keys (j["test.recall@20"]).
inline void addRunResult(nlohmann::json& j, const TrainResult& r, const train::EarlyStopping& early,
                         const metrics::MetricTable& table) {
  j["best_epoch"] = early.bestEpoch();
  j["epochs_run"] = r.epochs;
  j["stop_reason"] = r.stopReason;
  j["diverged"] = r.diverged;
  nlohmann::json metrics;
  for (const auto& [k, v] : table.entries()) metrics[k] = v;
  j["metrics"] = metrics;
  for (const auto& [k, v] : table.entries()) j[k] = v;
}

}  // namespace recdiff::examples

#endif  // RECDIFF_EXAMPLES_COMMON_TRAINING_HPP
