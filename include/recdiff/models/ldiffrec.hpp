#ifndef RECDIFF_MODELS_LDIFFREC_HPP
#define RECDIFF_MODELS_LDIFFREC_HPP

/// \file ldiffrec.hpp
/// L-DiffRec (Wang et al., SIGIR 2023, Sec. 3.4; the authors' `L-DiffRec/main.py`): DiffRec's diffusion and
/// denoiser run over the concatenated latents of an item-cluster autoencoder (nn/autoencoder.hpp) instead of
/// over the item row. One training step, exactly the reference's composition:
///   z0, target, KL  = AE.encode(x)                 (dropout 0.1; reparameterised when variational)
///   elbo            = mean_i loss_i                (DiffRec's reweighted x0 loss on z0, /(T p_t))
///   logits          = AE.decode(pred_x0)           (pred_x0 = the denoiser's output)
///   vae             = multinomial(logits, target) + anneal · KL
///   loss            = λ · elbo + vae               (reweight on)   or   elbo + λ · vae   (reweight off)
///   λ      = max((1 − epochsDone / annealSteps) · lamda, annealCap)     (annealSteps = 0: max(lamda, cap))
///   anneal = min(vaeAnnealCap, updates / vaeAnnealSteps)                (vaeAnnealSteps = 0: the cap)
/// with the gradient through every path (into the denoiser from both terms, into the encoder through z0 as the
/// target and through z_t = √ᾱ z0 + √(1−ᾱ) ε), and two AdamW optimizers: (lr1, wd1) for the autoencoder,
/// (lr2, wd2) for the denoiser. The reference's L-DiffRec diffusion does NOT fix β_0 to 1e-5 (beta_fixed=False),
/// so the default schedule here has no firstBeta. Only x0 prediction (the reference's preset) is provided.
/// Inference: z = μ (no dropout, no sampling), samplingSteps forward steps (0: none), every reverse step's
/// posterior mean, decode to item logits, history masked, top-K.
///
/// Clusters: labels from cluster::kmeans on item embeddings (DiffRec's `item_emb.npy`, or without one the
/// truncated-SVD embeddings of cluster/svd_embeddings.hpp), see clusterItems(); 1 cluster = no clustering.
/// Checkpoints: save() / load() keep both parameter sets and the cluster labels; clusterLabels(info, file)
/// reads the labels back from a checkpoint header to rebuild the model.
///
/// Usage (compiled in tests/models/usage_snippets_test.cpp, snippet ldiffrec):
///   const Eigen::ArrayXi labels = clusterItems(itemEmbeddings, 2, rng);
///   LDiffRec<> model(options, labels, 1);
///   model.trainEpoch(train, rng);
///   auto table = model.evaluate(train, valid, test, ks, rng);

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "../cluster/kmeans.hpp"
#include "../data/batching.hpp"
#include "../data/interactions.hpp"
#include "../denoisers/diffrec_mlp.hpp"
#include "../diffusion/gaussian_diffusion.hpp"
#include "../diffusion/losses.hpp"
#include "../diffusion/policies.hpp"
#include "../io/checkpoint.hpp"
#include "../metrics/metric_table.hpp"
#include "../metrics/split_evaluation.hpp"
#include "../metrics/ranking.hpp"
#include "../metrics/topk.hpp"
#include "../nn/autoencoder.hpp"
#include "../optim/optimizer.hpp"
#include "../random/rng.hpp"
#include "../sampling/ddpm_sampler.hpp"
#include "../schedules/make_schedule.hpp"
#include "../timesteps/loss_second_moment_sampler.hpp"
#include "../train/trainer.hpp"
#include "diffrec.hpp"
#include "ldiffrec_options.hpp"

namespace recdiff {

/// Item cluster labels for L-DiffRec: k-means (5 restarts, k-means++) on `embeddings` [items × dim] with the
/// generator `rng`; clusters = 1 gives every item label 0 (no clustering, as the reference's n_cate = 1).
template <class Derived>
Eigen::ArrayXi clusterItems(const Eigen::MatrixBase<Derived>& embeddings, Index clusters, const Rng& rng) {
  RECDIFF_REQUIRE(clusters >= 1, "clusterItems(): clusters must be positive, got ", clusters);
  if (clusters == 1) return Eigen::ArrayXi::Zero(embeddings.rows());
  return cluster::kmeans(embeddings, {.clusters = clusters, .restarts = 5}, rng).labels;
}

/// L-DiffRec with its autoencoder, denoiser, diffusion, timestep sampler and two optimizers.
template <class Scalar = float>
class LDiffRec {
 public:
  using Diffusion = GaussianDiffusion<AnySchedule, PredictX0, FixedSmallVariance, Scalar>;
  using Model = DiffRecMlp<Scalar>;
  using Autoencoder = nn::ItemAutoencoder<Scalar>;
  using Matrix = RowMatrix<Scalar>;
  using ScalarType = Scalar;  ///< the score type (the model concept, docs/concepts.md#model)

  LDiffRec(const LDiffRecOptions& options, const Eigen::ArrayXi& labels, std::uint64_t seed = 1)
      : options_(validated(options)),
        labels_(labels),
        diffusion_(makeSchedule(options.schedule), options.steps),
        initRng_(seed, 0x1D1F),
        ae_({.items = labels.size(), .inDims = options.inDims, .outDims = options.outDims,
             .variational = options.variational, .dropout = options.aeDropout},
            labels, initRng_),
        model_(modelOptions(options, ae_.latentSize()), initRng_),
        sampler_(options.steps, options.lossHistory, options.uniformMix),
        aeOptimizer_({.learningRate = options.lr1, .weightDecay = options.wd1}),
        modelOptimizer_({.learningRate = options.lr2, .weightDecay = options.wd2}) {}

  LDiffRec(const LDiffRec&) = delete;
  LDiffRec& operator=(const LDiffRec&) = delete;

  const LDiffRecOptions& options() const noexcept { return options_; }
  Index items() const noexcept { return ae_.items(); }
  /// The item cluster labels the model was built with.
  const Eigen::ArrayXi& clusterLabels() const noexcept { return labels_; }
  Autoencoder& autoencoder() noexcept { return ae_; }
  Model& model() noexcept { return model_; }
  const Diffusion& diffusion() const noexcept { return diffusion_; }
  /// Autoencoder plus denoiser scalars.
  Index parameterCount() const { return ae_.parameters().size() + model_.parameters().size(); }

  /// The current λ and KL weight (they depend on the epochs and batches trained so far).
  double currentLamda() const {
    const double o = options_.annealSteps > 0
                         ? (1.0 - static_cast<double>(epochsDone_) / static_cast<double>(options_.annealSteps)) * options_.lamda
                         : options_.lamda;
    return std::max(o, options_.annealCap);
  }
  double currentKlWeight() const {
    return options_.vaeAnnealSteps > 0
               ? std::min(options_.vaeAnnealCap, static_cast<double>(updates_) / static_cast<double>(options_.vaeAnnealSteps))
               : options_.vaeAnnealCap;
  }

  /// The joint loss of one batch x [batch × items] for given timesteps, importance weights and latent noise
  /// [batch × latent]; the autoencoder's dropout mask and ε come from `aeRng`. Leaves the gradient in both
  /// parameter buffers (zeroed first). Exposed for gradient checks; trainEpoch() uses it.
  double lossAndGradient(const Matrix& x, const Eigen::ArrayXi& t, const ArrayX<Scalar>& importance, const Matrix& noise,
                         Rng& aeRng, double lamda, double klWeight) {
    ae_.encode(x, aeRng, z0_);
    RECDIFF_REQUIRE(noise.rows() == z0_.rows() && noise.cols() == z0_.cols(), "LDiffRec::lossAndGradient(): noise shape");
    diffusion_.qSample(z0_, t, noise, zt_);
    model_.forward(zt_, t, NoCondition{}, out_);
    diffusionLoss(diffusion_, z0_, zt_, zt_, t, out_, importance, options_.reweight, loss_);
    const double elbo = static_cast<double>(loss_.loss.mean());
    ae_.decode(out_, logits_);
    const double rec = nn::multinomialLoss<Scalar>(logits_, ae_.target(), &dLogits_);
    const double vae = rec + klWeight * ae_.kl();
    const double wElbo = options_.reweight ? lamda : 1.0, wVae = options_.reweight ? 1.0 : lamda;
    ae_.parameters().zeroGrad();
    model_.parameters().zeroGrad();
    if (wVae != 1.0) dLogits_ *= static_cast<Scalar>(wVae);
    ae_.backwardDecode(dLogits_, &dOut_);
    // dOut_ = d(wVae·rec)/d out; plus the diffusion term
    dOut_ += static_cast<Scalar>(wElbo) * loss_.dOut;
    model_.backward(dOut_, &dZt_);
    // d/dz0: the x0 target (∂/∂z0 of (z0 − out)² = −∂/∂out) and z_t = √ᾱ z0 + ...
    dZ0_ = static_cast<Scalar>(-wElbo) * loss_.dOut;
    for (Index i = 0; i < t.size(); ++i) dZ0_.row(i) += diffusion_.sqrtAlphaBar()(t(i)) * dZt_.row(i);
    // KL enters with weight wVae · klWeight; the rest of dZ0 already carries its weights
    ae_.backwardEncode(dZ0_, wVae * klWeight);
    return wElbo * elbo + wVae * vae;
  }

  /// L-DiffRec's objective for the Trainer (autoencoder + diffusion loss over both parameter buffers): per
  /// batch the timesteps, the latent noise, then the autoencoder's dropout and ε from the step's rng; λ of the
  /// current epoch and the KL weight of the current update. afterStep feeds the timestep sampler, endEpoch
  /// advances λ's annealing.
  class Objective {
   public:
    using Batch = RowMatrix<float>;  ///< the batcher's dense interaction rows
    explicit Objective(LDiffRec& m) : m_(&m) {}
    double lossAndGradient(const Batch& rows, Rng& rng) {
      LDiffRec& m = *m_;
      m.xBatch_ = rows.template cast<Scalar>();
      m.tb_ = m.sampler_.template sample<Scalar>(m.xBatch_.rows(), rng);
      m.noise_.resize(m.xBatch_.rows(), m.ae_.latentSize());
      rng.fillNormal(m.noise_);
      const double loss = m.lossAndGradient(m.xBatch_, m.tb_.t, m.tb_.weights, m.noise_, rng, m.currentLamda(),
                                            m.currentKlWeight());
      ++m.updates_;
      return loss;
    }
    train::ParameterGroup<Scalar, 2> parameters() { return {{&m_->ae_.parameters(), &m_->model_.parameters()}}; }
    void afterStep(const Batch& /*rows*/) { m_->sampler_.update(m_->tb_.t, m_->loss_.weighted); }
    void endEpoch() { ++m_->epochsDone_; }

   private:
    LDiffRec* m_;
  };

  /// One pass over all users of `train` in shuffled batches (every random number from `rng`) through the
  /// Trainer: the autoencoder's AdamW(lr1, wd1), then the denoiser's AdamW(lr2, wd2).
  template <class... Callbacks>
  EpochResult trainEpoch(const data::Interactions& train, Rng& rng, Index maxBatches = 0, Index epoch = 1,
                         Callbacks&... callbacks) {
    RECDIFF_REQUIRE(train.items() == items(), "LDiffRec::trainEpoch(): the data has ", train.items(),
                    " items but the model was built for ", items());
    if (batcherData_ != &train || !batcher_) {
      batcher_.emplace(train, options_.batchSize);
      batcherData_ = &train;
    }
    batcher_->startEpoch(rng);
    ae_.setTraining(true);
    model_.setTraining(true);
    struct Source {
      data::UserBatcher* batcher;
      Index batches() const { return batcher->batches(); }
      const RowMatrix<float>& batch(Index b) const { return batcher->rows(b); }
    } source{&*batcher_};
    Objective objective(*this);
    train::OptimizerGroup<optim::AdamW, optim::AdamW> optimizers(aeOptimizer_, modelOptimizer_);
    train::Trainer<Objective, decltype(optimizers)> trainer(objective, optimizers);
    return trainer.epoch(source, rng, epoch, maxBatches, callbacks...);
  }

  /// Trains options.epochs epochs with callbacks (train/callbacks.hpp); see DiffRec::fit() and train::fit().
  template <class... Callbacks>
  [[nodiscard]] TrainResult fit(const data::Interactions& train, const FitOptions& options = {},
                                Callbacks&... callbacks) {
    return train::fit(options, [&](Index e, Rng& rng, auto&... cb) {
      return trainEpoch(train, rng, options.maxBatchesPerEpoch, e, cb...);
    }, callbacks...);
  }

  /// Item scores [batch × items] for dense rows: encode to μ, the reverse diffusion, decode.
  template <class Rows>
  void scores(const Eigen::MatrixBase<Rows>& rows, Matrix& out, Rng& rng) {
    RECDIFF_REQUIRE(rows.cols() == items(), "LDiffRec::scores(): rows have ", rows.cols(), " columns, expected ", items());
    ae_.setTraining(false);
    model_.setTraining(false);
    ae_.encode(rows, rng, z0_);
    const DdpmSampler<Diffusion> reverse(diffusion_, {.addNoise = options_.samplingNoise});
    if (options_.samplingSteps == 0) {
      reverse.run(model_, NoCondition{}, z0_, rng);
      ae_.decode(z0_, out);
    } else {
      zt_ = reverse.sampleFromInput(model_, NoCondition{}, z0_, options_.samplingSteps, rng);
      ae_.decode(zt_, out);
    }
  }

  /// Scores [users.size() × items] for the given users from their rows of `input` (one batch).
  void scores(const data::Interactions& input, std::span<const Index> users, Matrix& out, Rng& rng) {
    data::denseRows(input, users, rowsBuffer_);
    scores(rowsBuffer_, out, rng);
  }

  /// The top-k items of `users` (ids and scores, best first); with filterSeen the items of `input` (and of any
  /// extra masks) are never returned.
  metrics::TopK<Scalar> recommend(const data::Interactions& input, std::span<const Index> users, Index k,
                                  bool filterSeen, Rng& rng, std::vector<const metrics::CsrMatrix*> extraMasks = {}) {
    return metrics::recommendUsers(*this, input, users, k, filterSeen, rng, extraMasks);
  }

  /// DiffRec's protocol (metrics::evaluateSplits in batches of batchSize users): scores from each user's train
  /// row, validation masks train, test masks train and valid.
  metrics::MetricTable evaluate(const data::Interactions& train, const data::Interactions& valid,
                                const data::Interactions& test, std::span<const Index> ks, Rng& rng,
                                metrics::UserAverage average = metrics::UserAverage::AllUsers) {
    RECDIFF_REQUIRE(train.items() == items(), "LDiffRec::evaluate(): the data has ", train.items(),
                    " items but the model was built for ", items());
    return metrics::evaluateSplits(*this, train, valid, test, ks, rng, {.average = average, .batch = options_.batchSize});
  }

  /// Everything training continues from (train/training_state.hpp): the parameters, both optimizers' moments and
  /// counters, the annealing counters, the timestep sampler's loss history and the dropout stream; through a state archive
  /// (io/state_archive.hpp), which saves or loads.
  template <class Archive>
  void serializeState(Archive& ar) {
    ar("autoencoder.parameters", ae_.parameters().values());
    ar("denoiser.parameters", model_.parameters().values());
    ar("denoiser", model_);
    ar("autoencoder.optimizer", aeOptimizer_);
    ar("denoiser.optimizer", modelOptimizer_);
    ar("timestep_sampler", sampler_);
    ar("epochs_done", epochsDone_);
    ar("updates", updates_);
  }

  /// Every checkpointed option as text (LDiffRecOptions::fields), plus the item count, the mean type and the
  /// item cluster labels ("item_clusters", comma separated): what a checkpoint records to rebuild the model (see
  /// clusterLabels(const io::CheckpointInfo&) and optionsFromHyperparameters()).
  std::map<std::string, std::string> hyperparameters() const {
    auto h = io::fieldsToText(options_);
    std::string labels;
    for (Index i = 0; i < labels_.size(); ++i) {
      if (i > 0) labels += ',';
      labels += std::to_string(labels_(i));
    }
    h["items"] = std::to_string(items());
    h["item_clusters"] = labels;
    h["mean_type"] = "x0";
    return h;
  }

  /// The options recorded in a checkpoint's hyperparameters (the labels: clusterLabels()); throws
  /// std::invalid_argument naming the entry on a missing, malformed or unknown one.
  static LDiffRecOptions optionsFromHyperparameters(const std::map<std::string, std::string>& h) {
    return io::fieldsFromText<LDiffRecOptions>(h, "LDiffRec::optionsFromHyperparameters()",
                                               {"items", "item_clusters", "mean_type"});
  }

  /// Named tensors of the checkpoint: the autoencoder's (prefixed "ae.") then the denoiser's ("mlp.").
  std::vector<nn::ParameterShape> parameterShapes() const {
    std::vector<nn::ParameterShape> shapes;
    for (auto s : ae_.parameterShapes()) shapes.push_back({"ae." + s.name, s.dims});
    for (auto s : model_.parameterShapes()) shapes.push_back({"mlp." + s.name, s.dims});
    return shapes;
  }

  /// Writes both parameter sets (autoencoder first) and hyperparameters() atomically, model type "LDiffRec".
  /// Optimizer moments, the timestep sampler's history and the annealing counters are not saved.
  void save(const std::filesystem::path& file) const {
    nn::ParameterBuffer<Scalar> all(parameterCount());
    all.values() << ae_.parameters().values(), model_.parameters().values();
    io::saveCheckpoint(file, all, {"LDiffRec", parameterShapes(), hyperparameters()});
  }

  /// Loads a checkpoint written by save() for a model of the same shapes and the same item clusters; throws
  /// recdiff::DataError (file, problem) and leaves the model untouched on a bad, truncated or mismatched file.
  void load(const std::filesystem::path& file) {
    nn::ParameterBuffer<Scalar> all(parameterCount());
    const io::CheckpointInfo info = io::loadCheckpoint(file, all, "LDiffRec", parameterShapes());
    const auto it = info.hyperparameters.find("item_clusters");
    if (it == info.hyperparameters.end() || it->second != hyperparameters().at("item_clusters"))
      throw DataError(file.string(), 0, "checkpoint was trained with other item clusters than this model's");
    const Index nAe = ae_.parameters().size();
    ae_.parameters().values() = all.values().head(nAe);
    model_.parameters().values() = all.values().tail(all.size() - nAe);
  }

  /// The item cluster labels recorded in a checkpoint's header (io::readCheckpointInfo()), to rebuild the model
  /// that load() accepts; throws recdiff::DataError when the entry is missing or malformed.
  static Eigen::ArrayXi clusterLabels(const io::CheckpointInfo& info, const std::string& file) {
    const auto it = info.hyperparameters.find("item_clusters");
    if (info.modelType != "LDiffRec" || it == info.hyperparameters.end())
      throw DataError(file, 0, "not an LDiffRec checkpoint with item_clusters");
    std::vector<int> labels;
    std::size_t at = 0;
    const std::string& text = it->second;
    while (at <= text.size()) {
      const std::size_t end = std::min(text.find(',', at), text.size());
      try {
        std::size_t used = 0;
        const int v = std::stoi(text.substr(at, end - at), &used);
        if (used != end - at || v < 0) throw std::invalid_argument("label");
        labels.push_back(v);
      } catch (const std::exception&) {
        throw DataError(file, 0, "malformed item_clusters entry near position " + std::to_string(at));
      }
      at = end + 1;
    }
    return Eigen::Map<const Eigen::ArrayXi>(labels.data(), static_cast<Index>(labels.size()));
  }

 private:
  static LDiffRecOptions validated(const LDiffRecOptions& o) {
    RECDIFF_REQUIRE(o.batchSize > 0 && o.steps > 0, "LDiffRec: batchSize and steps must be positive");
    RECDIFF_REQUIRE(o.samplingSteps >= 0 && o.samplingSteps <= o.steps, "LDiffRec: samplingSteps = ", o.samplingSteps,
                    " must lie in [0, steps = ", o.steps, "]");
    RECDIFF_REQUIRE(o.lamda >= 0.0 && o.annealSteps >= 0 && o.vaeAnnealSteps >= 0, "LDiffRec: negative annealing option");
    return o;
  }
  static DiffRecMlpOptions modelOptions(const LDiffRecOptions& o, Index latent) {
    DiffRecMlpOptions m;
    m.items = latent;
    m.dims = o.mlpDims;
    m.timeEmbeddingSize = o.timeEmbeddingSize;
    m.dropout = o.dropout;
    m.normalizeInput = o.normalizeInput;
    return m;
  }

  LDiffRecOptions options_;
  Eigen::ArrayXi labels_;
  Diffusion diffusion_;
  Rng initRng_;
  Autoencoder ae_;
  Model model_;
  LossSecondMomentSampler sampler_;
  optim::AdamW aeOptimizer_, modelOptimizer_;
  Index epochsDone_ = 0, updates_ = 0;
  const data::Interactions* batcherData_ = nullptr;
  std::optional<data::UserBatcher> batcher_;
  Matrix xBatch_, noise_, z0_, zt_, out_, logits_, dLogits_, dOut_, dZt_, dZ0_;
  RowMatrix<float> rowsBuffer_;  ///< dense input rows of scores(input, users, ...)
  DiffusionLoss<Scalar> loss_;
  TimestepBatch<Scalar> tb_;
};

}  // namespace recdiff

#endif  // RECDIFF_MODELS_LDIFFREC_HPP
