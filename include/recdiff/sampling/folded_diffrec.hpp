#ifndef RECDIFF_SAMPLING_FOLDED_DIFFREC_HPP
#define RECDIFF_SAMPLING_FOLDED_DIFFREC_HPP

/// \file folded_diffrec.hpp
/// DiffRec's noiseless reverse loop computed in the MLP's hidden space: a fast path of DdpmSampler
/// (sampling/ddpm_sampler.hpp) for DiffRecMlp, which only provides its layers.
///
/// DiffRec's inference (the authors' `p_sample` with `sampling_noise = False`) repeats, for t = T−1 … 0,
///   out_t = W_L h_t + b_L                                  (the MLP's last layer is linear)
///   x_{t−1} = α_t · out_t + β_t · x_t                       (the posterior mean; linear in out_t and x_t)
/// where h_t is the last hidden layer computed from x_t, whose first layer only sees x_t through W_x x_t
/// (W_1 = [W_x | W_e]). For x0-prediction α_t, β_t are the posterior-mean coefficients; for ε-prediction
/// x̂0 = r_t x_t − s_t ε̂ gives α_t = −coef1_t s_t and β_t = coef1_t r_t + coef2_t. So, with z_t = W_x x_t,
///   z_{t−1} = α_t · (W_x W_L) h_t + α_t · W_x b_L + β_t · z_t,
/// and the item-space result is kept as x = p · x_start + W_L g + c · b_L with
///   g ← α_t h_t + β_t g,   c ← α_t + β_t c,   p ← β_t p     (g = 0, c = 0, p = 1 at the start).
/// One reverse step then costs a [rows × d_{L−1}] · [d_{L−1} × d_1] product (M = W_x W_L, formed once) plus the
/// hidden layers, instead of the two [rows × items]-wide products of the first and last layers; the items-wide
/// products remain only at the start (z = W_x x_start) and at the end (W_L g). On ml-1m_clean ([200, 600],
/// 2,810 items, 40 steps) that is 6× fewer multiply-adds. The result equals the step-by-step loop in exact
/// arithmetic; in floating point the sums are associated differently (tested against DdpmSampler to 1e-10 in
/// double, and against the authors' `p_sample` outputs through DiffRec::scores in tests/models).
///
/// Applies to evaluation mode only (no dropout), without input normalisation (`--norm` divides x_t by its
/// norm, which is not linear) and without reverse noise (σ_t ε would need W_x ε, an items-wide product per step).
/// Rows are processed in fixed tiles of kTileRows, independently and in parallel, so the result does not
/// depend on the thread count.
///
/// Usage:
///   DiffRecFoldedReverse<Diffusion> folded(model, diffusion);   // forms M; rebuild after the weights change
///   DdpmSampler sampler(diffusion, {.addNoise = false}, std::move(folded));
///   sampler.run(model, NoCondition{}, x, rng);                  // x: x_t in, the final posterior mean out
///   // or, without the sampler: folded.run(x, diffusion.steps() - 1);

#include <algorithm>
#include <type_traits>

#include <Eigen/Core>

#include "../denoisers/diffrec_mlp.hpp"
#include "../denoisers/time_embedding.hpp"
#include "../diffusion/policies.hpp"
#include "../error.hpp"
#include "../nn/gemm.hpp"
#include "../parallel.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "ddpm_sampler.hpp"

namespace recdiff {

/// The folded reverse loop of DiffRecMlp over a GaussianDiffusion (see the file comment).
/// \tparam Diffusion a GaussianDiffusion (possibly respaced) with the model's Scalar.
template <class Diffusion>
class DiffRecFoldedReverse {
 public:
  using Scalar = typename Diffusion::ScalarType;
  using Matrix = RowMatrix<Scalar>;
  using Model = DiffRecMlp<Scalar>;

  /// Rows per tile: a tile's hidden activations stay in cache through all steps.
  static constexpr Index kTileRows = 64;

  /// Whether folding pays for `rows` rows over `steps` steps: forming M costs 2·d_1·items·d_{L−1} flops and
  /// each row-step saves about 2·items·(d_1 + d_{L−1}) of them.
  static bool worthIt(const Model& model, Index rows, Index steps) {
    const auto& o = model.options();
    const double d1 = static_cast<double>(o.dims.back()), dl = d1;  // the mirrored stack: d_1 = d_{L-1}
    const double items = static_cast<double>(o.items);
    return static_cast<double>(rows) * static_cast<double>(steps) * 2.0 * items * (d1 + dl) > 2.0 * d1 * items * dl;
  }

  /// Forms M = W_x W_L (in double, then rounded to Scalar), W_x b_L and the per-step tables. The model must not
  /// change while this object is used.
  DiffRecFoldedReverse(Model& model, const Diffusion& diffusion) : model_(&model), diffusion_(&diffusion) {
    RECDIFF_REQUIRE(!model.options().normalizeInput,
                    "DiffRecFoldedReverse: the input normalisation (--norm) is not linear; use the step-by-step loop");
    const Index items = model.items(), layers = static_cast<Index>(model.layerCount());
    RECDIFF_REQUIRE(layers >= 2, "DiffRecFoldedReverse: the MLP needs at least two layers, has ", layers);
    auto& first = model.layer(0);
    auto& last = model.layer(static_cast<std::size_t>(layers - 1));
    const auto w1 = first.weight();  // [d1 × (items + emb)]
    const auto wL = last.weight();   // [items × dL]
    const auto bL = last.bias();     // [1 × items]
    const auto wx = w1.leftCols(items);
    const auto we = w1.rightCols(model.options().timeEmbeddingSize);
    const Eigen::MatrixXd m = wx.template cast<double>() * wL.template cast<double>();  // [d1 × dL]
    mT_ = m.transpose().template cast<Scalar>();                                          // [dL × d1]
    const Eigen::RowVectorXd v = bL.template cast<double>() * wx.transpose().template cast<double>();
    wxBias_ = v.template cast<Scalar>();
    wxT_ = wx.transpose();  // [items × d1]
    wLT_ = wL.transpose();  // [dL × items]
    bL_ = bL.row(0);

    // Per-step first-layer offsets W_e e_t + b_1 and mean coefficients α_t, β_t.
    const Index steps = diffusion.steps();
    const auto& map = diffusion.timestepMap();
    Eigen::ArrayXi modelT(steps);
    for (Index s = 0; s < steps; ++s) modelT(s) = map(s);
    TimeEmbeddingOptions embOptions = diffRecTimeEmbedding();
    embOptions.float32Arithmetic = model.options().float32TimeEmbedding;
    Matrix sinusoid, timeEmb;
    sinusoidalTimestepEmbedding(modelT, model.options().timeEmbeddingSize, sinusoid, embOptions);
    model.timeEmbeddingLayer().apply(sinusoid, timeEmb);
    stepOffset_.resize(steps, first.outputSize());
    nn::gemm(stepOffset_, timeEmb, we.transpose());
    stepOffset_.rowwise() += first.bias().row(0);
    alpha_.resize(steps);
    beta_.resize(steps);
    const auto& c1 = diffusion.posteriorMeanCoef1();
    const auto& c2 = diffusion.posteriorMeanCoef2();
    for (Index s = 0; s < steps; ++s) {
      if constexpr (std::is_same_v<typename Diffusion::ParameterizationType, PredictEpsilon>) {
        alpha_(s) = -c1(s) * diffusion.sqrtRecipAlphaBarMinusOne()(s);
        beta_(s) = c1(s) * diffusion.sqrtRecipAlphaBar()(s) + c2(s);
      } else {
        alpha_(s) = c1(s);
        beta_(s) = c2(s);
      }
    }
  }

  /// The DdpmSampler path hook: the model must be the one this object was built from; the loop is noiseless
  /// and unguided, so options must say so (addNoise off or a NoNoiseVariance diffusion, guidance 0). Draws
  /// nothing from rng, as StepByStep draws nothing without noise.
  template <class D>
  void run(const Diffusion& diffusion, const DdpmOptions& options, D& denoiser, const NoCondition&, Matrix& x, Rng&,
           Index fromStep) const {
    static_assert(std::is_same_v<D, Model>, "DiffRecFoldedReverse: the fast path of DiffRecMlp only");
    RECDIFF_REQUIRE(&denoiser == model_ && &diffusion == diffusion_,
                    "DiffRecFoldedReverse::run(): built for another model or diffusion");
    RECDIFF_REQUIRE(options.guidance == 0.0, "DiffRecFoldedReverse::run(): no guidance in DiffRec");
    constexpr bool kNoiseless = std::is_same_v<typename Diffusion::VarianceType, NoNoiseVariance>;
    RECDIFF_REQUIRE(!options.addNoise || kNoiseless,
                    "DiffRecFoldedReverse::run(): the folded loop is noiseless; set addNoise = false");
    run(x, fromStep);
  }

  /// Reverse steps fromStep … 0 on x ([rows × items], x_t on entry) in place, without noise: x becomes the
  /// last posterior mean, as DdpmSampler::run with addNoise = false would leave it.
  void run(Matrix& x, Index fromStep) const {
    const Index items = model_->items();
    RECDIFF_REQUIRE(x.cols() == items, "DiffRecFoldedReverse::run(): x has ", x.cols(), " columns, expected ", items);
    RECDIFF_REQUIRE(fromStep >= 0 && fromStep < diffusion_->steps(), "DiffRecFoldedReverse::run(): fromStep = ",
                    fromStep, " is outside [0, ", diffusion_->steps(), ")");
    const Index tiles = (x.rows() + kTileRows - 1) / kTileRows;
    parallelFor(tiles, tiles > 1, [&](Index tile) {
      const Index r = tile * kTileRows, n = std::min(kTileRows, x.rows() - r);
      runTile(x.middleRows(r, n), fromStep);
    });
  }

 private:
  template <class Rows>
  void runTile(Rows&& x, Index fromStep) const {
    const Index n = x.rows(), layers = static_cast<Index>(model_->layerCount());
    const Index d1 = mT_.cols(), dl = mT_.rows();
    Matrix z(n, d1), h, next, g = Matrix::Zero(n, dl);
    z.noalias() = x * wxT_;  // single-threaded: tiles already run in parallel
    Scalar c = 0, p = 1;
    for (Index s = fromStep; s >= 0; --s) {
      // Hidden layers: h_1 = tanh(z + W_e e_t + b_1), h_k = tanh(W_k h_{k−1} + b_k) for k < L.
      h = (z.rowwise() + stepOffset_.row(s)).array().tanh().matrix();
      for (Index k = 1; k + 1 < layers; ++k) {
        auto& layer = model_->layer(static_cast<std::size_t>(k));
        const auto w = layer.weight();
        const auto bias = layer.bias();
        next.resize(n, layer.outputSize());
        next.noalias() = h * w.transpose();
        next.rowwise() += bias.row(0);
        h = next.array().tanh().matrix();
      }
      const Scalar a = alpha_(s), b = beta_(s);
      if (s > 0) {  // z for the next step (not needed after the last)
        z *= b;
        z.noalias() += a * (h * mT_);
        z.rowwise() += a * wxBias_;
      }
      g = b * g + a * h;
      c = a + b * c;
      p *= b;
    }
    x *= p;
    x.noalias() += g * wLT_;
    x.rowwise() += c * bL_;
  }

  Model* model_;
  const Diffusion* diffusion_;
  Matrix mT_, wxT_, wLT_, stepOffset_;
  Eigen::Matrix<Scalar, 1, Eigen::Dynamic> wxBias_, bL_;
  ArrayX<Scalar> alpha_, beta_;
};

}  // namespace recdiff

#endif  // RECDIFF_SAMPLING_FOLDED_DIFFREC_HPP
