#ifndef RECDIFF_MODELS_DIFFUREC_HPP
#define RECDIFF_MODELS_DIFFUREC_HPP

/// \file diffurec.hpp
/// DiffuRec (Li, Sun, Li, "DiffuRec: A Diffusion Model for Sequential Recommendation", TOIS 2023) as a
/// ready-made sequential recommender: trainEpoch / scores / recommend / evaluate / save / load. It composes the
/// library's pieces as the authors' main.py + trainer.py do:
///   approximator  DiffuRecApproximator (item table E, row 0 = padding; pre-LN transformer; Λ ~ N(λ, λ²))
///   diffusion     GaussianDiffusion<AnySchedule, PredictX0, FixedLargeVariance, Scalar>, `trunc_lin`, T = 32
///   timesteps     uniform — the reference builds a loss-aware sampler but never updates it; with
///                 lossAwareTimesteps the LossSecondMomentSampler is fed every row's loss and the loss is
///                 importance-weighted by 1/(T·p_t) (uniform until every step has 10 losses)
///   loss          softmax cross-entropy of x̂0·Eᵀ over every row of E (gradient into E through the scores,
///                 the history and the noised target)
///   optimizer     Adam(lr, L2 weightDecay) with StepLR(decayStep, gamma) stepped once per epoch
///   inference     reverse from N(0, I) over all T steps (fixed-large variance), x̂0 averaged over
///                 `inferenceRuns` independent reverse runs (Λ and the reverse noise make one run stochastic),
///                 scores x̂0·Eᵀ [batch × (items + 1)], column 0 = padding.
/// Options, FLOP counts and the approximator options they give: diffurec_options.hpp.
/// Item ids are 1 … items; histories are [batch × len] id matrices left-padded with 0 (data::fillHistoryBatch).
///
/// Usage (compiled in tests/models/usage_snippets_test.cpp, snippet diffurec):
///   DiffuRec<> model(options, d.items, seed);
///   Rng rng(seed);
///   for (int epoch = 1; epoch <= 3; ++epoch) { Rng e = rng.fork(epoch); model.trainEpoch(d.split.train, d.train, e); }
///   metrics::MetricTable m = model.evaluate(d.full, d.split.test, ks, rng);  // hr@K, ndcg@K (NextItemProtocol)
///   data::fillHistoryBatch(d.full, d.split.test, rows, model.padding(), batch);
///   auto top = model.recommend(batch, 10, true, rng);                         // ids and scores, history filtered

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../data/batching.hpp"
#include "../data/sequences.hpp"
#include "../denoisers/diffurec_approximator.hpp"
#include "../metrics/metric_table.hpp"
#include "../sampling/ddpm_sampler.hpp"
#include "../diffusion/gaussian_diffusion.hpp"
#include "../diffusion/policies.hpp"
#include "../io/checkpoint.hpp"
#include "../io/hyperparameters.hpp"
#include "../metrics/ranking.hpp"
#include "../metrics/topk.hpp"
#include "../optim/optimizer.hpp"
#include "../parallel.hpp"
#include "../random/rng.hpp"
#include "../schedules/make_schedule.hpp"
#include "../timesteps/loss_second_moment_sampler.hpp"
#include "../train/data_parallel_slot.hpp"
#include "../train/tiled.hpp"
#include "../train/trainer.hpp"
#include "diffurec_options.hpp"
#include "next_item_evaluation.hpp"

namespace recdiff {

/// What one training epoch did (the one EpochResult of train/trainer.hpp).
using DiffuRecEpoch = EpochResult;

/// DiffuRec with its approximator, diffusion, timestep sampler and optimizer; see the file comment.
template <class Scalar = float>
class DiffuRec {
 public:
  using Diffusion = GaussianDiffusion<AnySchedule, PredictX0, FixedLargeVariance, Scalar>;
  using Approximator = DiffuRecApproximator<Scalar>;
  using Optimizer = optim::Optimizer<optim::AdamUpdate, optim::StepDecay>;
  using Matrix = RowMatrix<Scalar>;
  using ScalarType = Scalar;  ///< the score type (the model concept, docs/concepts.md#model)
  using Sequences = typename Approximator::Sequences;

  /// Builds the model for items 1 … items; parameters are initialised from Rng(seed) as the reference does.
  DiffuRec(const DiffuRecOptions& options, Index items, std::uint64_t seed = 1)
      : options_(validatedDiffuRecOptions(options, items)),
        diffusion_(makeSchedule(options.schedule), options.steps),
        model_(diffuRecApproximatorOptions(options, items)),
        sampler_(options.steps),
        optimizer_({.learningRate = options.learningRate, .weightDecay = options.weightDecay},
                   optim::StepDecay(options.decayStep, options.gamma)) {
    Rng init(seed, 0xD1FF);
    model_.reset(init);
  }

  DiffuRec(const DiffuRec&) = delete;
  DiffuRec& operator=(const DiffuRec&) = delete;

  const DiffuRecOptions& options() const noexcept { return options_; }
  Index items() const noexcept { return model_.options().items; }
  /// Score columns: items + 1 (column 0 = padding).
  Index columns() const noexcept { return items() + 1; }
  /// How histories are padded for this model (data::fillHistoryBatch): the last maxLength items, left padding, id 0.
  data::PaddingOptions padding() const noexcept {
    return {.maxLen = options_.maxLength, .side = data::Padding::Left, .padId = 0};
  }
  const Diffusion& diffusion() const noexcept { return diffusion_; }
  Approximator& approximator() noexcept { return model_; }
  LossSecondMomentSampler& timestepSampler() noexcept { return sampler_; }
  Optimizer& optimizer() noexcept { return optimizer_; }
  Index parameterCount() const noexcept { return model_.parameters().size(); }

  /// Everything training continues from (train/training_state.hpp): the parameters, the optimizer's moments and
  /// counters (StepLR's epoch), the timestep sampler's loss history (the dropout and Λ streams are
  /// derived from the step's generator); through a state archive
  /// (io/state_archive.hpp), which saves or loads.
  template <class Archive>
  void serializeState(Archive& ar) {
    ar("parameters", model_.parameters().values());
    ar("optimizer", optimizer_);
    ar("timestep_sampler", sampler_);
  }

  /// DiffuRec's objective for the Trainer: the cross-entropy of x̂0·Eᵀ (lossAndGradient(), tiled); the
  /// loss-aware timestep sampler, when on, is fed in afterStep(), i.e. only after an applied update, so a
  /// diverged batch leaves its history untouched (and a data-parallel run can all-gather the losses there).
  class Objective {
   public:
    using Batch = data::HistoryBatch;
    explicit Objective(DiffuRec& m) : m_(&m) {}
    double lossAndGradient(const Batch& b, Rng& rng) {
      return static_cast<double>(m_->lossAndGradient(b.history, b.targets, rng));
    }
    void afterStep(const Batch& /*b*/) { m_->updateTimestepSampler(); }
    nn::ParameterBuffer<Scalar>& parameters() { return m_->model_.parameters(); }

   private:
    DiffuRec* m_;
  };

  /// One epoch: the samples (indexing `train`) in a shuffled order drawn from rng, options().samplesPerEpoch
  /// of them (0: all), in batches of batchSize; maxBatches > 0 stops earlier. Through the Trainer: the order
  /// from rng.fork(1), the steps from rng.fork(3); then the StepLR epoch advances. `epoch` (1-based) is what
  /// the callbacks' endBatch hooks see.
  template <class... Callbacks>
  DiffuRecEpoch trainEpoch(const data::Sequences& train, const data::SequenceSamples& samples, Rng& rng,
                           Index maxBatches = 0, Index epoch = 1, Callbacks&... callbacks) {
    RECDIFF_REQUIRE(samples.size() > 0, "DiffuRec::trainEpoch(): no training samples");
    RECDIFF_REQUIRE(train.maxItem() <= items(), "DiffuRec::trainEpoch(): item id ", train.maxItem(),
                    " exceeds the model's ", items(), " items");
    if (batcherSeqs_ != &train || batcherSamples_ != &samples || !batcher_) {
      requireDiffuRecActivationMemory(options_, items(), sizeof(Scalar));
      batcher_.emplace(train, samples, data::BatchOptions{options_.batchSize, false},
                       data::PaddingOptions{.maxLen = options_.maxLength, .side = data::Padding::Left, .padId = 0});
      batcherSeqs_ = &train;
      batcherSamples_ = &samples;
    }
    data::SequenceBatcher& batcher = *batcher_;
    Rng order = rng.fork(1);
    batcher.startEpoch(order);
    model_.setTraining(true);  // dropout and Λ streams: per step and tile (step())
    Rng noiseRng = rng.fork(3);
    Index batches = batcher.batches();
    if (options_.samplesPerEpoch > 0)
      batches = std::min(batches, (options_.samplesPerEpoch + options_.batchSize - 1) / options_.batchSize);
    if (maxBatches > 0) batches = std::min(batches, maxBatches);
    Objective objective(*this);
    train::Trainer<Objective, Optimizer> trainer(objective, optimizer_);
    dp_.install(trainer);
    return trainer.epoch(batcher, noiseRng, epoch, batches, callbacks...);
  }

  /// The same with a per-batch function onBatch(done, batches, loss) called after every applied batch (e.g. a
  /// progress bar); prefer fit() with train::ProgressBar.
  template <class OnBatch>
    requires std::invocable<OnBatch&, Index, Index, double>
  DiffuRecEpoch trainEpoch(const data::Sequences& train, const data::SequenceSamples& samples, Rng& rng,
                           Index maxBatches, OnBatch&& onBatch) {
    struct Adapter {
      OnBatch* f;
      void endBatch(Index /*epoch*/, Index batch, Index batches, double loss) { (*f)(batch, batches, loss); }
    } adapter{&onBatch};
    return trainEpoch(train, samples, rng, maxBatches, 1, adapter);
  }

  /// Trains options.epochs epochs with callbacks (train/callbacks.hpp) on (train, samples); see train::fit().
  template <class... Callbacks>
  [[nodiscard]] TrainResult fit(const data::Sequences& train, const data::SequenceSamples& samples,
                                const FitOptions& options = {}, Callbacks&... callbacks) {
    return train::fit(options, [&](Index e, Rng& rng, auto&... cb) {
      return trainEpoch(train, samples, rng, options.maxBatchesPerEpoch, e, cb...);
    }, callbacks...);
  }

  /// One gradient evaluation on a batch (history [batch × len] ids, targets [batch] ids) for a caller that
  /// steps the optimizer itself: lossAndGradient(), then the loss-aware sampler (when on) is fed the batch's
  /// timesteps and row losses (updateTimestepSampler()). The optimizer is not stepped.
  template <class History>
  Scalar step(const Eigen::DenseBase<History>& history, const Eigen::ArrayXi& targets, Rng& rng) {
    const Scalar loss = lossAndGradient(history, targets, rng);
    updateTimestepSampler();
    return loss;
  }

  /// Zeroes the gradients, draws t and the noise from rng, accumulates every gradient and returns the
  /// (weighted) loss; the timestep sampler is not updated. Batches of more than options().trainingTile rows
  /// are cut into tiles that run in parallel (see DiffuRecOptions::trainingTile); the loss and gradients are
  /// the tiles' row-weighted means, i.e. the batch mean.
  template <class History>
  Scalar lossAndGradient(const Eigen::DenseBase<History>& history, const Eigen::ArrayXi& targets, Rng& rng) {
    sequences_ = history.derived().array();
    const Index n = sequences_.rows();
    RECDIFF_REQUIRE(n > 0 && targets.size() == n, "DiffuRec::step(): ", targets.size(), " targets for ", n,
                    " histories");
    for (Index r = 0; r < n; ++r)
      RECDIFF_REQUIRE(targets(r) >= 1 && targets(r) <= items(), "DiffuRec::step(): target ", targets(r), " at row ",
                      r, " is not an item id in [1, ", items(), "]");
    tb_ = sampler_.template sample<Scalar>(n, rng);
    const TimestepBatch<Scalar>& tb = tb_;
    noise_.resize(n, options_.hidden);
    rng.fillNormal(noise_);
    const Rng tileRng = rng.fork(rng.nextU64());  // dropout and Λ streams of this step's tiles
    const bool weighted = options_.lossAwareTimesteps && sampler_.warmedUp();
    const Index tiles = tileCount(n, options_.trainingTile);
    if (dp_.ranks > 1) {  // data parallel: this process's block of whole tiles (train::tileShard)
      const train::TileShard shard = train::tileShard(n, options_.trainingTile, dp_.rank, dp_.ranks);
      rowLosses_.setZero(n);  // updateTimestepSampler() gathers every process's rows into it
      if (shard.tiles() > 0) return runTiles(targets, n, tiles, shard.firstTile, shard.lastTile, tileRng, weighted);
      model_.parameters().zeroGrad();
      return 0;
    }
    if (tiles > 1) return runTiles(targets, n, tiles, 0, tiles, tileRng, weighted);
    model_.setRng(tileRng.fork(0));
    model_.parameters().zeroGrad();
    const Scalar loss = model_.trainingLoss(diffusion_, sequences_, targets, tb.t, noise_, nullptr,
                                            weighted ? &tb.weights : nullptr);
    rowLosses_ = model_.lastRowLosses();
    return loss;
  }

  /// Feeds the loss-aware sampler (when options().lossAwareTimesteps) the timesteps and unweighted row losses
  /// of the last lossAndGradient(); the Trainer calls it after an applied update (Objective::afterStep). Data
  /// parallel: every process's row losses are gathered first, so every process feeds the whole batch's.
  void updateTimestepSampler() {
    if (!options_.lossAwareTimesteps) return;
    if (const Index n = rowLosses_.size(); dp_.ranks > 1) {
      const train::TileShard mine = train::tileShard(n, options_.trainingTile, dp_.rank, dp_.ranks);
      mineLosses_ = rowLosses_.segment(mine.firstRow, mine.rows());
      dp_.gather(mineLosses_, rowLosses_, train::tileShardRows(n, options_.trainingTile, dp_.ranks));
    }
    sampler_.update(tb_.t, rowLosses_);
  }

  using DataParallel = train::DataParallelSlot<data::HistoryBatch, Scalar>;
  /// Data-parallel training (distributed/data_parallel.hpp calls it): this process computes the block of whole
  /// tiles train::tileShard(batch rows, trainingTile, rank, ranks) of every batch with the single process's t,
  /// noise and tile streams; its loss and gradient are those tiles' rows_k / batch share of the batch mean,
  /// `hook` (in every epoch's Trainer) sums them, `gather` collects the row losses for the loss-aware sampler.
  void setDataParallel(Index rank, Index ranks, typename DataParallel::GradientHook hook,
                       typename DataParallel::RowGather gather) {
    RECDIFF_REQUIRE(ranks == 1 || options_.trainingTile > 0, "DiffuRec::setDataParallel(): data parallel training ",
                    "splits batches in training tiles; training_tile is 0 (one tile): set it > 0");
    dp_.set("DiffuRec::setDataParallel()", rank, ranks, std::move(hook), std::move(gather), true);
  }
  /// The scoring generator's advance after one scores() call (what a shard of an evaluation skips per batch).
  static void advanceScoringRng(Rng& rng) { rng = rng.fork(0xFFFF); }

  /// The unweighted cross-entropy of every row of the last step(), [batch].
  const ArrayX<Scalar>& lastRowLosses() const noexcept { return rowLosses_; }

  /// The inferred next-item representations x̂0 [batch × H] of histories [batch × len] (ids, left padding):
  /// the mean of inferenceRuns reverse runs, every random number from rng. Histories are cut into tiles of at
  /// most options().inferenceTile rows that run in parallel (see DiffuRecOptions::inferenceTile).
  template <class History>
  void representations(const Eigen::DenseBase<History>& history, Matrix& out, Rng& rng) {
    RECDIFF_REQUIRE(history.cols() > 0 && history.rows() > 0, "DiffuRec::representations(): empty history batch");
    RECDIFF_REQUIRE(history.derived().minCoeff() >= 0 && history.derived().maxCoeff() <= items(),
                    "DiffuRec::representations(): item ids must lie in [0, ", items(), "]");
    sequences_ = history.derived().array();
    const Index n = sequences_.rows();
    model_.setTraining(false);
    const Index tiles = tileCount(n, options_.inferenceTile);
    const int workers = tiles_.prepare(tiles, false);
    out.resize(n, options_.hidden);
    const DdpmSampler<Diffusion> sampler(diffusion_, diffuRecReverseOptions());
    for (Index run = 0; run < options_.inferenceRuns; ++run) {
      const Rng modelRng = rng.fork(2 * static_cast<std::uint64_t>(run));
      const Rng reverseRng = rng.fork(2 * static_cast<std::uint64_t>(run) + 1);
      tiles_.run(tiles, workers, n, [&](int w, Index k, Index begin, Index count) {
        Approximator& m = tiles_.worker(w);
        TileScratch& s = tiles_.scratch(w);
        m.setRng(modelRng.fork(static_cast<std::uint64_t>(k)));
        Rng reverse = reverseRng.fork(static_cast<std::uint64_t>(k));
        if (tiles == 1) {
          sampler.sampleFromNoise(m, sequences_, count, options_.hidden, reverse, s.x0);
        } else {
          s.sequences = sequences_.middleRows(begin, count);
          sampler.sampleFromNoise(m, s.sequences, count, options_.hidden, reverse, s.x0);
        }
        if (run == 0) out.middleRows(begin, count) = s.x0;
        else out.middleRows(begin, count) += s.x0;
      });
    }
    if (options_.inferenceRuns > 1) out /= static_cast<Scalar>(options_.inferenceRuns);
    advanceScoringRng(rng);  // advance: the next call draws fresh numbers
  }

  /// Scores x̂0·Eᵀ [batch × (items + 1)] of histories [batch × len]; column 0 is the padding item.
  template <class History>
  void scores(const Eigen::DenseBase<History>& history, Matrix& out, Rng& rng) {
    representations(history, x0_, rng);
    out.resize(x0_.rows(), columns());
    nn::gemm(out, x0_, model_.itemEmbedding().weight().transpose(), nn::Accumulate::kNo,
             options_.inferencePrecision);
  }

  /// The top-k items (ids and scores, best first) for histories [batch × len]; the padding item is never
  /// returned, nor the items of `exclude` (a CSR mask with one row per history, e.g. historyMask()).
  template <class History>
  metrics::TopK<Scalar> recommend(const Eigen::DenseBase<History>& history, Index k, Rng& rng,
                                  const metrics::CsrMatrix* exclude = nullptr) {
    Matrix s;
    scores(history, s, rng);
    metrics::TopKOptions o;
    o.excludeColumn = 0;
    if (exclude != nullptr) o.exclude.push_back(exclude);
    metrics::TopK<Scalar> top;
    metrics::topK(s, k, top, o);
    return top;
  }

  /// The model concept's scores (docs/concepts.md#model): the histories of a batch (data::fillHistoryBatch with
  /// padding()), [batch × columns()].
  void scores(const data::HistoryBatch& batch, Matrix& out, Rng& rng) { scores(batch.history,  out, rng); }

  /// The model concept's recommend: the top-k items of every history of `batch`; with filterSeen the items of
  /// the history itself are never returned (nor, ever, the padding item).
  metrics::TopK<Scalar> recommend(const data::HistoryBatch& batch, Index k, bool filterSeen, Rng& rng) {
    const metrics::CsrMatrix seen = filterSeen ? historyItemMask(batch.history, columns()) : metrics::CsrMatrix();
    return recommend(batch.history,  k, rng, filterSeen ? &seen : nullptr);
  }

  /// HR@K and NDCG@K of the held-out samples (indexing `full`) as the MetricTable entries `hr@K`, `ndcg@K`
  /// (the one evaluation result type of every model; table.add("test", ...) prefixes them) under `protocol` (default: history masked,
  /// padding excluded, per-sample mean); histories are the last maxLength items before each label.
  metrics::MetricTable evaluate(const data::Sequences& full, const data::SequenceSamples& samples,
                                 std::span<const Index> ks, Rng& rng, const NextItemProtocol& protocol = {}) {
    metrics::MetricTable table;
    table.add("", evaluateNextItem(full, samples, ks, protocol, padding(),
                            columns(), [&](const data::HistoryBatch& b, RowMatrix<float>& out) {
                              if constexpr (std::is_same_v<Scalar, float>) {
                                scores(b.history, out, rng);
                              } else {
                                scores(b.history, evalScores_, rng);
                                out = evalScores_.template cast<float>();
                              }
                            }));
    return table;
  }

  /// Every checkpointed option as text (DiffuRecOptions::fields) plus the item count (checkpoint header);
  /// optionsFromHyperparameters() inverts it.
  std::map<std::string, std::string> hyperparameters() const {
    auto h = io::fieldsToText(options_);
    h["items"] = std::to_string(items());
    return h;
  }

  /// Writes the parameters and hyperparameters atomically (io/checkpoint.hpp), model type "DiffuRec".
  void save(const std::filesystem::path& file) const {
    io::saveCheckpoint(file, model_.parameters(), {"DiffuRec", model_.parameterShapes(), hyperparameters()});
  }

  /// Loads parameters saved by save() from a model of the same shape; throws recdiff::DataError and leaves the
  /// model untouched on a bad, truncated or mismatched file. Optimizer moments are not part of a checkpoint.
  void load(const std::filesystem::path& file) {
    io::loadCheckpoint(file, model_.parameters(), "DiffuRec", model_.parameterShapes());
  }

  /// The options and item count recorded in a checkpoint's hyperparameters; throws std::invalid_argument naming
  /// the entry on a missing, malformed or unknown one. Checkpoints written before the precisions and the
  /// schedule's parameters were recorded read as float arithmetic and the named schedule's defaults.
  static std::pair<DiffuRecOptions, Index> optionsFromHyperparameters(const std::map<std::string, std::string>& h) {
    const std::string who = "DiffuRec::optionsFromHyperparameters()";
    const DiffuRecOptions o = io::fieldsFromText<DiffuRecOptions>(h, who, {"items"});
    return {o, io::HyperparameterReader(h, who).count("items")};
  }

 private:
  /// A worker's slices of a tile (inputs cut from the batch) and its output.
  struct TileScratch {
    Sequences sequences;
    Eigen::ArrayXi targets, t;
    Matrix noise, x0;
    ArrayX<Scalar> weights;
  };

  static Index tileCount(Index n, Index tile) { return train::tileCount(n, tile); }

  /// Tiles [firstTile, lastTile) of n rows cut into `tiles`, on the workers: the gradient and the loss are
  /// their rows_k / n share of the batch mean, their row losses land in rowLosses_ (sized n).
  Scalar runTiles(const Eigen::ArrayXi& targets, Index n, Index tiles, Index firstTile, Index lastTile,
                  const Rng& tileRng, bool weighted) {
    const Index mine = lastTile - firstTile;
    const int workers = tiles_.prepare(mine, model_.training());
    tileGrads_.resize(static_cast<std::size_t>(mine));
    tileLosses_.resize(mine);
    rowLosses_.resize(n);
    tiles_.run(mine, workers, mine, [&](int w, Index j, Index, Index) {
      const Index k = firstTile + j, begin = train::tileBegin(n, tiles, k), count = train::tileRows(n, tiles, k);
      Approximator& m = tiles_.worker(w);
      TileScratch& s = tiles_.scratch(w);
      s.sequences = sequences_.middleRows(begin, count);
      s.targets = targets.segment(begin, count);
      s.t = tb_.t.segment(begin, count);
      s.noise = noise_.middleRows(begin, count);
      if (weighted) s.weights = tb_.weights.segment(begin, count);
      m.setRng(tileRng.fork(static_cast<std::uint64_t>(k)));
      m.parameters().zeroGrad();
      tileLosses_(j) = m.trainingLoss(diffusion_, s.sequences, s.targets, s.t, s.noise, nullptr,
                                      weighted ? &s.weights : nullptr);
      rowLosses_.segment(begin, count) = m.lastRowLosses();
      tileGrads_[static_cast<std::size_t>(j)] = m.parameters().grads();
    });
    // The batch mean: tile k weighs count_k / n; summed in tile order, in parallel over parameter chunks.
    train::sumTileGradients(model_.parameters(), tileGrads_, n, tiles, firstTile);
    return train::sumTileLosses(tileLosses_, n, tiles, firstTile);
  }

  DiffuRecOptions options_;
  Diffusion diffusion_;
  Approximator model_;
  LossSecondMomentSampler sampler_;
  Optimizer optimizer_;
  const data::Sequences* batcherSeqs_ = nullptr;
  const data::SequenceSamples* batcherSamples_ = nullptr;
  std::optional<data::SequenceBatcher> batcher_;
  Sequences sequences_;
  Matrix noise_, x0_, evalScores_;
  TimestepBatch<Scalar> tb_;  ///< t and importance weights of the last lossAndGradient()
  /// Workers 1 … of the data-parallel tiles (train/tiled.hpp), a scratch per worker.
  train::Tiles<Approximator, TileScratch> tiles_{
      model_, [this] { return std::make_unique<Approximator>(diffuRecApproximatorOptions(options_, items())); }};
  std::vector<typename nn::ParameterBuffer<Scalar>::Vector> tileGrads_;
  ArrayX<Scalar> tileLosses_, rowLosses_, mineLosses_;
  DataParallel dp_;  ///< data-parallel tile shard (setDataParallel)
};

}  // namespace recdiff

#endif  // RECDIFF_MODELS_DIFFUREC_HPP
