#ifndef RECDIFF_MODELS_DIFFREC_HPP
#define RECDIFF_MODELS_DIFFREC_HPP

/// \file diffrec.hpp
/// DiffRec (Wang, Xu, Feng, Lin, He, Chua, "Diffusion Recommender Model", SIGIR 2023) as a ready-made
/// recommender with implicit's shape: fit / recommend / evaluate. It composes the library's pieces exactly as
/// the authors' `main.py` does:
///   schedule   linear-var(noiseScale, noiseMin, noiseMax) with beta_0 fixed to 1e-5 (any makeSchedule() name)
///   diffusion  GaussianDiffusion<AnySchedule, Parameterization, FixedSmallVariance, Scalar>
///   denoiser   DiffRecMlp (dropout 0.5 on the input row, tanh MLP, time embedding concatenated)
///   timesteps  LossSecondMomentSampler (uniform until every step has 10 losses, 0.001 uniform mixing)
///   loss       per-row MSE · (SNR(t−1) − SNR(t)) / (T p_t)         (diffusion/losses.hpp)
///   optimizer  AdamW(lr, weightDecay), the fused one-pass kernel (optim::FusedAdamW)
///   inference  from the clean train row (samplingSteps forward steps, 0 by default), every reverse step's
///              posterior mean without noise, history masked, top-K (metrics/topk.hpp).
///
/// Usage (compiled in tests/models/usage_snippets_test.cpp, snippet diffrec):
///   DiffRec<> model(options, train.items());
///   Rng rng(1);
///   for (int epoch = 0; epoch < 3; ++epoch) model.trainEpoch(train, rng);
///   RowMatrix<float> scores = model.scores(train, rng);                     // [users × items]
///   auto top = model.recommend(train, users, 5, true, rng);                 // ids and scores, history filtered
///   metrics::MetricTable table = model.evaluate(train, valid, test, ks, rng);  // valid.recall@20, test.ndcg@10, …

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../memory.hpp"
#include "../data/batching.hpp"
#include "../data/interactions.hpp"
#include "../denoisers/diffrec_mlp.hpp"
#include "../diffusion/gaussian_diffusion.hpp"
#include "../diffusion/policies.hpp"
#include "../io/checkpoint.hpp"
#include "../io/hyperparameters.hpp"
#include "../metrics/metric_table.hpp"
#include "../metrics/ranking.hpp"
#include "../metrics/split_evaluation.hpp"
#include "../metrics/topk.hpp"
#include "../optim/fused_adam_update.hpp"
#include "../optim/optimizer.hpp"
#include "../random/rng.hpp"
#include "../sampling/ddpm_sampler.hpp"
#include "../sampling/folded_diffrec.hpp"
#include "../schedules/make_schedule.hpp"
#include "../timesteps/loss_second_moment_sampler.hpp"
#include "../train/diffusion_trainer.hpp"
#include "../train/trainer.hpp"
#include "diffrec_options.hpp"

namespace recdiff {

/// DiffRec with its denoiser, diffusion, timestep sampler and optimizer.
/// \tparam Parameterization PredictX0 (the reference's default, `--mean_type x0`) or PredictEpsilon.
/// \tparam Scalar float (default) or double.
template <class Parameterization = PredictX0, class Scalar = float>
class DiffRec {
 public:
  using Diffusion = GaussianDiffusion<AnySchedule, Parameterization, FixedSmallVariance, Scalar>;
  using Model = DiffRecMlp<Scalar>;
  using Sampler = LossSecondMomentSampler;
  using Optimizer = optim::FusedAdamW;
  using Matrix = RowMatrix<Scalar>;
  using ScalarType = Scalar;  ///< the score type (the model concept, docs/concepts.md#model)
  using Trainer = DiffusionTrainer<Diffusion, Model, Sampler, Optimizer>;
  static constexpr bool kPredictEpsilon = std::is_same_v<Parameterization, PredictEpsilon>;

  /// Builds the model for `items` items; parameters are initialised from Rng(seed) as the reference does.
  DiffRec(const DiffRecOptions& options, Index items, std::uint64_t seed = 1)
      : options_(validated(options, items)),
        diffusion_(makeSchedule(options.schedule), options.steps),
        initRng_(seed, 0x1A17),
        model_(modelOptions(options, items), initRng_),
        sampler_(options.steps, options.lossHistory, options.uniformMix),
        optimizer_({.learningRate = options.learningRate, .weightDecay = options.weightDecay}),
        trainer_(diffusion_, model_, sampler_, optimizer_,
                 {.reweight = options.reweight, .coefficientPrecision = options.coefficientPrecision}) {}

  DiffRec(const DiffRec&) = delete;
  DiffRec& operator=(const DiffRec&) = delete;

  const DiffRecOptions& options() const noexcept { return options_; }
  Index items() const noexcept { return model_.items(); }
  const Diffusion& diffusion() const noexcept { return diffusion_; }
  Model& model() noexcept { return model_; }
  const Model& model() const noexcept { return model_; }
  Sampler& timestepSampler() noexcept { return sampler_; }
  Optimizer& optimizer() noexcept { return optimizer_; }
  Trainer& trainer() noexcept { return trainer_; }

  /// One pass over all users of `train` in shuffled batches of options().batchSize (the order and every
  /// random number come from `rng`), through the Trainer. Stops at the first non-finite batch, which is not
  /// applied. `epoch` (1-based) is what the callbacks' endBatch hooks see.
  template <class... Callbacks>
  EpochResult trainEpoch(const data::Interactions& train, Rng& rng, Index maxBatches = 0, Index epoch = 1,
                         Callbacks&... callbacks) {
    requireItems(train, "DiffRec::trainEpoch()");
    if (batcherData_ != &train || !batcher_) {
      batcher_.emplace(train, options_.batchSize);
      batcherData_ = &train;
    }
    batcher_->startEpoch(rng);
    model_.setTraining(true);
    struct Source {
      DiffRec* self;
      Index batches() const { return self->batcher_->batches(); }
      const Matrix& batch(Index b) const { return self->asScalar(self->batcher_->rows(b)); }
    } source{this};
    return trainer_.loop().epoch(source, rng, epoch, maxBatches, callbacks...);
  }

  /// Trains options.epochs epochs (epoch e from Rng(options.seed, options.stream).fork(e)) with the callbacks of
  /// train/callbacks.hpp (early stopping, keep-best, CSV log, progress bar, …); see train::fit().
  template <class... Callbacks>
  [[nodiscard]] TrainResult fit(const data::Interactions& train, const FitOptions& options = {},
                                Callbacks&... callbacks) {
    return train::fit(options, [&](Index e, Rng& rng, auto&... cb) {
      return trainEpoch(train, rng, options.maxBatchesPerEpoch, e, cb...);
    }, callbacks...);
  }

  /// Inference scores [users.size() × items] for the given users of `input` (their rows are the model's
  /// input, DiffRec style): samplingSteps forward steps, then every reverse step's posterior mean (plus
  /// noise only if samplingNoise). Batches of batchSize users.
  void scores(const data::Interactions& input, std::span<const Index> users, Matrix& out, Rng& rng) {
    requireItems(input, "DiffRec::scores()");
    requireMemory(denseBytes(users.size(), static_cast<std::uint64_t>(items()), sizeof(Scalar)),
                  detail::concat("DiffRec::scores(): the dense ", users.size(), " x ", items(), " scores"),
                  "score fewer users at a time (evaluate() and metrics::evaluateSplits() work in blocks)");
    out.resize(static_cast<Index>(users.size()), items());
    const auto folded = foldedReverse(static_cast<Index>(users.size()));
    for (std::size_t begin = 0; begin < users.size(); begin += static_cast<std::size_t>(options_.batchSize)) {
      const std::size_t n = std::min(users.size() - begin, static_cast<std::size_t>(options_.batchSize));
      data::denseRows(input, users.subspan(begin, n), rowsBuffer_);
      scoresWith(rowsBuffer_, batchScores_, rng, folded ? &*folded : nullptr);
      out.middleRows(static_cast<Index>(begin), static_cast<Index>(n)) = batchScores_;
    }
  }

  /// Inference scores for dense input rows [batch × items] (any interaction vectors, e.g. a new user's).
  template <class Rows>
  void scores(const Eigen::MatrixBase<Rows>& rows, Matrix& out, Rng& rng) {
    const auto folded = foldedReverse(rows.rows());
    scoresWith(rows, out, rng, folded ? &*folded : nullptr);
  }

  /// Scores of every user of `input` [users × items].
  Matrix scores(const data::Interactions& input, Rng& rng) {
    std::vector<Index> all(static_cast<std::size_t>(input.users()));
    for (Index u = 0; u < input.users(); ++u) all[static_cast<std::size_t>(u)] = u;
    Matrix out;
    scores(input, all, out, rng);
    return out;
  }

  /// The top-k items of `users` (ids and scores, best first), computed from their rows of `input`; with
  /// filterSeen the items of `input` (and of any extra masks, e.g. a validation split) are never returned.
  metrics::TopK<Scalar> recommend(const data::Interactions& input, std::span<const Index> users, Index k,
                                  bool filterSeen, Rng& rng, std::vector<const metrics::CsrMatrix*> extraMasks = {}) {
    return metrics::recommendUsers(*this, input, users, k, filterSeen, rng, extraMasks);
  }

  /// DiffRec's evaluation protocol, with one inference pass per user serving both splits: the scores come
  /// from each user's `train` row; validation ranks with train items excluded and is scored against `valid`,
  /// test ranks with train and valid items excluded and is scored against `test`. Keys are
  /// `valid.recall@20`, `test.ndcg@10`, ... (metrics::MetricTable). `average` chooses the denominator
  /// (DiffRec: all users, users without held-out items counting 0).
  metrics::MetricTable evaluate(const data::Interactions& train, const data::Interactions& valid,
                                const data::Interactions& test, std::span<const Index> ks, Rng& rng,
                                metrics::UserAverage average = metrics::UserAverage::AllUsers) {
    RECDIFF_REQUIRE(!ks.empty(), "DiffRec::evaluate(): no cut-offs");
    requireItems(train, "DiffRec::evaluate()");
    RECDIFF_REQUIRE(valid.users() == train.users() && test.users() == train.users() && valid.items() == train.items() &&
                        test.items() == train.items(),
                    "DiffRec::evaluate(): train, valid and test must share one [users × items] shape");
    const Index k = *std::max_element(ks.begin(), ks.end());
    const Index users = train.users();
    metrics::IdMatrix validIds(users, k), testIds(users, k);
    std::vector<Index> batchUsers;
    Matrix s;
    metrics::TopK<Scalar> top;
    const auto folded = foldedReverse(users);
    for (Index first = 0; first < users; first += options_.batchSize) {
      const Index n = std::min(options_.batchSize, users - first);
      batchUsers.resize(static_cast<std::size_t>(n));
      for (Index r = 0; r < n; ++r) batchUsers[static_cast<std::size_t>(r)] = first + r;
      data::denseRows(train, batchUsers, rowsBuffer_);
      scoresWith(rowsBuffer_, s, rng, folded ? &*folded : nullptr);
      metrics::topK(s, k, top, {.exclude = {&train.matrix()}, .users = batchUsers});
      validIds.middleRows(first, n) = top.ids;
      metrics::topK(s, k, top, {.exclude = {&train.matrix(), &valid.matrix()}, .users = batchUsers});
      testIds.middleRows(first, n) = top.ids;
    }
    metrics::MetricTable table;
    table.add("valid", metrics::evaluateSets(validIds, valid.matrix(), ks, {.average = average}));
    table.add("test", metrics::evaluateSets(testIds, test.matrix(), ks, {.average = average}));
    return table;
  }

  /// Every checkpointed option as text (DiffRecOptions::fields), plus the item count and the mean type: the
  /// checkpoint header keeps them; optionsFromHyperparameters() inverts.
  std::map<std::string, std::string> hyperparameters() const {
    auto h = io::fieldsToText(options_);
    h["items"] = std::to_string(items());
    h["mean_type"] = kPredictEpsilon ? "eps" : "x0";
    return h;
  }

  /// Everything training continues from (train/training_state.hpp): the parameters, the optimizer's moments and
  /// counters, the timestep sampler's loss history and the dropout stream; through a state archive
  /// (io/state_archive.hpp), which saves or loads.
  template <class Archive>
  void serializeState(Archive& ar) {
    ar("parameters", model_.parameters().values());
    ar("denoiser", model_);
    ar("optimizer", optimizer_);
    ar("timestep_sampler", sampler_);
  }

  /// Writes the parameters and hyperparameters atomically (io/checkpoint.hpp), model type "DiffRec".
  void save(const std::filesystem::path& file) const {
    io::saveCheckpoint(file, model_.parameters(), {"DiffRec", model_.parameterShapes(), hyperparameters()});
  }

  /// Loads parameters saved by save() from a model of the same shape; throws recdiff::DataError (file, problem)
  /// and leaves the model untouched on a bad, truncated or mismatched file. The optimizer moments and the
  /// timestep sampler's loss history are not part of a checkpoint: training resumes with fresh ones.
  void load(const std::filesystem::path& file) {
    io::loadCheckpoint(file, model_.parameters(), "DiffRec", model_.parameterShapes());
  }

  /// The options and item count recorded in a checkpoint's hyperparameters; throws std::invalid_argument naming
  /// the entry on a missing, malformed or unknown one. Checkpoints written before `training_precision` and the
  /// schedule's clip and list entries were recorded read as float training and unset parameters.
  static std::pair<DiffRecOptions, Index> optionsFromHyperparameters(const std::map<std::string, std::string>& h) {
    const std::string who = "DiffRec::optionsFromHyperparameters()";
    const DiffRecOptions o = io::fieldsFromText<DiffRecOptions>(h, who, {"items", "mean_type"});
    const io::HyperparameterReader r(h, who);
    r.oneOf("mean_type", "x0", "eps");
    return {o, r.count("items")};
  }

 private:
  static DiffRecOptions validated(const DiffRecOptions& o, Index items) {
    RECDIFF_REQUIRE(items > 0, "DiffRec: items must be positive, got ", items);
    RECDIFF_REQUIRE(o.batchSize > 0, "DiffRec: batchSize must be positive, got ", o.batchSize);
    RECDIFF_REQUIRE(o.steps > 0, "DiffRec: steps must be positive, got ", o.steps);
    RECDIFF_REQUIRE(o.samplingSteps >= 0 && o.samplingSteps <= o.steps, "DiffRec: samplingSteps = ", o.samplingSteps,
                    " must lie in [0, steps = ", o.steps, "]");
    return o;
  }

  static DiffRecMlpOptions modelOptions(const DiffRecOptions& o, Index items) {
    DiffRecMlpOptions m;
    m.items = items;
    m.dims = o.dims;
    m.timeEmbeddingSize = o.timeEmbeddingSize;
    m.dropout = o.dropout;
    m.normalizeInput = o.normalizeInput;
    m.trainingPrecision = o.trainingPrecision;
    return m;
  }

  void requireItems(const data::Interactions& x, const char* who) const {
    RECDIFF_REQUIRE(x.items() == items(), who, ": the data has ", x.items(), " items but the model was built for ",
                    items());
  }

  using Folded = DiffRecFoldedReverse<Diffusion>;
  using FoldedSampler = DdpmSampler<Diffusion, Folded>;

  /// The folded reverse loop for `rows` rows of inference, when options allow it and it pays (see Folding).
  std::optional<FoldedSampler> foldedReverse(Index rows) {
    using F = DiffRecOptions::Folding;
    const bool applies = !options_.normalizeInput && !options_.samplingNoise;
    RECDIFF_REQUIRE(applies || options_.foldedReverse != F::kAlways, "DiffRec: foldedReverse = kAlways needs "
                    "normalizeInput and samplingNoise off (the folded loop is linear and noiseless)");
    if (options_.foldedReverse == F::kNever || !applies) return std::nullopt;
    if (options_.foldedReverse == F::kAuto && !Folded::worthIt(model_, rows, options_.steps)) return std::nullopt;
    return std::optional<FoldedSampler>(std::in_place, diffusion_, DdpmOptions{.addNoise = false},
                                        Folded(model_, diffusion_));
  }

  /// samplingSteps forward steps from `rows`, then the reverse loop (DiffRec runs all T reverse steps whatever
  /// the number of forward steps, its p_sample): folded when `folded` is given, else step by step.
  template <class Rows>
  void scoresWith(const Eigen::MatrixBase<Rows>& rows, Matrix& out, Rng& rng, const FoldedSampler* folded) {
    RECDIFF_REQUIRE(rows.cols() == items(), "DiffRec::scores(): rows have ", rows.cols(), " columns, expected ", items());
    model_.setTraining(false);
    if (folded != nullptr) {
      folded->sampleFromInput(model_, NoCondition{}, rows, options_.samplingSteps, rng, out);
    } else {
      const DdpmSampler<Diffusion> reverse(diffusion_, {.addNoise = options_.samplingNoise});
      reverse.sampleFromInput(model_, NoCondition{}, rows, options_.samplingSteps, rng, out);
    }
  }

  /// The batcher's float rows as this model's Scalar (a no-op view for float).
  const Matrix& asScalar(const RowMatrix<float>& rows) {
    if constexpr (std::is_same_v<Scalar, float>) {
      return rows;
    } else {
      converted_ = rows.template cast<Scalar>();
      return converted_;
    }
  }

  DiffRecOptions options_;
  Diffusion diffusion_;
  Rng initRng_;
  Model model_;
  Sampler sampler_;
  Optimizer optimizer_;
  Trainer trainer_;
  const data::Interactions* batcherData_ = nullptr;
  std::optional<data::UserBatcher> batcher_;
  Matrix converted_;
  RowMatrix<float> rowsBuffer_;
  Matrix batchScores_;
};

}  // namespace recdiff

#endif  // RECDIFF_MODELS_DIFFREC_HPP
