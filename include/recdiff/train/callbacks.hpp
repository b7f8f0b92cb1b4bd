#ifndef RECDIFF_TRAIN_CALLBACKS_HPP
#define RECDIFF_TRAIN_CALLBACKS_HPP

/// \file callbacks.hpp
/// The callbacks of train::fit() (trainer.hpp lists the hooks): early stopping on a validation metric, keeping
/// the best parameters, a per-epoch CSV log, a progress bar and a stop on a loss blow-up. Moved out of the three
/// examples, which each had their own copy (with two meanings of "patience"), and a line per epoch for runs
/// whose output goes to a file. Every epoch and every evaluation is timed, wall and process CPU.
///
/// Usage (DiffRec's protocol: evaluate every 5 epochs and at the last, stop 20 epochs after the best):
///   train::EarlyStopping early([&](Index e) { return model.evaluate(...); }, "valid.recall@20",
///                              {.patience = 20, .every = 5, .unit = train::PatienceUnit::kEpochs});
///   train::KeepBest keep(early, {&model.model().parameters()});
///   train::CsvLog log("log.csv", {"valid.recall@20", "test.recall@20"}, &early, {.cpuSeconds = true});
///   train::ProgressBar bar(stderr, false, 16, &early);
///   train::ProgressLog lines(bar.enabled() ? nullptr : stdout, &early);
///   const TrainResult r = model.fit(train, {.epochs = 1000, .seed = 1}, early, keep, log, bar, lines);

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <unistd.h>

#include "../error.hpp"
#include "../metrics/metric_table.hpp"
#include "../nn/parameters.hpp"
#include "../types.hpp"
#include "trainer.hpp"

namespace recdiff::train {

/// What EarlyStopping's patience counts. There is no default: the references disagree (DiffRec and DreamRec
/// count epochs, DiffuRec evaluations), so every caller says which one it means.
enum class PatienceUnit {
  /// Epochs since the best evaluation: training stops before epoch e when e − bestEpoch ≥ patience (the check
  /// DiffRec's and DreamRec's reference loops make at the top of every epoch), i.e. after epoch e when
  /// e + 1 − bestEpoch ≥ patience. Epochs before the first evaluation never count.
  kEpochs,
  /// Evaluations without improvement: training stops after the patience-th evaluation in a row that did not
  /// beat the best (DiffuRec's reference).
  kEvaluations,
};

/// Settings of EarlyStopping.
struct EarlyStoppingOptions {
  Index patience = 20;    ///< > 0, in `unit`
  Index every = 1;        ///< evaluate after every `every`-th epoch, and after the last epoch of the budget
  PatienceUnit unit;      ///< required (no default, see PatienceUnit)
  bool higherIsBetter = true;  ///< false: a smaller metric is better (a loss)
};

/// The wall and process CPU seconds of one evaluation (EarlyStopping::evaluationTimes()).
struct EvaluationTime {
  Index epoch = 0;
  double seconds = 0.0;
  double cpuSeconds = 0.0;
};

/// Evaluates a validation metric every `every` epochs, tracks the best, stops when patience runs out.
/// The evaluator returns a metrics::MetricTable; `metric` names the entry compared (e.g. "valid.recall@20").
/// onImprove(epoch, table), when given, runs at every new best (e.g. writing a checkpoint). Every evaluation
/// is timed (evaluationTimes()).
class EarlyStopping {
 public:
  using Evaluator = std::function<metrics::MetricTable(Index epoch)>;
  using OnImprove = std::function<void(Index epoch, const metrics::MetricTable&)>;

  EarlyStopping(Evaluator evaluate, std::string metric, EarlyStoppingOptions options, OnImprove onImprove = {})
      : evaluate_(std::move(evaluate)), metric_(std::move(metric)), options_(options), onImprove_(std::move(onImprove)) {
    RECDIFF_REQUIRE(static_cast<bool>(evaluate_), "EarlyStopping: no evaluator");
    RECDIFF_REQUIRE(options_.patience > 0, "EarlyStopping: patience must be positive, got ", options_.patience);
    RECDIFF_REQUIRE(options_.every > 0, "EarlyStopping: every must be positive, got ", options_.every);
  }

  void beginTraining(const FitOptions& o) {
    budget_ = o.epochs;
    best_.reset();
    bestEpoch_ = 0;
    lastEvaluated_ = 0;
    sinceBest_ = 0;
    reason_.clear();
    times_.clear();
  }

  /// Evaluates when due; true when training should stop after this epoch.
  bool endEpoch(Index epoch, const EpochResult& /*result*/) {
    if (epoch % options_.every == 0 || epoch == budget_) {
      const double cpuStart = cpuSeconds();
      const auto start = std::chrono::steady_clock::now();
      last_ = evaluate_(epoch);
      times_.push_back({epoch, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                        cpuSeconds() - cpuStart});
      lastEvaluated_ = epoch;
      const std::optional<double> v = last_.get(metric_);
      RECDIFF_REQUIRE(v.has_value(), "EarlyStopping: the evaluation has no metric '", metric_, "'");
      const bool better = !best_ || (options_.higherIsBetter ? *v > *best_ : *v < *best_);
      if (better) {
        best_ = *v;
        bestEpoch_ = epoch;
        bestTable_ = last_;
        sinceBest_ = 0;
        if (onImprove_) onImprove_(epoch, last_);
      } else {
        ++sinceBest_;
      }
    }
    if (bestEpoch_ == 0) return false;
    const bool stop = options_.unit == PatienceUnit::kEpochs ? epoch + 1 - bestEpoch_ >= options_.patience
                                                             : sinceBest_ >= options_.patience;
    if (stop)
      reason_ = "early stop: no better " + metric_ + " for " + std::to_string(options_.patience) +
                (options_.unit == PatienceUnit::kEpochs ? " epochs" : " evaluations") + " (best epoch " +
                std::to_string(bestEpoch_) + ")";
    return stop;
  }

  const std::string& stopReason() const noexcept { return reason_; }
  const std::string& metric() const noexcept { return metric_; }
  /// The best value so far (empty before the first evaluation) and its epoch (0 before).
  std::optional<double> best() const noexcept { return best_; }
  Index bestEpoch() const noexcept { return bestEpoch_; }
  const metrics::MetricTable& bestTable() const noexcept { return bestTable_; }
  /// The last evaluation and its epoch (0: none yet).
  const metrics::MetricTable& lastTable() const noexcept { return last_; }
  Index lastEvaluatedEpoch() const noexcept { return lastEvaluated_; }
  /// Whether `epoch` was evaluated, i.e. it is the last evaluated epoch (read in the endEpoch of that epoch).
  bool evaluated(Index epoch) const noexcept { return epoch > 0 && lastEvaluated_ == epoch; }
  /// The timing of every evaluation of this fit(), in order.
  const std::vector<EvaluationTime>& evaluationTimes() const noexcept { return times_; }
  const EarlyStoppingOptions& options() const noexcept { return options_; }

  /// Saves or loads what the early stop has seen (best value and epoch, patience used, the last and the best
  /// evaluation, the timings) through a state archive (io/state_archive.hpp; train/training_state.hpp).
  template <class Archive>
  void serializeState(Archive& ar) {
    ar("best", best_);
    ar("best_epoch", bestEpoch_);
    ar("last_evaluated", lastEvaluated_);
    ar("since_best", sinceBest_);
    ar("reason", reason_);
    table(ar, "last", last_);
    table(ar, "best_table", bestTable_);
    std::vector<Index> epochs;
    std::vector<double> seconds, cpu;
    for (const EvaluationTime& t : times_) epochs.push_back(t.epoch), seconds.push_back(t.seconds), cpu.push_back(t.cpuSeconds);
    ar("eval_epochs", epochs);
    ar("eval_seconds", seconds);
    ar("eval_cpu_seconds", cpu);
    if (ar.loading()) {
      RECDIFF_REQUIRE(seconds.size() == epochs.size() && cpu.size() == epochs.size(), "EarlyStopping: evaluation times disagree");
      times_.clear();
      for (std::size_t i = 0; i < epochs.size(); ++i) times_.push_back({epochs[i], seconds[i], cpu[i]});
    }
  }

 private:
  template <class Archive>
  static void table(Archive& ar, const std::string& prefix, metrics::MetricTable& t) {
    std::vector<std::string> names;
    std::vector<double> values;
    for (const auto& [k, v] : t.entries()) names.push_back(k), values.push_back(v);
    ar((prefix + ".names").c_str(), names);
    ar((prefix + ".values").c_str(), values);
    if (ar.loading()) {
      RECDIFF_REQUIRE(names.size() == values.size(), "EarlyStopping: a saved table has ", names.size(), " names and ",
                      values.size(), " values");
      t = {};
      for (std::size_t i = 0; i < names.size(); ++i) t.set(names[i], values[i]);
    }
  }

  Evaluator evaluate_;
  std::string metric_;
  EarlyStoppingOptions options_;
  OnImprove onImprove_;
  Index budget_ = 0;
  std::optional<double> best_;
  Index bestEpoch_ = 0, lastEvaluated_ = 0, sinceBest_ = 0;
  metrics::MetricTable last_, bestTable_;
  std::string reason_;
  std::vector<EvaluationTime> times_;
};

namespace detail {

/// "valid.recall@20 0.2552 (best 0.2601 @15)": the last evaluation beside the best (empty before the first).
inline std::string evaluationText(const EarlyStopping& e) {
  if (e.lastEvaluatedEpoch() == 0 || !e.best()) return {};
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s %.4f (best %.4f @%ld)", e.metric().c_str(),
                e.lastTable().get(e.metric()).value_or(NAN), *e.best(), static_cast<long>(e.bestEpoch()));
  return buf;
}

}  // namespace detail

/// Keeps a copy of the parameters at EarlyStopping's best epoch and writes it back when training ends (also
/// after divergence or an early stop). Place it after its EarlyStopping in the callback pack.
template <class Scalar>
class KeepBest {
 public:
  KeepBest(const EarlyStopping& early, std::vector<nn::ParameterBuffer<Scalar>*> buffers)
      : early_(&early), buffers_(std::move(buffers)), saved_(buffers_.size()) {
    for (const auto* b : buffers_) RECDIFF_REQUIRE(b != nullptr, "KeepBest: null parameter buffer");
  }

  void endEpoch(Index epoch, const EpochResult& /*result*/) {
    if (early_->bestEpoch() != epoch || savedEpoch_ == epoch) return;
    for (std::size_t i = 0; i < buffers_.size(); ++i) saved_[i] = buffers_[i]->values();
    savedEpoch_ = epoch;
  }

  void endTraining(const TrainResult& /*result*/) {
    if (savedEpoch_ == 0) return;
    for (std::size_t i = 0; i < buffers_.size(); ++i) buffers_[i]->values() = saved_[i];
    restored_ = true;
  }

  /// The epoch whose parameters are kept (0: none) and whether endTraining() wrote them back.
  Index savedEpoch() const noexcept { return savedEpoch_; }
  bool restored() const noexcept { return restored_; }

  /// Saves or loads the kept parameters and their epoch (io/state_archive.hpp).
  template <class Archive>
  void serializeState(Archive& ar) {
    ar("saved_epoch", savedEpoch_);
    ar("saved", saved_);
    RECDIFF_REQUIRE(saved_.size() == buffers_.size(), "KeepBest: the state keeps ", saved_.size(), " buffers, this run ",
                    buffers_.size());
  }

 private:
  const EarlyStopping* early_;
  std::vector<nn::ParameterBuffer<Scalar>*> buffers_;
  std::vector<typename nn::ParameterBuffer<Scalar>::Vector> saved_;
  Index savedEpoch_ = 0;
  bool restored_ = false;
};

/// The optional columns of CsvLog.
struct CsvLogOptions {
  bool cpuSeconds = false;         ///< cpu_seconds (EpochResult::cpuSeconds) right after seconds
  bool evaluationSeconds = false;  ///< eval_seconds, eval_cpu_seconds after the metrics (needs the EarlyStopping)
};

/// One CSV row per epoch: epoch, mean_loss, sum_loss, last_loss, batches, samples, seconds, then `metrics`
/// from `evaluations`' last table when it evaluated this epoch (empty cells otherwise), plus the columns that
/// `options` asks for. The header is written on construction and every row is flushed, so a killed run leaves
/// whole rows. Missing parent folders are created; an empty `file` writes nothing (a CLI's unset --log). Place
/// it after the EarlyStopping it reads.
class CsvLog {
 public:
  explicit CsvLog(const std::filesystem::path& file, std::vector<std::string> metrics = {},
                  const EarlyStopping* evaluations = nullptr, CsvLogOptions options = {})
      : metrics_(std::move(metrics)), evaluations_(evaluations), options_(options) {
    RECDIFF_REQUIRE(!options_.evaluationSeconds || evaluations_ != nullptr,
                    "CsvLog: evaluation seconds need the EarlyStopping that evaluates");
    if (file.empty()) return;
    std::error_code ec;
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    file_ = file;
    out_.open(file);
    RECDIFF_REQUIRE(static_cast<bool>(out_), "CsvLog: cannot write ", file.string());
    std::ostringstream row;
    row << "epoch,mean_loss,sum_loss,last_loss,batches,samples,seconds";
    if (options_.cpuSeconds) row << ",cpu_seconds";
    for (const auto& m : metrics_) row << ',' << m;
    if (options_.evaluationSeconds) row << ",eval_seconds,eval_cpu_seconds";
    row << '\n';
    write(row.str());
  }

  /// Whether rows are written (false for an empty file name).
  bool enabled() const noexcept { return out_.is_open(); }

  void endEpoch(Index epoch, const EpochResult& r) {
    if (!enabled()) return;
    std::ostringstream row;
    row << epoch << ',' << r.meanLoss << ',' << r.sumLoss << ',' << r.lastLoss << ',' << r.batches << ','
         << r.samples << ',' << r.seconds;
    if (options_.cpuSeconds) row << ',' << r.cpuSeconds;
    const bool evaluated = evaluations_ != nullptr && evaluations_->evaluated(epoch);
    for (const auto& m : metrics_) {
      row << ',';
      if (evaluated)
        if (const auto v = evaluations_->lastTable().get(m)) row << *v;
    }
    if (options_.evaluationSeconds && evaluated) {
      const EvaluationTime& t = evaluations_->evaluationTimes().back();
      row << ',' << t.seconds << ',' << t.cpuSeconds;
    } else if (options_.evaluationSeconds) {
      row << ",,";
    }
    row << '\n';
    write(row.str());
    RECDIFF_REQUIRE(static_cast<bool>(out_), "CsvLog: writing epoch ", epoch, " failed");
  }

  /// Saves or loads the text written so far (io/state_archive.hpp); loading rewrites the file with it, so a
  /// resumed run's log holds the rows of the interrupted one and continues after them.
  template <class Archive>
  void serializeState(Archive& ar) {
    ar("text", text_);
    if (!ar.loading() || !enabled()) return;
    out_.close();
    out_.open(file_, std::ios::trunc);
    out_ << text_ << std::flush;
    RECDIFF_REQUIRE(static_cast<bool>(out_), "CsvLog: cannot rewrite ", file_.string());
  }

 private:
  void write(const std::string& text) {
    text_ += text;
    out_ << text << std::flush;
  }

  std::vector<std::string> metrics_;
  const EarlyStopping* evaluations_;
  CsvLogOptions options_;
  std::filesystem::path file_;
  std::ofstream out_;
  std::string text_;  ///< everything written (header and rows), for training-state checkpoints
};

/// A one-line progress bar: the batches of the current epoch (redrawn every `every` batches) and, after each
/// epoch, its loss and seconds (and the last evaluation, given an EarlyStopping). Writes to `out` (stderr by
/// default) only when it is a terminal, unless `force`.
class ProgressBar {
 public:
  explicit ProgressBar(std::FILE* out = stderr, bool force = false, Index every = 16,
                       const EarlyStopping* evaluations = nullptr)
      : out_(out), enabled_(out != nullptr && (force || isatty(fileno(out)) != 0)), every_(every > 0 ? every : 1),
        evaluations_(evaluations) {}

  bool enabled() const noexcept { return enabled_; }
  void beginTraining(const FitOptions& o) { epochs_ = o.epochs; }

  void endBatch(Index epoch, Index batch, Index batches, double loss) {
    if (!enabled_ || (batch % every_ != 0 && batch != batches)) return;
    draw(batches > 0 ? batch * kWidth / batches : kWidth);
    std::fprintf(out_, " epoch %ld/%ld batch %ld/%ld loss %.4f   ", static_cast<long>(epoch),
                 static_cast<long>(epochs_), static_cast<long>(batch), static_cast<long>(batches), loss);
    std::fflush(out_);
  }

  void endEpoch(Index epoch, const EpochResult& r) {
    if (!enabled_) return;
    draw(epochs_ > 0 ? epoch * kWidth / epochs_ : kWidth);
    std::fprintf(out_, " epoch %ld/%ld loss %.4f %.2fs/epoch", static_cast<long>(epoch), static_cast<long>(epochs_),
                 r.meanLoss, r.seconds);
    if (evaluations_ != nullptr) std::fprintf(out_, " %s", detail::evaluationText(*evaluations_).c_str());
    std::fprintf(out_, "   ");
    std::fflush(out_);
  }

  void endTraining(const TrainResult& /*result*/) {
    if (enabled_) std::fprintf(out_, "\n");
  }

 private:
  static constexpr Index kWidth = 30;
  void draw(Index done) const {
    std::fprintf(out_, "\r[%s%s]", std::string(static_cast<std::size_t>(done), '#').c_str(),
                 std::string(static_cast<std::size_t>(kWidth - done), '.').c_str());
  }

  std::FILE* out_;
  bool enabled_;
  Index every_;
  const EarlyStopping* evaluations_;
  Index epochs_ = 0;
};

/// One line per epoch to `out` (stdout by default; nullptr writes nothing), for runs whose progress bar is off
/// or whose output goes to a file:
///   epoch 3/5: loss 7.1234, 64000 samples in 12.3 s (24.1 s CPU), 5203 samples/s; valid.ndcg@10 0.0512 (best
///   0.0530 @2), evaluated in 4.2 s
/// With `evaluatedOnly`, only the epochs that `evaluations` evaluated. Place it after the EarlyStopping it reads.
class ProgressLog {
 public:
  explicit ProgressLog(std::FILE* out = stdout, const EarlyStopping* evaluations = nullptr, bool evaluatedOnly = false)
      : out_(out), evaluations_(evaluations), evaluatedOnly_(evaluatedOnly) {
    RECDIFF_REQUIRE(!evaluatedOnly_ || evaluations_ != nullptr, "ProgressLog: evaluatedOnly needs an EarlyStopping");
  }

  bool enabled() const noexcept { return out_ != nullptr; }
  void beginTraining(const FitOptions& o) { epochs_ = o.epochs; }

  void endEpoch(Index epoch, const EpochResult& r) {
    const bool evaluated = evaluations_ != nullptr && evaluations_->evaluated(epoch);
    if (out_ == nullptr || (evaluatedOnly_ && !evaluated)) return;
    std::fprintf(out_, "epoch %ld/%ld: loss %.4f, %ld samples in %.1f s (%.1f s CPU), %.0f samples/s",
                 static_cast<long>(epoch), static_cast<long>(epochs_), r.meanLoss, static_cast<long>(r.samples),
                 r.seconds, r.cpuSeconds, r.seconds > 0 ? static_cast<double>(r.samples) / r.seconds : 0.0);
    if (evaluated)
      std::fprintf(out_, "; %s, evaluated in %.1f s", detail::evaluationText(*evaluations_).c_str(),
                   evaluations_->evaluationTimes().back().seconds);
    std::fprintf(out_, "\n");
    std::fflush(out_);
  }

 private:
  std::FILE* out_;
  const EarlyStopping* evaluations_;
  bool evaluatedOnly_;
  Index epochs_ = 0;
};

/// Stops training when a batch's (finite) loss exceeds `maxLoss`: the loss blew up although the numbers are
/// still finite. Non-finite batches stop fit() by themselves (TrainResult::diverged). The reason names the
/// epoch and the batch.
class DivergenceStop {
 public:
  explicit DivergenceStop(double maxLoss) : maxLoss_(maxLoss) {
    RECDIFF_REQUIRE(!std::isnan(maxLoss_), "DivergenceStop: maxLoss is NaN");
  }

  bool endBatch(Index epoch, Index batch, Index /*batches*/, double loss) {
    if (loss <= maxLoss_) return false;
    reason_ = "diverged: loss " + std::to_string(loss) + " above " + std::to_string(maxLoss_) + " in epoch " +
              std::to_string(epoch) + ", batch " + std::to_string(batch);
    return true;
  }

  const std::string& stopReason() const noexcept { return reason_; }

 private:
  double maxLoss_;
  std::string reason_;
};

}  // namespace recdiff::train

#endif  // RECDIFF_TRAIN_CALLBACKS_HPP
