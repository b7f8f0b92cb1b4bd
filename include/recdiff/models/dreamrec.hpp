#ifndef RECDIFF_MODELS_DREAMREC_HPP
#define RECDIFF_MODELS_DREAMREC_HPP

/// \file dreamrec.hpp
/// DreamRec (Yang, Wu, Wang, Wang, Yuan, He, "Generate What You Prefer: Reshaping Sequential Recommendation
/// via Guided Diffusion", NeurIPS 2023) as a ready-made sequential recommender: trainEpoch / scores /
/// recommend / evaluate / save / load. It composes the library's pieces as the authors' DreamRec.py does:
///   encoder     DreamRecEncoder, the T-enc (item table E, row 0 = padding; one SASRec block; h at the last
///               real position of the last maxLength items, right-padded)
///   denoiser    DreamRecDenoiser (mlp1 or mlp2 on [x_t | h | e_t], predicts x0; null vector n)
///   diffusion   GaussianDiffusion<AnySchedule, PredictX0, FixedSmallVariance, Scalar>: `exp` (default),
///               `linear` (linspace(beta_start, beta_end)), `cosine` (clipped to [1e-4, 0.9999]) or `sqrt`
///   training    x0 = E[target], t ~ U{0 … T−1}, x_t = q(x0, t), h replaced by n with probability p,
///               L = mean((f(x_t, h, t) − x0)²) (gradient into E through the target, x_t and the history),
///               AdamW(lr, weightDecay) (optim::FusedAdamW: one fused SIMD pass)
///   inference   x_T ~ N(0, I), T guided steps x̂0 = (1 + w) f(x_t, h, t) − w f(x_t, n, t) with the
///               fixed-small variance (DdpmSampler with the GuidedTiled path, batched over all histories),
///               scores x_0 · Eᵀ [batch × (items + 1)], column 0 = padding
/// Item ids are 1 … items; histories are [batch × len] id matrices right-padded with 0 (data::fillHistoryBatch
/// with Padding::Right) and their real lengths.
///
/// Usage (compiled in tests/models/usage_snippets_test.cpp, snippet dreamrec):
///   DreamRec<> model(options, d.items, seed);
///   Rng rng(seed);
///   for (int epoch = 1; epoch <= 3; ++epoch) { Rng e = rng.fork(epoch); model.trainEpoch(d.split.train, d.train, e); }
///   metrics::MetricTable m = model.evaluate(d.full, d.split.test, ks, rng);  // hr@K, ndcg@K (NextItemProtocol)
///   data::fillHistoryBatch(d.full, d.split.test, rows, model.padding(), batch);
///   auto top = model.recommend(batch, 10, true, rng);                         // ids and scores, history filtered

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../data/batching.hpp"
#include "../data/sequences.hpp"
#include "../denoisers/dreamrec_denoiser.hpp"
#include "../denoisers/dreamrec_encoder.hpp"
#include "../metrics/metric_table.hpp"
#include "../sampling/guided_tiled.hpp"
#include "../diffusion/gaussian_diffusion.hpp"
#include "../diffusion/policies.hpp"
#include "../io/checkpoint.hpp"
#include "../io/hyperparameters.hpp"
#include "../metrics/topk.hpp"
#include "../nn/cross_entropy.hpp"
#include "../optim/fused_adam_update.hpp"
#include "../optim/optimizer.hpp"
#include "../parallel.hpp"
#include "../random/rng.hpp"
#include "../schedules/make_schedule.hpp"
#include "../train/data_parallel_slot.hpp"
#include "../train/trainer.hpp"
#include "dreamrec_options.hpp"
#include "next_item_evaluation.hpp"

namespace recdiff {

/// What one training epoch did (the one EpochResult of train/trainer.hpp).
using DreamRecEpoch = EpochResult;

/// DreamRec with its encoder, denoiser, diffusion and optimizer; see the file comment.
template <class Scalar_ = float>
class DreamRec {
 public:
  using Scalar = Scalar_;
  using Matrix = RowMatrix<Scalar>;
  using ScalarType = Scalar;  ///< the score type (the model concept, docs/concepts.md#model)
  using Diffusion = GaussianDiffusion<AnySchedule, PredictX0, FixedSmallVariance, Scalar>;
  using Encoder = DreamRecEncoder<Scalar>;
  using Denoiser = DreamRecDenoiser<Scalar>;
  using Optimizer = optim::FusedAdamW;  ///< torch.optim.AdamW through the fused SIMD kernel
  using Histories = typename Encoder::Histories;

  /// Builds the model for items 1 … items; parameters are initialised from Rng(seed) as the reference does.
  DreamRec(const DreamRecOptions& options, Index items, std::uint64_t seed = 1)
      : options_(validated(options, items)),
        diffusion_(makeSchedule(options.schedule), options.steps),
        encoder_({.items = items, .hidden = options.hidden, .heads = options.heads, .maxLength = options.maxLength,
                  .dropout = options.dropout}),
        denoiser_({.hidden = options.hidden, .architecture = options.architecture}),
        optimizer_({.learningRate = options.learningRate, .weightDecay = options.weightDecay}) {
    params_.resize(encoder_.parameterCount() + denoiser_.parameterCount());
    nn::ParameterBinder<Scalar> binder(params_);
    binder.bind(encoder_);
    binder.bind(denoiser_);
    Rng init(seed, 0xD4EA);
    encoder_.reset(init);
    denoiser_.reset(init);
  }

  DreamRec(const DreamRec&) = delete;
  DreamRec& operator=(const DreamRec&) = delete;

  const DreamRecOptions& options() const noexcept { return options_; }
  Index items() const noexcept { return encoder_.items(); }
  /// Score columns: items + 1 (column 0 = padding).
  Index columns() const noexcept { return items() + 1; }
  const Diffusion& diffusion() const noexcept { return diffusion_; }
  Encoder& encoder() noexcept { return encoder_; }
  Denoiser& denoiser() noexcept { return denoiser_; }
  Optimizer& optimizer() noexcept { return optimizer_; }
  nn::ParameterBuffer<Scalar>& parameters() noexcept { return params_; }
  const nn::ParameterBuffer<Scalar>& parameters() const noexcept { return params_; }
  std::vector<nn::ParameterShape> parameterShapes() const {
    auto s = encoder_.parameterShapes();
    for (auto& d : denoiser_.parameterShapes()) s.push_back(std::move(d));
    return s;
  }
  /// The padding of histories this model reads: the last maxLength items, right-padded with 0.
  data::PaddingOptions padding() const noexcept {
    return {.maxLen = options_.maxLength, .side = data::Padding::Right, .padId = 0};
  }

  /// Everything training continues from (train/training_state.hpp): the parameters, the optimizer's moments and
  /// counters and the encoder's dropout streams; through a state archive
  /// (io/state_archive.hpp), which saves or loads.
  template <class Archive>
  void serializeState(Archive& ar) {
    ar("parameters", params_.values());
    ar("encoder", encoder_);
    ar("optimizer", optimizer_);
  }

  /// DreamRec's objective for the Trainer: the null-history x0-MSE (+ crossEntropyWeight · CE) of step().
  class Objective {
   public:
    using Batch = data::HistoryBatch;
    explicit Objective(DreamRec& m) : m_(&m) {}
    double lossAndGradient(const Batch& b, Rng& rng) {
      return static_cast<double>(m_->step(b.history, b.lengths, b.targets, rng));
    }
    nn::ParameterBuffer<Scalar>& parameters() { return m_->params_; }

   private:
    DreamRec* m_;
  };

  using DataParallel = train::DataParallelSlot<data::HistoryBatch, Scalar>;
  /// Data-parallel training (recdiff/distributed/data_parallel.hpp calls it): this process computes rows
  /// train::rowShard(batch rows, rank, ranks) of every batch with exactly the random numbers the single process
  /// draws for them (t, noise and the null mask of the whole batch are drawn, the shard's rows used; the
  /// encoder's dropouts by DreamRecEncoder::setRowShard); `hook` is installed in every epoch's Trainer (it
  /// reduces the shard gradients). ranks = 1 and no hook: the single-process training.
  void setDataParallel(Index rank, Index ranks, typename DataParallel::GradientHook hook) {
    dp_.set("DreamRec::setDataParallel()", rank, ranks, std::move(hook), {}, false);
  }

  /// The scoring generator's advance after one scores() call (what a shard of an evaluation skips per batch).
  static void advanceScoringRng(Rng& rng) { rng = rng.fork(2); }

  /// One epoch over the samples (indexing `train`) in a shuffled order drawn from rng, in batches of
  /// batchSize (the last one smaller); maxBatches > 0 stops earlier. Through the Trainer: the order from
  /// rng.fork(1), the encoder's dropout from rng.fork(2), the steps from rng.fork(3); then AdamW's epoch.
  template <class... Callbacks>
  DreamRecEpoch trainEpoch(const data::Sequences& train, const data::SequenceSamples& samples, Rng& rng,
                           Index maxBatches = 0, Index epoch = 1, Callbacks&... callbacks) {
    RECDIFF_REQUIRE(samples.size() > 0, "DreamRec::trainEpoch(): no training samples");
    RECDIFF_REQUIRE(train.maxItem() <= items(), "DreamRec::trainEpoch(): item id ", train.maxItem(),
                    " exceeds the model's ", items(), " items");
    if (batcherSeqs_ != &train || batcherSamples_ != &samples || !batcher_) {
      batcher_.emplace(train, samples, data::BatchOptions{options_.batchSize, false}, padding());
      batcherSeqs_ = &train;
      batcherSamples_ = &samples;
    }
    data::SequenceBatcher& batcher = *batcher_;
    Rng order = rng.fork(1);
    batcher.startEpoch(order);
    encoder_.setTraining(true);
    encoder_.setRng(rng.fork(2));
    Rng stepRng = rng.fork(3);
    const ScopedThreadLimit threads(options_.trainingThreads);
    Objective objective(*this);
    train::Trainer<Objective, Optimizer> trainer(objective, optimizer_);
    dp_.install(trainer);
    return trainer.epoch(batcher, stepRng, epoch, maxBatches, callbacks...);
  }

  /// Trains options.epochs epochs with callbacks (train/callbacks.hpp) on (train, samples); see train::fit().
  template <class... Callbacks>
  [[nodiscard]] TrainResult fit(const data::Sequences& train, const data::SequenceSamples& samples,
                                const FitOptions& options = {}, Callbacks&... callbacks) {
    return train::fit(options, [&](Index e, Rng& rng, auto&... cb) {
      return trainEpoch(train, samples, rng, options.maxBatchesPerEpoch, e, cb...);
    }, callbacks...);
  }

  /// One gradient evaluation (the optimizer is not stepped): zeroes the gradients, draws t, the noise and the
  /// null mask from rng, accumulates every gradient and returns the loss. history [batch × len ≤ maxLength]
  /// right-padded ids, lengths and targets [batch].
  Scalar step(const Histories& history, const Eigen::ArrayXi& lengths, const Eigen::ArrayXi& targets, Rng& rng) {
    const ScopedThreadLimit threads(options_.trainingThreads);
    const Index n = history.rows();
    t_.resize(n);
    for (Index i = 0; i < n; ++i) t_(i) = static_cast<int>(rng.uniformIndex(options_.steps));
    noise_.resize(n, options_.hidden);
    rng.fillNormal(noise_);
    useNull_.resize(n);
    for (Index i = 0; i < n; ++i) useNull_(i) = rng.uniform() < options_.nullProbability;
    if (dp_.ranks == 1) return loss(history, lengths, targets, t_, noise_, useNull_);
    // Data parallel: the whole batch's random numbers (as above), this process's rows of them.
    const train::RowShard shard = train::rowShard(n, dp_.rank, dp_.ranks);
    const Index m = shard.rows();
    shardHistory_ = history.middleRows(shard.begin, m);
    shardLengths_ = lengths.segment(shard.begin, m);
    shardTargets_ = targets.segment(shard.begin, m);
    shardT_ = t_.segment(shard.begin, m);
    shardNoise_ = noise_.middleRows(shard.begin, m);
    shardNull_ = useNull_.segment(shard.begin, m);
    encoder_.setRowShard(shard.begin, n);
    return loss(shardHistory_, shardLengths_, shardTargets_, shardT_, shardNoise_, shardNull_);
  }

  /// The training loss for explicit t, noise [batch × H] and null mask, with every gradient accumulated
  /// into parameters().grads() (zeroed first).
  Scalar loss(const Histories& history, const Eigen::ArrayXi& lengths, const Eigen::ArrayXi& targets,
              const Eigen::ArrayXi& t, const Matrix& noise, const Eigen::Array<bool, Eigen::Dynamic, 1>& useNull) {
    const Index n = history.rows(), d = options_.hidden;
    RECDIFF_REQUIRE(targets.size() == n && useNull.size() == n, "DreamRec::loss(): ", targets.size(), " targets and ",
                    useNull.size(), " mask entries for ", n, " histories");
    for (Index i = 0; i < n; ++i)
      RECDIFF_REQUIRE(targets(i) >= 1 && targets(i) <= items(), "DreamRec::loss(): target ", targets(i),
                      " is outside [1, ", items(), "]");
    params_.zeroGrad();
    encoder_.forward(history, lengths, h_);
    mask_ = useNull;
    if (options_.emptyHistory == EmptyHistory::kNullVector) mask_ = mask_ || (lengths == 0);
    auto& table = encoder_.itemEmbedding();
    table.lookup(targets, x0_);
    diffusion_.qSample(x0_, t, noise, xt_);
    denoiser_.forwardMasked(xt_, t, h_, mask_, pred_);
    const Scalar scale = Scalar(1) / static_cast<Scalar>(n * d);
    gPred_ = (pred_ - x0_) * (Scalar(2) * scale);
    gTarget_ = -gPred_;  // ∂MSE/∂x0 through the regression target
    Scalar value = (pred_ - x0_).squaredNorm() * scale;
    if (options_.crossEntropyWeight > 0.0) {
      // L += λ CE(x̂0 Eᵀ, target): λ ∂CE/∂E into the table's gradient, λ ∂CE/∂x̂0 into gPred.
      const auto lambda = static_cast<Scalar>(options_.crossEntropyWeight);
      value += lambda * crossEntropy_.forward(pred_, table.weight(), targets);
      crossEntropy_.backward(gCe_, table.weightGrad(), lambda);
      gPred_ += gCe_;
    }
    denoiser_.backward(gPred_, &gXt_, &gH_);
    encoder_.backward(gH_);
    // x0 = E[target] enters x_t = √ᾱ_t x0 + … and the loss target.
    const auto& coef = diffusion_.sqrtAlphaBar();
    for (Index i = 0; i < n; ++i) gXt_.row(i) *= coef(t(i));
    if (!options_.detachTarget) gXt_ += gTarget_;
    table.accumulate(targets, gXt_);
    if (options_.freezeItems) table.weightGrad().setZero();
    return value;
  }

  /// History encodings h [batch × H] in evaluation mode (no dropout); with EmptyHistory::kNullVector the
  /// empty histories get n.
  void encode(const Histories& history, const Eigen::ArrayXi& lengths, Matrix& h) {
    encoder_.setTraining(false);
    encoder_.forward(history, lengths, h);
    if (options_.emptyHistory == EmptyHistory::kNullVector)
      for (Index i = 0; i < h.rows(); ++i)
        if (lengths(i) == 0) h.row(i) = denoiser_.nullVector().row(0);
  }

  /// The generated next-item embeddings x_0 [batch × H]: the guided reverse process (weight `guidance`, by
  /// default options().guidance) from N(0, I), every random number from rng.
  void generate(const Histories& history, const Eigen::ArrayXi& lengths, Matrix& out, Rng& rng,
                std::optional<double> guidance = std::nullopt) {
    encode(history, lengths, h_);
    Rng reverse = rng.fork(1);
    const DdpmSampler<Diffusion, GuidedTiled> sampler(diffusion_, {.guidance = guidance.value_or(options_.guidance)});
    sampler.sampleFromNoise(denoiser_, h_, h_.rows(), options_.hidden, reverse, out);
    advanceScoringRng(rng);  // advance: the next call draws fresh numbers
  }

  /// Scores x_0 · Eᵀ [batch × (items + 1)]; column 0 is the padding item. The product runs in blocks of
  /// kScoreRows rows over the OpenMP threads; a block's arithmetic does not depend on the thread count.
  void scores(const Histories& history, const Eigen::ArrayXi& lengths, Matrix& out, Rng& rng,
              std::optional<double> guidance = std::nullopt) {
    generate(history, lengths, x_, rng, guidance);
    const Index rows = x_.rows();
    out.resize(rows, columns());
    const auto table = encoder_.itemEmbedding().weight();
    const Index blocks = (rows + kScoreRows - 1) / kScoreRows;
    const double flops = 2.0 * static_cast<double>(rows) * static_cast<double>(columns()) *
                         static_cast<double>(options_.hidden);
    parallelFor(blocks, flops > 4.0e6, [&](Index k) {
      const Index r0 = k * kScoreRows, n = std::min(kScoreRows, rows - r0);
      out.middleRows(r0, n).noalias() = x_.middleRows(r0, n) * table.transpose();
    });
  }

  /// The top-k items (ids and scores, best first); the padding item is never returned, nor the items of
  /// `exclude` (a CSR mask with one row per history, e.g. historyMask()).
  metrics::TopK<Scalar> recommend(const Histories& history, const Eigen::ArrayXi& lengths, Index k, Rng& rng,
                                  const metrics::CsrMatrix* exclude = nullptr) {
    Matrix s;
    scores(history, lengths, s, rng);
    metrics::TopKOptions o;
    o.excludeColumn = 0;
    if (exclude != nullptr) o.exclude.push_back(exclude);
    metrics::TopK<Scalar> top;
    metrics::topK(s, k, top, o);
    return top;
  }

  /// The model concept's scores (docs/concepts.md#model): the histories of a batch (data::fillHistoryBatch with
  /// padding()), [batch × columns()]; `guidance` as in scores() above.
  void scores(const data::HistoryBatch& batch, Matrix& out, Rng& rng, std::optional<double> guidance = std::nullopt) {
    scores(batch.history, batch.lengths, out, rng, guidance);
  }

  /// The model concept's recommend: the top-k items of every history of `batch`; with filterSeen the items of
  /// the history itself are never returned (nor, ever, the padding item).
  metrics::TopK<Scalar> recommend(const data::HistoryBatch& batch, Index k, bool filterSeen, Rng& rng) {
    const metrics::CsrMatrix seen = filterSeen ? historyItemMask(batch.history, columns()) : metrics::CsrMatrix();
    return recommend(batch.history, batch.lengths, k, rng, filterSeen ? &seen : nullptr);
  }

  /// HR@K and NDCG@K of the held-out samples (indexing `full`) as the MetricTable entries `hr@K`, `ndcg@K`
  /// (the one evaluation result type of every model; table.add("test", ...) prefixes them) under `protocol` (default: history masked,
  /// padding excluded, per-sample mean); the histories are the last maxLength items before each label.
  metrics::MetricTable evaluate(const data::Sequences& full, const data::SequenceSamples& samples,
                                 std::span<const Index> ks, Rng& rng, const NextItemProtocol& protocol = {},
                                 std::optional<double> guidance = std::nullopt) {
    metrics::MetricTable table;
    table.add("", evaluateNextItem(full, samples, ks, protocol, padding(), columns(),
                            [&](const data::HistoryBatch& b, RowMatrix<float>& out) {
                              if constexpr (std::is_same_v<Scalar, float>) {
                                scores(b.history, b.lengths, out, rng, guidance);
                              } else {
                                scores(b.history, b.lengths, evalScores_, rng, guidance);
                                out = evalScores_.template cast<float>();
                              }
                            }));
    return table;
  }

  /// Every checkpointed option as text (DreamRecOptions::fields) plus the item count (checkpoint header);
  /// optionsFromHyperparameters() inverts it.
  std::map<std::string, std::string> hyperparameters() const {
    auto h = io::fieldsToText(options_);
    h["items"] = std::to_string(items());
    return h;
  }

  /// Writes the parameters and hyperparameters atomically (io/checkpoint.hpp), model type "DreamRec".
  void save(const std::filesystem::path& file) const {
    io::saveCheckpoint(file, params_, {"DreamRec", parameterShapes(), hyperparameters()});
  }

  /// Loads parameters saved by save() from a model of the same shape; throws recdiff::DataError and leaves the
  /// model untouched on a bad, truncated or mismatched file. Optimizer moments are not part of a checkpoint.
  void load(const std::filesystem::path& file) { io::loadCheckpoint(file, params_, "DreamRec", parameterShapes()); }

  /// The options and item count recorded in a checkpoint's hyperparameters; throws std::invalid_argument naming
  /// the entry on a missing, malformed or unknown one. A checkpoint written before the schedule was a
  /// ScheduleSpec (no `noise_scale` entry; `beta_start` / `beta_end` written for every schedule) reads as the
  /// same schedule: the bounds count for `linear` only, as they did then.
  static std::pair<DreamRecOptions, Index> optionsFromHyperparameters(const std::map<std::string, std::string>& h) {
    const std::string who = "DreamRec::optionsFromHyperparameters()";
    std::map<std::string, std::string> entries = h;
    const auto name = h.find("beta_sche");
    if (h.count("noise_scale") == 0 && name != h.end() && name->second != "linear") {
      entries.erase("beta_start");
      entries.erase("beta_end");
    }
    const DreamRecOptions o = io::fieldsFromText<DreamRecOptions>(entries, who, {"items"});
    return {o, io::HyperparameterReader(h, who).count("items")};
  }

 private:
  static DreamRecOptions validated(const DreamRecOptions& o, Index items) {
    RECDIFF_REQUIRE(items > 0, "DreamRec: items must be positive, got ", items);
    const std::string& s = o.schedule.name;
    RECDIFF_REQUIRE(s == "exp" || s == "linear" || s == "cosine" || s == "sqrt", "DreamRec: schedule '", s,
                    "' is not one of exp, linear, cosine, sqrt");
    RECDIFF_REQUIRE(o.batchSize > 0 && o.steps > 0 && o.maxLength > 0, "DreamRec: batchSize ", o.batchSize,
                    ", steps ", o.steps, " and maxLength ", o.maxLength, " must be positive");
    RECDIFF_REQUIRE(o.nullProbability >= 0.0 && o.nullProbability <= 1.0, "DreamRec: nullProbability must lie in [0, 1], got ",
                    o.nullProbability);
    RECDIFF_REQUIRE(std::isfinite(o.guidance), "DreamRec: guidance must be finite, got ", o.guidance);
    return o;
  }

  /// Rows per block of the score product.
  static constexpr Index kScoreRows = 64;

  DreamRecOptions options_;
  Diffusion diffusion_;
  Encoder encoder_;
  Denoiser denoiser_;
  Optimizer optimizer_;
  nn::ParameterBuffer<Scalar> params_;
  const data::Sequences* batcherSeqs_ = nullptr;
  const data::SequenceSamples* batcherSamples_ = nullptr;
  std::optional<data::SequenceBatcher> batcher_;
  Eigen::ArrayXi t_;
  Eigen::Array<bool, Eigen::Dynamic, 1> useNull_, mask_;
  DataParallel dp_;  ///< data-parallel row shard (setDataParallel)
  Histories shardHistory_;
  Eigen::ArrayXi shardLengths_, shardTargets_, shardT_;
  Matrix shardNoise_;
  Eigen::Array<bool, Eigen::Dynamic, 1> shardNull_;
  nn::ItemCrossEntropy<Scalar> crossEntropy_;
  Matrix noise_, h_, x0_, xt_, pred_, gPred_, gTarget_, gCe_, gXt_, gH_, x_, evalScores_;
};

}  // namespace recdiff

#endif  // RECDIFF_MODELS_DREAMREC_HPP
