#ifndef RECDIFF_DENOISERS_DIFFUREC_APPROXIMATOR_HPP
#define RECDIFF_DENOISERS_DIFFUREC_APPROXIMATOR_HPP

/// \file diffurec_approximator.hpp
/// DiffuRec's approximator f(x_t, t, S) ≈ x0 (Li, Sun, Li, "Diffusion Augmentation for Sequential
/// Recommendation", TOIS 2023, Sec. 4.2 Eqs. 8–10; the authors' Att_Diffuse_model + Diffu_xstart):
///   S   = LayerNorm(Dropout_emb(E[seq]) [+ P])                 [batch·len × H], no positions by default
///   z   = x_t + MLP_SiLU(sinusoid(t · 1000/T))                 [batch × H], sinusoid [cos | sin]
///   h0  = S + Λ ⊙ z (z broadcast over the positions),  Λ ~ N(λ, λ²) element-wise, drawn at train AND eval
///   h   = Block_L(… Block_1(h0)),  pre-LN blocks, 4·H tanh-GELU FFN, LayerNorm eps 1e-12
///   x̂0 = LayerNorm(Dropout(h))[last position]                [batch × H]
/// and its training loss: x_t = q(E[target]), L = CE(x̂0 Eᵀ, target) over every row of E (padding row 0
/// included), with gradient into E through the scores, the history and the noised target.
///
/// Attention masking (nn::PaddingMask): kQueryRows reproduces the reference code, which blanks the query rows
/// of padded positions (padded keys still attend); kKeys (the default) hides padded keys. With no padding in
/// a batch both agree. Both are exposed because numbers differ; say which produced a result.
///
/// Satisfies Denoiser (docs/concepts.md#denoiser) with Condition = Sequences [batch × len] of item ids
/// (0 = padding, items 1 … items).
///
/// Beside it: diffurec_approximator_options.hpp (the options and the checkpoint tensor names they give),
/// diffurec_parity.hpp (the reference's float32 sinusoid, for float32Sinusoid).
///
/// Usage:
///   DiffuRecApproximator<float> model({.items = 3416, .hidden = 128, .blocks = 4, .steps = 32});
///   model.reset(rng);  model.setRng(rng.fork(1));
///   float loss = model.trainingLoss(diffusion, seqs, targets, t, noise);   // accumulates gradients
///   model.setTraining(false);                                              // reverse from N(0, I):
///   DdpmSampler(diffusion, diffuRecReverseOptions()).sampleFromNoise(model, seqs, seqs.rows(), 128, rng, x0Hat);

#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "../error.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "../nn/cross_entropy.hpp"
#include "../nn/dropout.hpp"
#include "../nn/embedding.hpp"
#include "../nn/feed_forward.hpp"
#include "../nn/gemm.hpp"
#include "../nn/layer_norm.hpp"
#include "../nn/parameters.hpp"
#include "../nn/transformer_block.hpp"
#include "diffurec_approximator_options.hpp"
#include "diffurec_parity.hpp"
#include "time_embedding.hpp"

namespace recdiff {

/// DiffuRec's transformer approximator; see the file comment.
template <class Scalar_>
class DiffuRecApproximator {
 public:
  using Scalar = Scalar_;
  using Matrix = RowMatrix<Scalar>;
  /// [batch × len] item ids, 0 = padding (left padding, as the reference's data).
  using Sequences = Eigen::Array<int, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Condition = Sequences;

  explicit DiffuRecApproximator(const DiffuRecApproximatorOptions& options)
      : options_(validated(options)),
        items_(options.items + 1, options.hidden),
        positions_(options.learnedPositions ? options.maxLength : 1, options.hidden),
        inputNorm_(options.hidden, options.eps),
        timeMlp_(options.hidden, 4 * options.hidden, nn::FeedForwardActivation::kSilu, 0.0),
        outputNorm_(options.hidden, options.eps),
        embeddingDropout_(options.embeddingDropout),
        outputDropout_(options.dropout) {
    blocks_.reserve(static_cast<std::size_t>(options.blocks));
    for (Index k = 0; k < options.blocks; ++k)
      blocks_.emplace_back(nn::TransformerBlockOptions{.dim = options.hidden,
                                                       .heads = options.heads,
                                                       .sequenceLength = options.maxLength,
                                                       .ffnHidden = 4 * options.hidden,
                                                       .preNorm = true,
                                                       .eps = options.eps,
                                                       .activation = nn::FeedForwardActivation::kGeluTanh,
                                                       .dropout = options.dropout,
                                                       .outputDropout = true,
                                                       .paddingMask = options.attentionMask});
    if (!blocks_.empty()) blocks_.back().setLastRowOnly(true);
    Index total = items_.parameterCount() + inputNorm_.parameterCount() + timeMlp_.parameterCount() +
                  outputNorm_.parameterCount();
    if (options_.learnedPositions) total += positions_.parameterCount();
    for (const auto& b : blocks_) total += b.parameterCount();
    params_.resize(total);
    nn::ParameterBinder<Scalar> binder(params_);
    binder.bind(items_);
    if (options_.learnedPositions) binder.bind(positions_);
    binder.bind(inputNorm_);
    binder.bind(timeMlp_);
    for (auto& b : blocks_) binder.bind(b);
    binder.bind(outputNorm_);
    setTraining(true);
  }

  const DiffuRecApproximatorOptions& options() const noexcept { return options_; }
  nn::ParameterBuffer<Scalar>& parameters() noexcept { return params_; }
  const nn::ParameterBuffer<Scalar>& parameters() const noexcept { return params_; }

  /// The layers, for inspection, checkpoints and golden tests.
  nn::Embedding<Scalar>& itemEmbedding() noexcept { return items_; }
  nn::Embedding<Scalar>& positionEmbedding() noexcept { return positions_; }
  nn::LayerNorm<Scalar>& inputNorm() noexcept { return inputNorm_; }
  nn::FeedForward<Scalar>& timeMlp() noexcept { return timeMlp_; }
  nn::TransformerBlock<Scalar>& block(Index k) { return blocks_.at(static_cast<std::size_t>(k)); }
  nn::LayerNorm<Scalar>& outputNorm() noexcept { return outputNorm_; }

  /// The parameter tensors in buffer order, named as the reference's state_dict (the Q/K/V projections fused
  /// into one [3H × H] tensor), for checkpoints.
  std::vector<nn::ParameterShape> parameterShapes() const { return diffuRecApproximatorShapes(options_); }

  /// The reference's initialisation in distribution: E, P ~ N(0, 1); LayerNorms 1 / 0; torch's default
  /// Linear init U(±1/√fan_in) for the time MLP and the Q/K/V projections and every bias; Xavier-normal for
  /// the attention output projection and both FFN weights.
  void reset(Rng& rng) {
    items_.reset(rng);
    if (options_.itemInitStd != 1.0) items_.weight() *= static_cast<Scalar>(options_.itemInitStd);
    if (options_.learnedPositions) positions_.reset(rng);
    inputNorm_.reset();
    outputNorm_.reset();
    const double h = static_cast<double>(options_.hidden);
    const auto uniform = [&rng](auto&& m, double fanIn) {
      const double bound = 1.0 / std::sqrt(fanIn);
      rng.fillUniform(m, -bound, bound);
    };
    uniform(timeMlp_.weight1(), h);
    uniform(timeMlp_.bias1(), h);
    uniform(timeMlp_.weight2(), 4 * h);
    uniform(timeMlp_.bias2(), 4 * h);
    for (auto& b : blocks_) {
      b.norm1().reset();
      b.norm2().reset();
      auto& att = b.attention();
      uniform(att.qkvWeight(), h);
      uniform(att.qkvBias(), h);
      auto wo = att.outWeight();
      rng.fillNormal(wo, 0.0, std::sqrt(2.0 / (2.0 * h)));
      uniform(att.outBias(), h);
      auto& ffn = b.feedForward();
      auto w1 = ffn.weight1();
      auto w2 = ffn.weight2();
      rng.fillNormal(w1, 0.0, std::sqrt(2.0 / (5.0 * h)));
      rng.fillNormal(w2, 0.0, std::sqrt(2.0 / (5.0 * h)));
      uniform(ffn.bias1(), h);
      uniform(ffn.bias2(), 4 * h);
    }
  }

  /// Training mode (default) turns every dropout on; evaluation mode off. Λ is drawn in both modes. The products
  /// switch to options().trainingPrecision or options().inferencePrecision.
  void setTraining(bool training) {
    training_ = training;
    sValid_ = false;
    const nn::GemmPrecision precision = training ? options_.trainingPrecision : options_.inferencePrecision;
    timeMlp_.setPrecision(precision);
    crossEntropy_.setPrecision(precision);
    for (auto& b : blocks_) b.setPrecision(precision);
    embeddingDropout_.setTraining(training);
    outputDropout_.setTraining(training);
    for (auto& b : blocks_) b.setTraining(training);
  }

  bool training() const noexcept { return training_; }

  /// Seeds the dropouts and the Λ draws from independent sub-streams of rng.
  void setRng(const Rng& rng) {
    lambdaRng_ = rng.fork(1);
    embeddingDropout_.reseed(rng.fork(2));
    outputDropout_.reseed(rng.fork(3));
    for (std::size_t k = 0; k < blocks_.size(); ++k) blocks_[k].setRng(rng.fork(100 + k));
  }

  /// x̂0 = f(x_t, t, seq), drawing Λ's standard-normal part from the model's generator.
  /// xt, out: [batch × H]; t: [batch] 0-based steps; seq: [batch × len].
  void forward(const Matrix& xt, const Eigen::ArrayXi& t, const Sequences& seq, Matrix& out) {
    lambdaNoise_.resize(seq.size(), options_.hidden);
    lambdaRng_.fillNormal(lambdaNoise_);
    forwardWithNoise(xt, t, seq, lambdaNoise_, out);
  }

  /// As forward(), with Λ = λ + λ · lambdaNoise given explicitly, lambdaNoise: [batch·len × H].
  void forwardWithNoise(const Matrix& xt, const Eigen::ArrayXi& t, const Sequences& seq, const Matrix& lambdaNoise,
                        Matrix& out) {
    const Index batch = seq.rows(), len = seq.cols(), h = options_.hidden, n = batch * len;
    RECDIFF_REQUIRE(batch > 0 && len > 0, "DiffuRecApproximator::forward(): empty sequence batch");
    RECDIFF_REQUIRE(xt.rows() == batch && xt.cols() == h, "DiffuRecApproximator::forward(): xt is ", xt.rows(), "x",
                    xt.cols(), ", expected ", batch, "x", h);
    RECDIFF_REQUIRE(t.size() == batch, "DiffuRecApproximator::forward(): ", t.size(), " timesteps for ", batch,
                    " sequences");
    RECDIFF_REQUIRE(lambdaNoise.rows() == n && lambdaNoise.cols() == h,
                    "DiffuRecApproximator::forward(): lambdaNoise is ", lambdaNoise.rows(), "x", lambdaNoise.cols(),
                    ", expected ", n, "x", h);
    RECDIFF_REQUIRE(!options_.learnedPositions || len <= options_.maxLength, "DiffuRecApproximator::forward(): ",
                    "sequences of length ", len, " exceed maxLength ", options_.maxLength);
    batch_ = batch;
    len_ = len;
    // S = LayerNorm(Dropout(E[seq]) [+ P]); inside one reverse run in evaluation mode (beginReverse()), S is computed
    // at the first step and reused at the others (same histories, same parameters, no dropout).
    const bool reuse = reverseActive_ && !training_ && sValid_ && ids_.size() == n && sPositions_ == len &&
                       (ids_ == Eigen::Map<const Eigen::ArrayXi>(seq.data(), n)).all();
    if (!reuse) {
      ids_ = Eigen::Map<const Eigen::ArrayXi>(seq.data(), n);
      items_.forward(ids_, embedded_);
      embeddingDropout_.forward(embedded_, embedded_);
      if (options_.learnedPositions) {
        positionIds_.resize(n);
        for (Index i = 0; i < n; ++i) positionIds_(i) = static_cast<int>(i % len);
        positions_.forward(positionIds_, positionRows_);
        embedded_ += positionRows_;
      }
      inputNorm_.forward(embedded_, s_);
      sValid_ = reverseActive_ && !training_;
      sPositions_ = len;
    }
    // z = x_t + MLP(sinusoid(t')).
    TimeEmbeddingOptions timeOptions;
    timeOptions.timeScale = options_.rescaleTimesteps ? 1000.0 / static_cast<double>(options_.steps) : 1.0;
    if (options_.float32Sinusoid) diffuRecReferenceSinusoid(t, h, timeOptions.timeScale, sinusoid_);
    else sinusoidalTimestepEmbedding(t, h, sinusoid_, timeOptions);
    timeMlp_.forward(sinusoid_, z_);
    z_ += xt;
    // h0 = S + Λ ⊙ z (one pass per sequence).
    lambda_.resize(n, h);
    lambda_.array() = static_cast<Scalar>(options_.lambda) * (lambdaNoise.array() + Scalar(1));
    hidden_[0].resize(n, h);
    for (Index b = 0; b < batch; ++b)
      hidden_[0].middleRows(b * len, len).array() =
          s_.middleRows(b * len, len).array() + lambda_.middleRows(b * len, len).array().rowwise() * z_.row(b).array();
    // Blocks.
    valid_ = seq > 0;
    const bool padded = !valid_.all();
    if (hidden_.size() != blocks_.size() + 1) hidden_.resize(blocks_.size() + 1);
    for (std::size_t k = 0; k < blocks_.size(); ++k) {
      blocks_[k].setSequenceLength(len);
      if (padded) blocks_[k].setPaddingMask(valid_);
      else blocks_[k].clearPaddingMask();
      blocks_[k].forward(hidden_[k], hidden_[k + 1]);
    }
    // x̂0 = LayerNorm(Dropout(h))[last]; the last block computes the last positions only.
    const Matrix& top = hidden_.back();
    if (blocks_.empty()) {
      last_.resize(batch, h);
      for (Index b = 0; b < batch; ++b) last_.row(b) = top.row(b * len + len - 1);
    } else {
      last_ = top;
    }
    outputDropout_.forward(last_, last_);
    outputNorm_.forward(last_, out);
  }

  /// Back-propagates dL/dx̂0 [batch × H]: accumulates every parameter gradient (E through the history) and,
  /// when dXt is non-null, writes dL/dx_t [batch × H].
  void backward(const Matrix& dOut, Matrix* dXt) {
    const Index batch = batch_, len = len_, h = options_.hidden, n = batch * len;
    RECDIFF_REQUIRE(dOut.rows() == batch && dOut.cols() == h, "DiffuRecApproximator::backward(): dOut is ",
                    dOut.rows(), "x", dOut.cols(), ", expected ", batch, "x", h);
    outputNorm_.backward(dOut, gLast_);
    outputDropout_.backward(gLast_, gLast_);
    // The last block takes dL/d(last rows) = gLast_; gA_ and gB_ alternate as the [n × H] gradients below it
    // (their sizes never change, so nothing is reallocated per batch).
    const Matrix* g = &gLast_;
    if (blocks_.empty()) {
      gA_.setZero(n, h);
      for (Index b = 0; b < batch; ++b) gA_.row(b * len + len - 1) = gLast_.row(b);
      g = &gA_;
    }
    for (std::size_t k = blocks_.size(); k-- > 0;) {
      Matrix& out = g == &gA_ ? gB_ : gA_;
      blocks_[k].backward(*g, out);
      g = &out;
    }
    const Matrix& dH0 = *g;
    Matrix& gS = g == &gA_ ? gB_ : gA_;
    // h0 = S + Λ ⊙ z:  dz_b = Σ_i Λ_bi ⊙ dh0_bi.
    gZ_.resize(batch, h);
    for (Index b = 0; b < batch; ++b)
      gZ_.row(b) = (lambda_.middleRows(b * len, len).array() * dH0.middleRows(b * len, len).array())
                       .colwise()
                       .sum()
                       .matrix();
    if (dXt != nullptr) *dXt = gZ_;
    timeMlp_.backward(gZ_, gSinusoid_);  // the sinusoid has no parameters; its gradient is dropped
    inputNorm_.backward(dH0, gS);
    if (options_.learnedPositions) positions_.backward(gS);
    embeddingDropout_.backward(gS, gS);
    items_.backward(gS);
  }

  /// One training loss evaluation with gradients (the reference's DiffuRec.forward + loss_diffu_ce):
  /// x_t = qSample(E[targets], t, noise), x̂0 = f(x_t, t, seq), L = CE(x̂0 Eᵀ, targets).
  /// Accumulates dL/dθ into parameters().grads() (zero them first) and returns L.
  /// \tparam Diffusion provides qSample(x0, t, noise, xt) and sqrtAlphaBar() (GaussianDiffusion).
  /// targets: [batch] item ids; t: [batch]; noise: [batch × H]; lambdaNoise: [batch·len × H] or null (drawn).
  /// rowWeights: [batch] weights w_b of the loss (1/batch) Σ_b w_b L_b (timestep importance weights), or null.
  template <class Diffusion>
  Scalar trainingLoss(const Diffusion& diffusion, const Sequences& seq, const Eigen::ArrayXi& targets,
                      const Eigen::ArrayXi& t, const Matrix& noise, const Matrix* lambdaNoise = nullptr,
                      const ArrayX<Scalar>* rowWeights = nullptr) {
    RECDIFF_REQUIRE(targets.size() == seq.rows(), "DiffuRecApproximator::trainingLoss(): ", targets.size(),
                    " targets for ", seq.rows(), " sequences");
    items_.lookup(targets, x0_);
    const auto coefficient = [this](double c) {
      return options_.float32Coefficients ? static_cast<Scalar>(static_cast<float>(c)) : static_cast<Scalar>(c);
    };
    if (options_.float32Coefficients) {
      diffusion.checkTimesteps(t, x0_.rows(), "DiffuRecApproximator::trainingLoss");
      RECDIFF_REQUIRE(noise.rows() == x0_.rows() && noise.cols() == x0_.cols(),
                      "DiffuRecApproximator::trainingLoss(): noise is ", noise.rows(), "x", noise.cols(), ", expected ",
                      x0_.rows(), "x", x0_.cols());
      xt_.resize(x0_.rows(), x0_.cols());
      for (Index b = 0; b < x0_.rows(); ++b)
        xt_.row(b) = coefficient(static_cast<double>(diffusion.sqrtAlphaBar()(t(b)))) * x0_.row(b) +
                     coefficient(static_cast<double>(diffusion.sqrtOneMinusAlphaBar()(t(b)))) * noise.row(b);
    } else {
      diffusion.qSample(x0_, t, noise, xt_);
    }
    if (lambdaNoise != nullptr) forwardWithNoise(xt_, t, seq, *lambdaNoise, x0Hat_);
    else forward(xt_, t, seq, x0Hat_);
    Scalar loss = crossEntropy_.forward(x0Hat_, items_.weight(), targets);
    if (rowWeights != nullptr) loss = (crossEntropy_.rowLosses() * *rowWeights).mean();
    crossEntropy_.backwardWeighted(gOut_, items_.weightGrad(), rowWeights);
    backward(gOut_, &gXt_);
    // x_t = sqrtAlphaBar_t · E[target] + …  ⇒  dE[target] += sqrtAlphaBar_t · dx_t.
    const auto& coef = diffusion.sqrtAlphaBar();
    for (Index b = 0; b < gXt_.rows(); ++b) gXt_.row(b) *= coefficient(static_cast<double>(coef(t(b))));
    items_.accumulate(targets, gXt_);
    return loss;
  }

  /// The unweighted cross-entropy of every row of the last trainingLoss(), [batch].
  const ArrayX<Scalar>& lastRowLosses() const noexcept { return crossEntropy_.rowLosses(); }

  /// x_t and x̂0 of the last trainingLoss(), [batch × H].
  const Matrix& lastXt() const noexcept { return xt_; }
  const Matrix& lastX0Hat() const noexcept { return x0Hat_; }

  /// The reverse-run hooks of DdpmSampler (sampling/ddpm_sampler.hpp, hasReverseScope): between them, in
  /// evaluation mode, S is computed at the first step and reused at the others (same histories, same
  /// parameters, no dropout). DiffuRec's reverse process is DdpmSampler with diffuRecReverseOptions().
  void beginReverse() noexcept {
    reverseActive_ = true;
    sValid_ = false;
  }
  void endReverse() noexcept {
    reverseActive_ = false;
    sValid_ = false;
  }

 private:
  static DiffuRecApproximatorOptions validated(const DiffuRecApproximatorOptions& o) {
    RECDIFF_REQUIRE(o.items > 0, "DiffuRecApproximator: items must be positive, got ", o.items);
    RECDIFF_REQUIRE(o.hidden > 0 && o.heads > 0 && o.hidden % o.heads == 0, "DiffuRecApproximator: hidden ", o.hidden,
                    " must be a positive multiple of heads ", o.heads);
    RECDIFF_REQUIRE(o.blocks >= 0 && o.maxLength > 0 && o.steps > 0, "DiffuRecApproximator: blocks ", o.blocks,
                    ", maxLength ", o.maxLength, " and steps ", o.steps, " must be positive");
    RECDIFF_REQUIRE(o.lambda >= 0.0, "DiffuRecApproximator: lambda must be >= 0, got ", o.lambda);
    RECDIFF_REQUIRE(o.itemInitStd > 0.0, "DiffuRecApproximator: itemInitStd must be positive, got ", o.itemInitStd);
    if (o.trainingPrecision == nn::GemmPrecision::kBf16 || o.inferencePrecision == nn::GemmPrecision::kBf16) {
      RECDIFF_REQUIRE((std::is_same_v<Scalar, float>),
                      "DiffuRecApproximator: bf16 precision needs DiffuRecApproximator<float>");
      if (!nn::bf16GemmAvailable())
        throw std::runtime_error("DiffuRecApproximator: bf16 precision is unavailable: " +
                                 nn::bf16GemmUnavailableReason());
    }
    return o;
  }

  DiffuRecApproximatorOptions options_;
  nn::ParameterBuffer<Scalar> params_;
  nn::Embedding<Scalar> items_, positions_;
  nn::LayerNorm<Scalar> inputNorm_;
  nn::FeedForward<Scalar> timeMlp_;
  std::vector<nn::TransformerBlock<Scalar>> blocks_;
  nn::LayerNorm<Scalar> outputNorm_;
  nn::Dropout<Scalar> embeddingDropout_, outputDropout_;
  nn::ItemCrossEntropy<Scalar> crossEntropy_;
  Rng lambdaRng_{0};
  bool training_ = true;
  Index batch_ = 0, len_ = 0;
  Eigen::ArrayXi ids_, positionIds_;
  nn::PositionMask valid_;
  Matrix embedded_, positionRows_, s_, sinusoid_, z_, lambda_, lambdaNoise_, last_;
  bool sValid_ = false;         ///< s_ holds S of ids_ (evaluation mode, inside a reverse run)
  bool reverseActive_ = false;  ///< between beginReverse() and endReverse()
  Index sPositions_ = 0;
  std::vector<Matrix> hidden_ = std::vector<Matrix>(1);
  Matrix gLast_, gA_, gB_, gZ_, gSinusoid_, gOut_, gXt_, x0_, xt_, x0Hat_;
};

}  // namespace recdiff

#endif  // RECDIFF_DENOISERS_DIFFUREC_APPROXIMATOR_HPP
