#ifndef RECDIFF_TRAIN_DIFFUSION_TRAINER_HPP
#define RECDIFF_TRAIN_DIFFUSION_TRAINER_HPP

/// \file diffusion_trainer.hpp
/// The Gaussian-diffusion objective with an MSE loss (DiffRec's `training_losses`,
/// Wang et al. 2023, Eqs. 11–13): draw t and importance weights from the timestep sampler, noise x0 with
/// the fused kernel (ε generated in place), run the denoiser, compute the reweighted loss divided by the
/// importance probability, back-propagate, take the optimizer step, and feed (t, reweighted loss) to the
/// sampler's optional update hook.
///
/// Divergence is a status, not an exception (STYLE.md 4.4): a non-finite loss or gradient skips the update
/// and the step reports `finite = false`, leaving the parameters as they were.
///
/// MseDiffusionObjective is the train::Objective; DiffusionTrainer composes it with an optimizer in a
/// train::Trainer (one step at a time, or trainer.loop().epoch(...)).
///
/// Usage:
///   DiffusionTrainer trainer(diffusion, model, sampler, optimizer, {.reweight = true});
///   const StepResult r = trainer.step(x0, NoCondition{}, rng);   // x0: [batch × dim]

#include <cmath>
#include <functional>
#include <utility>
#include <type_traits>

#include <Eigen/Core>

#include "../concepts.hpp"
#include "../diffusion/losses.hpp"
#include "../error.hpp"
#include "../random/rng.hpp"
#include "../simd/kernels.hpp"
#include "../types.hpp"
#include "trainer.hpp"

namespace recdiff {

/// Options of DiffusionTrainer.
struct DiffusionTrainerOptions {
  bool reweight = true;  ///< DiffRec's ELBO reweighting (reweightX0 / reweightEpsilon in losses.hpp)
  /// The q_sample coefficients (in lossAndGradient with given noise) and the eps likelihood term's: exact, or
  /// rounded to float32 as DiffRec does (parity tests only).
  CoefficientPrecision coefficientPrecision = CoefficientPrecision::kDouble;
};

/// What one training step did.
struct StepResult {
  double loss = 0.0;    ///< mean over the batch of reweight · loss / (T p_t) (DiffRec's `loss.mean()`)
  bool finite = true;   ///< false when the loss or a gradient was NaN or infinite: no update was applied
};

/// DiffRec's MSE diffusion objective over rows x0 [batch × dim] (a train::Objective, trainer.hpp): t and the
/// importance weights from the timestep sampler, the fused noising, the denoiser, the reweighted loss divided by
/// the importance probability, back-propagation into model.parameters(); afterStep() feeds (t, reweighted loss)
/// to the sampler's optional update hook.
/// \tparam Diffusion a GaussianDiffusion (tables, coefficients, reweighting).
/// \tparam Model     a Denoiser (concepts.hpp): forward, backward, parameters().
/// \tparam Sampler   a TimestepSampler; its update(t, losses) hook is called when present.
template <class Diffusion, class Model, class Sampler>
class MseDiffusionObjective {
  static_assert(isDenoiser<Model>,
                "MseDiffusionObjective: Model must satisfy Denoiser (see docs/concepts.md#denoiser)");
  static_assert(isTimestepSampler<Sampler>,
                "MseDiffusionObjective: Sampler must satisfy TimestepSampler (see docs/concepts.md#timestepsampler)");

 public:
  using Scalar = typename Model::Scalar;
  using Matrix = RowMatrix<Scalar>;
  using Condition = typename Model::Condition;
  using Batch = Matrix;  ///< x0 rows; the condition of a batch step is Condition{} (DiffRec: NoCondition)
  static_assert(std::is_same_v<Scalar, typename Diffusion::ScalarType>,
                "MseDiffusionObjective: the model and the diffusion must use the same Scalar");
  static constexpr bool kPredictEpsilon =
      std::is_same_v<typename Diffusion::ParameterizationType, PredictEpsilon>;

  MseDiffusionObjective(const Diffusion& diffusion, Model& model, Sampler& sampler, DiffusionTrainerOptions options = {})
      : diffusion_(&diffusion), model_(&model), sampler_(&sampler), options_(options) {}

  /// The batch step of the Trainer: timesteps, then one noise reservation from `rng`, then the loss and the
  /// gradient (zeroed first) with Condition{}.
  double lossAndGradient(const Matrix& x0, Rng& rng) {
    RECDIFF_REQUIRE(x0.rows() > 0, "MseDiffusionObjective::lossAndGradient(): empty batch");
    drawTimesteps(*sampler_, x0.rows(), rng, timesteps_);
    const random::NoiseAddress at = rng.reserveNoise<Scalar>(static_cast<std::uint64_t>(x0.size()));
    if (ranks_ == 1) return lossAndGradient(x0, timesteps_.t, timesteps_.weights, at, Condition{});
    // Data parallel: the whole batch's timesteps and noise reservation (as above), this process's rows of them.
    const train::RowShard shard = train::rowShard(x0.rows(), rank_, ranks_);
    shardX0_ = x0.middleRows(shard.begin, shard.rows());
    shardT_ = timesteps_.t.segment(shard.begin, shard.rows());
    shardWeights_ = timesteps_.weights.segment(shard.begin, shard.rows());
    if constexpr (requires { model_->setRowShard(shard.begin, x0.rows()); })
      model_->setRowShard(shard.begin, x0.rows());
    return noisedLoss(shardX0_, shardT_, shardWeights_, at,
                      static_cast<std::uint64_t>(shard.begin) * static_cast<std::uint64_t>(x0.cols()), Condition{});
  }

  /// Data-parallel training (recdiff/distributed/data_parallel.hpp calls it): this process computes rows
  /// train::rowShard(batch rows, rank, ranks) of every batch, with exactly the random numbers (timesteps,
  /// noise, the model's dropout when it has setRowShard) that the single process draws for them; its loss and
  /// gradient are those rows' mean. `gather` fills every row's reweighted loss (rank order) from each
  /// process's into `all` (sized to the batch), so that the sampler's update sees the whole batch on every
  /// process. ranks = 1: no sharding.
  using LossGather = std::function<void(const ArrayX<Scalar>& mine, ArrayX<Scalar>& all)>;
  void setShard(Index rank, Index ranks, LossGather gather) {
    RECDIFF_REQUIRE(ranks > 0 && rank >= 0 && rank < ranks, "MseDiffusionObjective::setShard(): rank ", rank,
                    " of ", ranks);
    RECDIFF_REQUIRE(ranks == 1 || gather, "MseDiffusionObjective::setShard(): no loss gather for ", ranks,
                    " processes");
    rank_ = rank;
    ranks_ = ranks;
    gather_ = std::move(gather);
  }

  /// Loss and parameter gradient of one batch for given t, importance weights and noise address (the gradient
  /// is accumulated into model.parameters().grads() after zeroing it). Tests finite-difference it.
  double lossAndGradient(const Matrix& x0, const Eigen::ArrayXi& t, const ArrayX<Scalar>& importanceWeights,
                         const random::NoiseAddress& noiseAt, const Condition& condition) {
    return noisedLoss(x0, t, importanceWeights, noiseAt, 0, condition);
  }
  /// As above with the noise given explicitly ([batch × dim]; e.g. a reference implementation's draw).
  template <class Noise>
  double lossAndGradient(const Matrix& x0, const Eigen::ArrayXi& t, const ArrayX<Scalar>& importanceWeights,
                         const Eigen::MatrixBase<Noise>& noise, const Condition& condition) {
    if (options_.coefficientPrecision == CoefficientPrecision::kReferenceFloat32) {
      // DiffRec's q_sample reads sqrt(alphaBar_t), sqrt(1 - alphaBar_t) through _extract_into_tensor(...).float().
      diffusion_->checkTimesteps(t, x0.rows(), "DiffusionTrainer::lossAndGradient");
      RECDIFF_REQUIRE(noise.rows() == x0.rows() && noise.cols() == x0.cols(),
                      "DiffusionTrainer::lossAndGradient(): noise and x0 disagree on shape");
      xt_.resize(x0.rows(), x0.cols());
      for (Index b = 0; b < x0.rows(); ++b)
        xt_.row(b) = static_cast<Scalar>(static_cast<float>(diffusion_->sqrtAlphaBar()(t(b)))) * x0.row(b) +
                     static_cast<Scalar>(static_cast<float>(diffusion_->sqrtOneMinusAlphaBar()(t(b)))) *
                         noise.row(b).template cast<Scalar>();
    } else {
      diffusion_->qSample(x0, t, noise, xt_);
    }
    return finish(x0, t, importanceWeights, noise, condition);
  }

  /// After an applied update: the sampler's update(t, reweighted losses) hook, when it has one (data parallel:
  /// the whole batch's losses, gathered from every process).
  void afterStep(const Matrix& /*x0*/) {
    if constexpr (hasUpdateHook<Sampler, Scalar>) {
      if (ranks_ == 1) {
        sampler_->update(timesteps_.t, loss_.weighted);
      } else {
        gathered_.resize(timesteps_.t.size());
        gather_(loss_.weighted, gathered_);
        sampler_->update(timesteps_.t, gathered_);
      }
    }
  }

  nn::ParameterBuffer<Scalar>& parameters() { return model_->parameters(); }
  /// The denoiser's output for the last batch [batch × dim].
  const Matrix& lastOutput() const noexcept { return out_; }
  /// The noised input of the last batch [batch × dim].
  const Matrix& lastNoisedInput() const noexcept { return xt_; }
  /// Per-example losses of the last batch (reweighted, before and after the importance correction).
  const DiffusionLoss<Scalar>& lastLoss() const noexcept { return loss_; }
  const DiffusionTrainerOptions& options() const noexcept { return options_; }

 private:
  /// The fused noising of x0 (row r reads elements firstElement + r·cols … of the draw at noiseAt), then finish().
  double noisedLoss(const Matrix& x0, const Eigen::ArrayXi& t, const ArrayX<Scalar>& importanceWeights,
                    const random::NoiseAddress& noiseAt, std::uint64_t firstElement, const Condition& condition) {
    RECDIFF_REQUIRE(t.size() == x0.rows(), "DiffusionTrainer::lossAndGradient(): x0 has ", x0.rows(),
                    " rows but t has ", t.size(), " entries");
    diffusion_->checkTimesteps(t, x0.rows(), "DiffusionTrainer::lossAndGradient");
    a_.resize(t.size());
    b_.resize(t.size());
    for (Index i = 0; i < t.size(); ++i) {
      a_(i) = diffusion_->sqrtAlphaBar()(t(i));
      b_(i) = diffusion_->sqrtOneMinusAlphaBar()(t(i));
    }
    xt_.resize(x0.rows(), x0.cols());
    if constexpr (kPredictEpsilon) {
      noise_.resize(x0.rows(), x0.cols());
      simd::forwardNoise<Scalar>(noiseAt, x0.rows(), x0.cols(), x0.data(), x0.outerStride(), a_.data(), b_.data(),
                                 xt_.data(), xt_.outerStride(), noise_.data(), noise_.outerStride(), firstElement);
    } else {
      simd::forwardNoise<Scalar>(noiseAt, x0.rows(), x0.cols(), x0.data(), x0.outerStride(), a_.data(), b_.data(),
                                 xt_.data(), xt_.outerStride(), nullptr, 0, firstElement);
    }
    // For x0 prediction the loss never reads the noise: xt stands in for it.
    return finish(x0, t, importanceWeights, kPredictEpsilon ? noise_ : xt_, condition);
  }

  /// Denoiser forward on xt_, the loss and its gradient, backward into zeroed parameter gradients.
  template <class Noise>
  double finish(const Matrix& x0, const Eigen::ArrayXi& t, const ArrayX<Scalar>& importanceWeights,
                const Eigen::MatrixBase<Noise>& noise, const Condition& condition) {
    model_->forward(xt_, t, condition, out_);
    diffusionLoss(*diffusion_, x0, xt_, noise, t, out_, importanceWeights, options_.reweight, loss_,
                  options_.coefficientPrecision);
    model_->parameters().zeroGrad();
    model_->backward(loss_.dOut, nullptr);
    return static_cast<double>(loss_.loss.mean());
  }

  const Diffusion* diffusion_;
  Model* model_;
  Sampler* sampler_;
  DiffusionTrainerOptions options_;
  ArrayX<Scalar> a_, b_;
  Matrix xt_, noise_, out_;
  DiffusionLoss<Scalar> loss_;
  TimestepBatch<Scalar> timesteps_;
  Index rank_ = 0, ranks_ = 1;  ///< data-parallel row shard (setShard)
  LossGather gather_;
  Matrix shardX0_;
  Eigen::ArrayXi shardT_;
  ArrayX<Scalar> shardWeights_, gathered_;
};

/// The MSE objective composed with an optimizer through train::Trainer: what DiffRec trains with.
/// step() is one Trainer step; the objective's entry points are forwarded for tests.
template <class Diffusion, class Model, class Sampler, class Optimizer>
class DiffusionTrainer {
 public:
  using Objective = MseDiffusionObjective<Diffusion, Model, Sampler>;
  using Scalar = typename Objective::Scalar;
  using Matrix = typename Objective::Matrix;
  using Condition = typename Objective::Condition;
  using Loop = train::Trainer<Objective, Optimizer>;

  DiffusionTrainer(const Diffusion& diffusion, Model& model, Sampler& sampler, Optimizer& optimizer,
                   DiffusionTrainerOptions options = {})
      : objective_(diffusion, model, sampler, options), loop_(objective_, optimizer) {}
  DiffusionTrainer(const DiffusionTrainer&) = delete;
  DiffusionTrainer& operator=(const DiffusionTrainer&) = delete;

  /// One training step on x0 [batch × dim] with randomness from `rng` (timesteps, then one noise draw). Only
  /// Condition{} is supported by the batch step (DiffRec's NoCondition).
  StepResult step(const Matrix& x0, const Condition& /*condition*/, Rng& rng) {
    RECDIFF_REQUIRE(x0.rows() > 0, "DiffusionTrainer::step(): empty batch");
    StepResult result;
    result.loss = loop_.step(x0, rng, result.finite);
    return result;
  }

  double lossAndGradient(const Matrix& x0, const Eigen::ArrayXi& t, const ArrayX<Scalar>& importanceWeights,
                         const random::NoiseAddress& noiseAt, const Condition& condition) {
    return objective_.lossAndGradient(x0, t, importanceWeights, noiseAt, condition);
  }
  template <class Noise>
  double lossAndGradient(const Matrix& x0, const Eigen::ArrayXi& t, const ArrayX<Scalar>& importanceWeights,
                         const Eigen::MatrixBase<Noise>& noise, const Condition& condition) {
    return objective_.lossAndGradient(x0, t, importanceWeights, noise, condition);
  }

  Objective& objective() noexcept { return objective_; }
  Loop& loop() noexcept { return loop_; }
  const Matrix& lastOutput() const noexcept { return objective_.lastOutput(); }
  const Matrix& lastNoisedInput() const noexcept { return objective_.lastNoisedInput(); }
  const DiffusionLoss<Scalar>& lastLoss() const noexcept { return objective_.lastLoss(); }
  const DiffusionTrainerOptions& options() const noexcept { return objective_.options(); }

 private:
  Objective objective_;
  Loop loop_;
};

}  // namespace recdiff

#endif  // RECDIFF_TRAIN_DIFFUSION_TRAINER_HPP
