#ifndef RECDIFF_TRAIN_TRAINER_HPP
#define RECDIFF_TRAIN_TRAINER_HPP

/// \file trainer.hpp
/// The one training loop of the library: `Trainer<Objective, Optimizer>` runs epochs of batches through an
/// objective and an optimizer, with ensmallen-style callbacks (Curtin et al., "Flexible numerical optimization
/// with ensmallen", 2021): a variadic pack of objects whose hooks are all optional and detected at compile time.
///
/// An Objective (see concepts below) owns the model's forward/backward for one batch:
///   using Batch = …;                                  // what one step reads (rows, histories + targets, …)
///   double lossAndGradient(const Batch&, Rng&);       // zeroes the gradient, fills it, returns the batch loss
///   P& parameters();                                  // what the optimizer steps; P has gradsFinite()
///   void afterStep(const Batch&);                     // optional: after an applied update (timestep sampler)
///   void endEpoch();                                  // optional: after every epoch (annealing counters)
/// One step: loss = lossAndGradient(batch, rng); a non-finite loss or gradient is a status (STYLE.md 4.4): the
/// update is not applied and the epoch stops there (EpochResult::finite = false, divergedBatch names it);
/// otherwise optimizer.step(parameters()), objective.afterStep(batch), the callbacks' endBatch. After the
/// epoch: objective.endEpoch(), optimizer.endEpoch() (when they exist), the callbacks' endEpoch.
///
/// Callback hooks (each optional; a bool result true asks to stop, void never stops):
///   beginTraining(const FitOptions&)                  before the first epoch of fit()
///   beginEpoch(Index epoch)                           epochs count from 1
///   endBatch(Index epoch, Index batch, Index batches, double loss)   batch counts from 1; after the update
///   endEpoch(Index epoch, const EpochResult&)         after a finite epoch (every callback is called)
///   endTraining(const TrainResult&)                   always, also after divergence or an early stop
///   stopReason() -> std::string                       read when the callback asked to stop
///   resumeTraining, resumeEpoch, endBatchState        resumable training (train/training_state.hpp)
/// Callbacks run in pack order, so a callback that reads another (KeepBest reads EarlyStopping) comes after it.
///
/// Usage:
///   recdiff::train::Trainer trainer(objective, optimizer);
///   const EpochResult r = trainer.epoch(batches, rng, 1);                    // one epoch, no callbacks
///   const TrainResult t = recdiff::train::fit({.epochs = 50}, [&](Index e, Rng& r, auto&... cb) {
///     return trainer.epoch(batches, r, e, cb...); }, early, keepBest, csv);

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <ctime>
#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../nn/parameters.hpp"
#include "../random.hpp"
#include "../types.hpp"

namespace recdiff {

/// What one training epoch did (every model's trainEpoch() returns it).
struct EpochResult {
  double meanLoss = 0.0;  ///< mean of the applied batches' losses
  double sumLoss = 0.0;   ///< their sum (what DiffRec's reference prints as "train loss")
  double lastLoss = 0.0;  ///< the last applied batch's loss (what DreamRec's and DiffuRec's references print)
  Index batches = 0;      ///< batches applied
  Index samples = 0;      ///< rows of the applied batches
  double seconds = 0.0;   ///< wall clock of the epoch (set by fit())
  double cpuSeconds = 0.0;  ///< CPU time of the whole process (all threads) during the epoch (set by fit())
  bool finite = true;     ///< false: a batch gave a non-finite loss or gradient; it was not applied, the epoch stopped
  Index divergedBatch = 0;  ///< 1-based index of that batch (0 when finite)
  bool stopped = false;   ///< a callback's endBatch asked to stop (the epoch ended after that batch)
};

/// How fit() runs.
struct FitOptions {
  Index epochs = 1;           ///< epochs at most (callbacks may stop earlier)
  Index maxBatchesPerEpoch = 0;  ///< > 0: at most this many batches per epoch (smoke runs, benchmarks)
  std::uint64_t seed = 1;     ///< epoch e trains with Rng(seed, stream).fork(e)
  std::uint64_t stream = 0x7EA1;  ///< the generator stream (0x7EA1: what diffrec_movielens has always used)
};

/// What fit() did.
struct [[nodiscard]] TrainResult {
  Index epochs = 0;           ///< epochs run (the last one may be the divergent or stopped one)
  bool diverged = false;      ///< an epoch stopped at a non-finite batch (see EpochResult::divergedBatch)
  bool stoppedEarly = false;  ///< a callback asked to stop
  std::string stopReason = "epoch budget reached";
  std::vector<EpochResult> history;  ///< one entry per epoch run
  const EpochResult& last() const {
    RECDIFF_REQUIRE(!history.empty(), "TrainResult::last(): no epoch was run");
    return history.back();
  }
};

namespace train {

/// CPU seconds this process has used so far, all threads together (std::clock: on Linux, what
/// CLOCK_PROCESS_CPUTIME_ID counts, in microseconds). Beside a wall time it shows whether a timing was taken on
/// a busy machine: on an idle one, wall ≈ CPU / threads for the parallel parts.
inline double cpuSeconds() { return static_cast<double>(std::clock()) / static_cast<double>(CLOCKS_PER_SEC); }

/// C++20 spelling of the Objective contract (see the file comment). The optional hooks are detected separately.
template <class O>
concept Objective = requires(O& o, const typename O::Batch& b, Rng& rng) {
  typename O::Batch;
  { o.lossAndGradient(b, rng) } -> std::convertible_to<double>;
  { o.parameters().gradsFinite() } -> std::convertible_to<bool>;
};

namespace detail {

/// Calls a hook that may return void or bool; true when it asked to stop.
template <class F>
bool stopRequested(F&& call) {
  if constexpr (std::is_void_v<decltype(call())>) {
    call();
    return false;
  } else {
    return static_cast<bool>(call());
  }
}

template <class C>
bool endBatch(C& c, Index epoch, Index batch, Index batches, double loss) {
  if constexpr (requires { c.endBatch(epoch, batch, batches, loss); })
    return stopRequested([&] { return c.endBatch(epoch, batch, batches, loss); });
  else
    return false;
}

template <class C>
bool endEpoch(C& c, Index epoch, const EpochResult& r) {
  if constexpr (requires { c.endEpoch(epoch, r); })
    return stopRequested([&] { return c.endEpoch(epoch, r); });
  else
    return false;
}

template <class C>
void beginEpoch(C& c, Index epoch) {
  if constexpr (requires { c.beginEpoch(epoch); }) c.beginEpoch(epoch);
}

template <class C>
void beginTraining(C& c, const FitOptions& o) {
  if constexpr (requires { c.beginTraining(o); }) c.beginTraining(o);
}

template <class C>
void endTraining(C& c, const TrainResult& r) {
  if constexpr (requires { c.endTraining(r); }) c.endTraining(r);
}

/// Resumable training (train/training_state.hpp): resumeTraining(TrainResult&) -> the first epoch to run (it
/// restores the epochs run before); resumeEpoch(epoch, rng, partial) -> the batches of `epoch` already applied
/// (it restores the step rng and the partial EpochResult); endBatchState(epoch, partial, rng) -> stop, after
/// each batch's endBatch hooks (writes the state).
template <class C>
void resumeTraining(C& c, TrainResult& r, Index& first) {
  if constexpr (requires { c.resumeTraining(r); }) first = std::max(first, c.resumeTraining(r));
}
template <class C>
void resumeEpoch(C& c, Index epoch, Rng& rng, EpochResult& partial, Index& first) {
  if constexpr (requires { c.resumeEpoch(epoch, rng, partial); }) first = std::max(first, c.resumeEpoch(epoch, rng, partial));
}
template <class C>
bool endBatchState(C& c, Index epoch, const EpochResult& partial, const Rng& rng) {
  if constexpr (requires { c.endBatchState(epoch, partial, rng); }) return c.endBatchState(epoch, partial, rng);
  else return false;
}

/// The reason a callback gives for its stop request, or a generic one.
template <class C>
std::string reasonOf(const C& c) {
  if constexpr (requires { { c.stopReason() } -> std::convertible_to<std::string>; })
    return c.stopReason();
  else
    return "stopped by a callback";
}

/// Rows of a batch: a matrix's rows, or a history batch's targets.
template <class B>
Index rowsOf(const B& b) {
  if constexpr (requires { b.rows(); })
    return static_cast<Index>(b.rows());
  else if constexpr (requires { b.targets.size(); })
    return static_cast<Index>(b.targets.size());
  else
    return 1;
}

}  // namespace detail

/// The rows [begin, end) of a batch of `rows` rows that process `rank` of `ranks` computes in data-parallel
/// training: contiguous, in rank order, the first rows % ranks processes one row more (uneven shards).
struct RowShard {
  Index begin = 0;
  Index end = 0;
  Index rows() const noexcept { return end - begin; }
};
inline RowShard rowShard(Index rows, Index rank, Index ranks) {
  RECDIFF_REQUIRE(ranks > 0 && rank >= 0 && rank < ranks, "train::rowShard(): rank ", rank, " of ", ranks);
  RECDIFF_REQUIRE(rows >= ranks, "data-parallel training: a batch of ", rows, " rows cannot be split over ", ranks,
                  " processes (every process needs at least one row; use a larger batch or fewer processes)");
  const Index base = rows / ranks, extra = rows % ranks;
  const Index begin = rank * base + std::min(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

/// Several parameter buffers that one objective trains (L-DiffRec: the autoencoder's and the denoiser's), each
/// with its own optimizer (OptimizerGroup). gradsFinite() is true when every buffer's gradient is finite.
template <class Scalar, std::size_t N>
struct ParameterGroup {
  std::array<nn::ParameterBuffer<Scalar>*, N> buffers;
  bool gradsFinite() const {
    for (const auto* b : buffers)
      if (!b->gradsFinite()) return false;
    return true;
  }
};

/// One optimizer per buffer of a ParameterGroup, stepped in buffer order; endEpoch() reaches each that has one.
template <class... Optimizers>
class OptimizerGroup {
 public:
  explicit OptimizerGroup(Optimizers&... optimizers) : optimizers_(optimizers...) {}

  template <class Scalar>
  void step(ParameterGroup<Scalar, sizeof...(Optimizers)> group) {
    stepEach(group, std::index_sequence_for<Optimizers...>{});
  }
  void endEpoch() {
    std::apply([](auto&... o) { (endOne(o), ...); }, optimizers_);
  }

 private:
  template <class Scalar, std::size_t... I>
  void stepEach(ParameterGroup<Scalar, sizeof...(Optimizers)>& group, std::index_sequence<I...>) {
    (std::get<I>(optimizers_).step(*group.buffers[I]), ...);
  }
  template <class O>
  static void endOne(O& o) {
    if constexpr (requires { o.endEpoch(); }) o.endEpoch();
  }
  std::tuple<Optimizers&...> optimizers_;
};

/// The training loop over an Objective and an Optimizer (anything with step(P&) for the objective's
/// parameters() type P, optionally endEpoch()). Holds references: both must outlive it.
template <class Obj, class Optimizer>
class Trainer {
  static_assert(Objective<Obj>, "Trainer: Objective must provide Batch, lossAndGradient(batch, rng) and "
                                "parameters().gradsFinite() (see docs/architecture.md#training-train)");

 public:
  using Batch = typename Obj::Batch;

  Trainer(Obj& objective, Optimizer& optimizer) : objective_(&objective), optimizer_(&optimizer) {}

  Obj& objective() noexcept { return *objective_; }
  Optimizer& optimizer() noexcept { return *optimizer_; }

  /// Data-parallel training (recdiff/distributed/data_parallel.hpp sets it): called after lossAndGradient
  /// with the batch and this process's loss, before the finiteness check; it reduces the gradient across the
  /// processes and returns the whole batch's loss. Unset (the default), a step is exactly as without it.
  using GradientHook = std::function<double(const Batch&, double)>;
  void setGradientHook(GradientHook hook) { gradientHook_ = std::move(hook); }

  /// One step on `batch`: the loss and gradient, then the update unless the loss or a gradient is not finite.
  /// Returns the loss; `applied` says whether the update was applied.
  double step(const Batch& batch, Rng& rng, bool& applied) {
    double loss = static_cast<double>(objective_->lossAndGradient(batch, rng));
    if (gradientHook_) loss = gradientHook_(batch, loss);
    applied = std::isfinite(loss) && objective_->parameters().gradsFinite();
    if (!applied) return loss;
    optimizer_->step(objective_->parameters());
    if constexpr (requires { objective_->afterStep(batch); }) objective_->afterStep(batch);
    return loss;
  }

  /// One epoch: source.batch(b) for b in [0, min(source.batches(), maxBatches or all)), every random number of
  /// the steps from `rng`; `epoch` (1-based) is passed to the callbacks' endBatch. Then the objective's and
  /// the optimizer's endEpoch hooks (also after a divergent epoch, as the models did before the Trainer).
  template <class Source, class... Callbacks>
  EpochResult epoch(Source& source, Rng& rng, Index epoch, Index maxBatches, Callbacks&... callbacks) {
    (void)epoch;  // unused without callbacks
    Index batches = static_cast<Index>(source.batches());
    if (maxBatches > 0 && maxBatches < batches) batches = maxBatches;
    EpochResult result;
    Index first = 0;  // > 0 when a resumed run continues this epoch (train/training_state.hpp)
    (detail::resumeEpoch(callbacks, epoch, rng, result, first), ...);
    for (Index b = first; b < batches; ++b) {
      const Batch& batch = source.batch(b);
      bool applied = false;
      const double loss = step(batch, rng, applied);
      if (!applied) {
        result.finite = false;
        result.divergedBatch = b + 1;
        break;
      }
      result.sumLoss += loss;
      result.lastLoss = loss;
      ++result.batches;
      result.samples += detail::rowsOf(batch);
      bool stop = false;
      ((stop = detail::endBatch(callbacks, epoch, result.batches, batches, loss) || stop), ...);
      if (!stop) ((stop = detail::endBatchState(callbacks, epoch, result, rng) || stop), ...);
      if (stop) {
        result.stopped = true;
        break;
      }
    }
    result.meanLoss = result.batches > 0 ? result.sumLoss / static_cast<double>(result.batches) : 0.0;
    if constexpr (requires { objective_->endEpoch(); }) objective_->endEpoch();
    if constexpr (requires { optimizer_->endEpoch(); }) optimizer_->endEpoch();
    return result;
  }

 private:
  Obj* objective_;
  Optimizer* optimizer_;
  GradientHook gradientHook_;
};

/// The epoch loop of fit(): for e = 1 … options.epochs, the callbacks' beginEpoch, then
/// runEpoch(e, epochRng, callbacks...) → EpochResult with epochRng = Rng(options.seed, options.stream).fork(e)
/// (EpochResult::seconds and ::cpuSeconds time this call alone), then their endEpoch. Stops at a divergent epoch
/// (stopReason names the epoch and the batch), when an endBatch or endEpoch hook asks to stop (its stopReason()),
/// or at the epoch budget; endTraining always runs.
template <class RunEpoch, class... Callbacks>
TrainResult fit(const FitOptions& options, RunEpoch&& runEpoch, Callbacks&... callbacks) {
  RECDIFF_REQUIRE(options.epochs >= 0, "train::fit(): epochs must be >= 0, got ", options.epochs);
  RECDIFF_REQUIRE(options.maxBatchesPerEpoch >= 0, "train::fit(): maxBatchesPerEpoch must be >= 0, got ",
                  options.maxBatchesPerEpoch);
  TrainResult result;
  (detail::beginTraining(callbacks, options), ...);
  Index first = 1;  // > 1 when a resumed run continues (train/training_state.hpp)
  (detail::resumeTraining(callbacks, result, first), ...);
  const Rng base(options.seed, options.stream);
  for (Index e = first; e <= options.epochs; ++e) {
    (detail::beginEpoch(callbacks, e), ...);
    Rng rng = base.fork(static_cast<std::uint64_t>(e));
    const double cpuStart = cpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    EpochResult r = runEpoch(e, rng, callbacks...);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.cpuSeconds = cpuSeconds() - cpuStart;
    result.history.push_back(r);
    result.epochs = e;
    if (!r.finite) {
      result.diverged = true;
      result.stopReason = "diverged: non-finite loss or gradient in epoch " + std::to_string(e) + ", batch " +
                          std::to_string(r.divergedBatch) + " (the update was not applied)";
      break;
    }
    std::string reason;
    [[maybe_unused]] const auto ask = [&](auto& c) {
      if (detail::endEpoch(c, e, r) && reason.empty()) reason = detail::reasonOf(c);
    };
    (ask(callbacks), ...);
    if (r.stopped && reason.empty()) {
      [[maybe_unused]] const auto batchReason = [&](auto& c) {
        if constexpr (requires { c.stopReason(); })
          if (reason.empty() && !c.stopReason().empty()) reason = c.stopReason();
      };
      (batchReason(callbacks), ...);
      if (reason.empty()) reason = "stopped by a callback in epoch " + std::to_string(e);
    }
    if (!reason.empty()) {
      result.stoppedEarly = true;
      result.stopReason = reason;
      break;
    }
  }
  (detail::endTraining(callbacks, result), ...);
  return result;
}

}  // namespace train
}  // namespace recdiff

#endif  // RECDIFF_TRAIN_TRAINER_HPP
