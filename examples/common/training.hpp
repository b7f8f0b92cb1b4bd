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

#include <recdiff/train/callbacks.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace recdiff::examples {

/// --epochs, --max-batches-per-epoch, --eval-every, --patience, --log, --no-progress. The preset sets the
/// defaults (the public fields) after parsing; applyOverrides() then applies what the command line gave.
struct LoopFlags {
  Index epochs = 0, maxBatches = 0, evalEvery = 1, patience = 1;
  std::string log;
  bool progress = true;

  void add(CLI::App& app, const std::string& patienceHelp) {
    app.add_option("--epochs", epochs_, "upper epoch limit (default: the preset's)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--max-batches-per-epoch", maxBatches, "stop each epoch after this many batches (0: no limit)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--eval-every", evalEvery_, "validate every N epochs (and after the last)")->check(CLI::PositiveNumber);
    app.add_option("--patience", patience_, patienceHelp)->check(CLI::PositiveNumber);
    app.add_option("--log", log, "per-epoch CSV log (train::CsvLog: losses, seconds, validation metrics)");
    app.add_flag("--no-progress", noProgress_, "no progress bar");
  }

  void applyOverrides() {
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

/// The wall and CPU seconds of a run's epochs and evaluations (for medians).
struct RunTimes {
  std::vector<double> epochSeconds, epochCpuSeconds, evalSeconds, evalCpuSeconds;

  RunTimes(const TrainResult& r, const train::EarlyStopping& early) {
    for (const EpochResult& e : r.history) {
      epochSeconds.push_back(e.seconds);
      epochCpuSeconds.push_back(e.cpuSeconds);
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
