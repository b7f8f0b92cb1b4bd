#ifndef RECDIFF_TRAIN_TRAINING_STATE_HPP
#define RECDIFF_TRAIN_TRAINING_STATE_HPP

/// \file training_state.hpp
/// Resumable training: TrainingCheckpoint, a callback of train::fit() (trainer.hpp) that writes everything a
/// run needs to continue — bit for bit — to one training-state file (io/state_archive.hpp: versioned,
/// checksummed, written atomically), and continues a run from it. One mechanism for every model: the state is
/// a set of named parts, each one object's serializeState(archive) (the same function saves and loads):
///   "loop"            this file: the position (epoch, batches applied in it), the step generator of the epoch
///                     (an Rng is (key, stream, block position)), the partial EpochResult, the epochs run before
///                     (TrainResult::history), the batch count, and when training ended its result
///   "model"           the model's serializeState: parameters, optimizer moments and step counts, learning-rate
///                     schedule position, timestep-sampler history, dropout streams (models/*.hpp)
///   "early_stopping", "keep_best", "csv_log"   the callbacks' (train/callbacks.hpp): best metric, its epoch,
///                     patience used, evaluations and their times; the kept parameters; the CSV text so far.
/// The file also records the model type, a fingerprint of the data and the hyperparameters; a state that
/// disagrees on any of them is refused with the differences (io::requireCompatible).
///
/// How a resumed run continues: fit() runs epoch e as always (Rng(seed, stream).fork(e), the model's shuffle
/// from it), and at the start of the epoch's batch loop the Trainer asks resumeEpoch(): the model part is
/// loaded, the step generator and the partial result are replaced by the saved ones, and the loop starts after
/// the batches already applied. A state written when training ended makes fit() run no epoch: it returns the
/// saved TrainResult, and the callbacks (KeepBest) finish as they did.
///
/// Writing: every `every.batches` applied batches (counted over the run) after the batch's update, or every
/// `every.epochs` epochs (written when the next epoch begins, i.e. after the early stop has decided to go on),
/// and when training ends — unless it diverged (a non-finite batch, or DivergenceStop): then the last state
/// written before the bad batch stays on disk, and a rerun continues from it. With handleSignals, SIGINT / SIGTERM finish the current batch, write the state and
/// throw TrainingInterrupted (examples exit with kInterruptedExitCode); a second signal exits at once
/// (_exit(128 + signal)). Place the TrainingCheckpoint LAST in the callback pack.
///
/// Usage:
///   train::TrainingCheckpoint state;
///   state.enable("run.state", {.modelType = "DiffRec", .fingerprint = fp, .hyperparameters = h},
///                train::CheckpointEvery::parse("5"), /*handleSignals=*/true);
///   state.add("model", model);  state.add("early_stopping", early);  state.add("keep_best", keep);
///   model.fit(train, options, early, keep, log, state);   // continues from run.state when it exists

#include <atomic>
#include <csignal>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "../error.hpp"
#include "../io/state_archive.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "trainer.hpp"

namespace recdiff {

/// EpochResult's fields in a state archive (found by io::StateArchive through ADL).
template <class Archive>
void serializeState(Archive& ar, EpochResult& r) {
  ar("mean_loss", r.meanLoss);
  ar("sum_loss", r.sumLoss);
  ar("last_loss", r.lastLoss);
  ar("batches", r.batches);
  ar("samples", r.samples);
  ar("seconds", r.seconds);
  ar("cpu_seconds", r.cpuSeconds);
  ar("finite", r.finite);
  ar("diverged_batch", r.divergedBatch);
  ar("stopped", r.stopped);
}

namespace train {

/// The exit code of an example interrupted by SIGINT / SIGTERM after it wrote its training state (EX_TEMPFAIL:
/// "try again"; running the same command again continues the run).
inline constexpr int kInterruptedExitCode = 75;

/// Thrown by TrainingCheckpoint after a signal, once the state is written; what() says where it stopped.
struct TrainingInterrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// How often TrainingCheckpoint writes: every `batches` applied batches or every `epochs` epochs.
struct CheckpointEvery {
  Index batches = 0, epochs = 0;
  /// "N" (batches) or "Ne" (epochs), N > 0; throws std::invalid_argument otherwise.
  static CheckpointEvery parse(const std::string& text) {
    const bool epochs = !text.empty() && text.back() == 'e';
    const std::string digits = epochs ? text.substr(0, text.size() - 1) : text;
    const bool ok = !digits.empty() && digits.size() < 12 && digits.find_first_not_of("0123456789") == std::string::npos;
    const Index n = ok ? static_cast<Index>(std::stoll(digits)) : 0;
    if (n <= 0)
      throw std::invalid_argument("checkpoint interval '" + text + "': expected N (batches) or Ne (epochs), N > 0");
    return epochs ? CheckpointEvery{0, n} : CheckpointEvery{n, 0};
  }
};

/// SIGINT / SIGTERM as a request to stop after the current batch; a second signal exits at once.
class StopSignals {
 public:
  static void install() {
    struct sigaction sa {};
    sa.sa_handler = &handle;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
  }
  /// The signal received (0: none).
  static int received() noexcept { return signal_.load(); }

 private:
  static void handle(int sig) {
    if (signal_.exchange(sig) != 0) _exit(128 + sig);
  }
  static inline std::atomic<int> signal_{0};
};

/// The callback of resumable training; see the file comment. Default-constructed it is disabled (every hook
/// returns at once), so a run without a state file behaves exactly as without it.
class TrainingCheckpoint {
 public:
  using Part = std::function<void(io::StateArchive&)>;

  /// Continues from `file` when it exists (after checking it against `header`) and writes it `every` so often.
  void enable(std::filesystem::path file, io::StateFile header, CheckpointEvery every, bool handleSignals = false) {
    RECDIFF_REQUIRE(!file.empty(), "TrainingCheckpoint: no state file");
    RECDIFF_REQUIRE(every.batches >= 0 && every.epochs >= 0, "TrainingCheckpoint: negative interval");
    file_ = std::move(file);
    header_ = std::move(header);
    header_.sections.clear();
    every_ = every;
    signals_ = handleSignals;
    if (signals_) StopSignals::install();
  }

  /// Adds a part of the state: "model" is loaded when the resumed epoch starts, every other part when training
  /// starts (after the other callbacks' beginTraining). The object must outlive training.
  void add(std::string name, Part part) {
    RECDIFF_REQUIRE(name != "loop", "TrainingCheckpoint: 'loop' is reserved");
    parts_.emplace_back(std::move(name), std::move(part));
  }
  template <class T>
    requires requires(T& t, io::StateArchive& ar) { t.serializeState(ar); }
  void add(std::string name, T& object) {
    add(std::move(name), Part([&object](io::StateArchive& ar) { object.serializeState(ar); }));
  }

  bool enabled() const noexcept { return !file_.empty(); }
  const std::filesystem::path& file() const noexcept { return file_; }
  /// Whether this run continued from a state file, and from where ("epoch 3, batch 5 of …").
  bool resumed() const noexcept { return resumed_; }
  const std::string& resumedFrom() const noexcept { return resumedFrom_; }
  /// States written by this run.
  Index writes() const noexcept { return writes_; }
  /// Training diverged and the last state written before it was left on disk (none when there was none yet).
  bool keptLastGoodState() const noexcept { return keptLastGood_; }
  /// Whether `r` ended in divergence: TrainResult::diverged, or a stop reason of DivergenceStop ("diverged: ...").
  static bool divergedRun(const TrainResult& r) { return r.diverged || r.stopReason.rfind("diverged:", 0) == 0; }

  // --- train::fit() hooks -------------------------------------------------------------------------------
  void beginTraining(const FitOptions& options) {
    budget_ = options.epochs;
    if (!enabled() || !std::filesystem::exists(file_)) return;
    loaded_ = io::readStateFile(file_);
    io::requireCompatible(*loaded_, header_, file_.string());
    for (const auto& [name, part] : parts_)
      if (loaded_->sections.count(name) == 0) fail(name, "missing (the state was written without it)");
    if (loaded_->sections.count("loop") == 0) fail("loop", "missing");
  }

  Index resumeTraining(TrainResult& result) {
    if (!loaded_) return 1;
    io::StateArchive loop(loaded_->sections.at("loop"), file_.string(), "loop");
    serializeLoop(loop);
    loop.finish();
    for (const auto& [name, part] : parts_)
      if (name != "model") loadPart(name, part);
    result.history = history_;
    result.epochs = static_cast<Index>(history_.size());
    resumed_ = true;
    resumedFrom_ = finished_ ? recdiff::detail::concat("the end of training (", result.epochs, " epochs)")
                             : recdiff::detail::concat("epoch ", epoch_, ", batch ", batch_);
    if (!finished_) return epoch_;
    for (const auto& [name, part] : parts_)
      if (name == "model") loadPart(name, part);
    result.diverged = diverged_;
    result.stoppedEarly = stoppedEarly_;
    result.stopReason = stopReason_;
    loaded_.reset();
    return budget_ + 1;  // nothing left to run
  }

  Index resumeEpoch(Index epoch, Rng& rng, EpochResult& partial) {
    if (!loaded_ || epoch != epoch_) return 0;
    for (const auto& [name, part] : parts_)
      if (name == "model") loadPart(name, part);
    if (hasRng_) rng = rng_;
    partial = partial_;
    loaded_.reset();
    return batch_;
  }

  void beginEpoch(Index epoch) {
    if (!pendingEpochWrite_) return;
    pendingEpochWrite_ = false;
    write(epoch, 0, EpochResult{}, nullptr, false);
  }

  bool endBatchState(Index epoch, const EpochResult& partial, const Rng& rng) {
    if (!enabled()) return false;
    ++totalBatches_;
    const int sig = signals_ ? StopSignals::received() : 0;
    if (sig != 0 || (every_.batches > 0 && totalBatches_ % every_.batches == 0))
      write(epoch, partial.batches, partial, &rng, false);
    if (sig != 0)
      throw TrainingInterrupted(recdiff::detail::concat("interrupted by signal ", sig, " after epoch ", epoch, ", batch ",
                                                        partial.batches, ": training state written to ", file_.string(),
                                                        "; run the same command again to continue"));
    return false;
  }

  void endEpoch(Index epoch, const EpochResult& r) {
    if (!enabled()) return;
    history_.push_back(r);
    if (every_.epochs > 0 && epoch % every_.epochs == 0) pendingEpochWrite_ = true;
  }

  void endTraining(const TrainResult& r) {
    if (!enabled()) return;
    pendingEpochWrite_ = false;
    // A run that diverged (a non-finite batch, or DivergenceStop's blown-up loss) keeps the last good state on
    // disk, written before the bad batch, instead of a finished one: a rerun continues from there.
    if (divergedRun(r)) {
      keptLastGood_ = writes_ > 0 || std::filesystem::exists(file_);
      return;
    }
    history_ = r.history;
    diverged_ = r.diverged;
    stoppedEarly_ = r.stoppedEarly;
    stopReason_ = r.stopReason;
    write(r.epochs + 1, 0, EpochResult{}, nullptr, true);
  }

 private:
  template <class Archive>
  void serializeLoop(Archive& ar) {
    ar("epoch", epoch_);
    ar("batch", batch_);
    ar("finished", finished_);
    ar("total_batches", totalBatches_);
    ar("has_rng", hasRng_);
    ar("rng", rng_);
    ar("partial", partial_);
    ar("history", history_);
    ar("diverged", diverged_);
    ar("stopped_early", stoppedEarly_);
    ar("stop_reason", stopReason_);
    if (ar.loading() && (epoch_ < 1 || batch_ < 0 || (!finished_ && epoch_ > budget_)))
      ar.fail(recdiff::detail::concat("position epoch ", epoch_, ", batch ", batch_, " is outside the run"));
  }

  void write(Index epoch, Index batch, const EpochResult& partial, const Rng* rng, bool finished) {
    epoch_ = epoch;
    batch_ = batch;
    finished_ = finished;
    hasRng_ = rng != nullptr;
    rng_ = rng != nullptr ? *rng : Rng();
    partial_ = partial;
    io::StateFile f = header_;
    io::StateArchive loop{io::StateArchive::Save{}};
    serializeLoop(loop);
    f.sections["loop"] = loop.bytes();
    for (const auto& [name, part] : parts_) {
      io::StateArchive ar{io::StateArchive::Save{}};
      part(ar);
      f.sections[name] = ar.bytes();
    }
    io::writeStateFile(file_, f);
    ++writes_;
  }

  void loadPart(const std::string& name, const Part& part) {
    io::StateArchive ar(loaded_->sections.at(name), file_.string(), name);
    part(ar);
    ar.finish();
  }

  [[noreturn]] void fail(const std::string& section, const std::string& what) const {
    throw DataError(file_.string(), 0, recdiff::detail::concat("training state section '", section, "': ", what));
  }

  std::filesystem::path file_;
  io::StateFile header_;
  CheckpointEvery every_;
  bool signals_ = false;
  std::vector<std::pair<std::string, Part>> parts_;
  std::optional<io::StateFile> loaded_;
  Index budget_ = 0;
  // the "loop" part
  Index epoch_ = 1, batch_ = 0, totalBatches_ = 0;
  bool finished_ = false, hasRng_ = false;
  Rng rng_;
  EpochResult partial_;
  std::vector<EpochResult> history_;
  bool diverged_ = false, stoppedEarly_ = false;
  std::string stopReason_;
  // this run
  bool pendingEpochWrite_ = false, resumed_ = false, keptLastGood_ = false;
  std::string resumedFrom_;
  Index writes_ = 0;
};

}  // namespace train
}  // namespace recdiff

#endif  // RECDIFF_TRAIN_TRAINING_STATE_HPP
