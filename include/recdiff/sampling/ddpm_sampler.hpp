#ifndef RECDIFF_SAMPLING_DDPM_SAMPLER_HPP
#define RECDIFF_SAMPLING_DDPM_SAMPLER_HPP

/// \file ddpm_sampler.hpp
/// The DDPM reverse loop (Ho et al. 2020, Algorithm 2) over a GaussianDiffusion and any denoiser, with
/// DiffRec's start from the clean input and DreamRec's classifier-free guidance.

#include <cmath>
#include <type_traits>
#include <utility>

#include "../concepts.hpp"
#include "../diffusion/policies.hpp"
#include "../error.hpp"
#include "../parallel.hpp"
#include "../random.hpp"
#include "../types.hpp"

namespace recdiff {

/// Options of the reverse loop.
struct DdpmOptions {
  /// Add sigma_t · noise at every step with t > 0 (DiffRec's `sampling_noise`; on in DDPM, DiffuRec and
  /// DreamRec, off in DiffRec's inference).
  bool addNoise = true;
  /// Classifier-free guidance weight w: x0Hat = (1 + w) · f(x, c) - w · f(x, ∅) (Ho & Salimans 2022;
  /// DreamRec). 0 calls the denoiser once per step; any other value needs forwardUnconditional().
  double guidance = 0.0;
  /// DiffRec runs all T reverse steps even after noising the input for only k forward steps (its p_sample);
  /// that is the default here. Set true to start the reverse loop at step k - 1 instead.
  bool reverseFromForwardStep = false;
};

/// Wraps a callable `void(const RowMatrix<S>& xt, const Eigen::ArrayXi& t, const Condition&, RowMatrix<S>& out)`
/// as an InferenceDenoiser, for oracles, tests and quick experiments.
template <class S, class F, class C = NoCondition>
class FunctionDenoiser {
 public:
  using Scalar = S;
  using Condition = C;
  explicit FunctionDenoiser(F f) : f_(std::move(f)) {}
  void forward(const RowMatrix<S>& xt, const Eigen::ArrayXi& t, const Condition& c, RowMatrix<S>& out) {
    f_(xt, t, c, out);
  }

 private:
  F f_;
};

/// FunctionDenoiser<Scalar, F, Condition>(f) with F deduced.
template <class Scalar, class Condition = NoCondition, class F>
FunctionDenoiser<Scalar, F, Condition> makeFunctionDenoiser(F f) {
  return FunctionDenoiser<Scalar, F, Condition>(std::move(f));
}

/// The reverse process of `Diffusion` (a GaussianDiffusion, possibly respaced): for t = T-1 .. 0,
/// x0Hat-or-eps = denoiser(x_t, map(t), c) (guided if asked), x_{t-1} = pSample(...). The denoiser sees the
/// original timestep map(t) of a respaced process. Keeps a reference to the diffusion, which must outlive it.
///
/// Usage:
///   DdpmSampler sampler(diffusion, {.addNoise = false});
///   RowMatrix<float> scores = sampler.sampleFromInput(model, NoCondition{}, x0, 0, rng);   // DiffRec
///   RowMatrix<float> e = DdpmSampler(diffusion, {.guidance = 2.0}).sampleFromNoise(model, h, batch, dim, rng);
template <class Diffusion>
class DdpmSampler {
 public:
  using Scalar = typename Diffusion::ScalarType;
  using Matrix = RowMatrix<Scalar>;

  explicit DdpmSampler(const Diffusion& diffusion, DdpmOptions options = {}) : diffusion_(&diffusion), options_(options) {
    RECDIFF_REQUIRE(std::isfinite(options_.guidance), "DdpmSampler: guidance must be finite, got guidance = ",
                    options_.guidance);
  }

  const DdpmOptions& options() const noexcept { return options_; }

  /// Runs reverse steps fromStep, fromStep-1, .., 0 on x in place ([batch × dim]); fromStep defaults to T-1.
  template <class D>
  void run(D& denoiser, const typename D::Condition& condition, Matrix& x, Rng& rng, Index fromStep = -1) const {
    static_assert(isInferenceDenoiser<D>,
                  "DdpmSampler: the denoiser must provide Scalar, Condition and forward(xt, t, cond, out) "
                  "(see docs/concepts.md#denoiser)");
    static_assert(std::is_same_v<typename D::Scalar, Scalar>, "DdpmSampler: denoiser and diffusion Scalar differ");
    const Index steps = diffusion_->steps();
    if (fromStep < 0) fromStep = steps - 1;
    RECDIFF_REQUIRE(fromStep < steps, "DdpmSampler::run(): fromStep = ", fromStep, " is outside [0, ", steps, ")");
    if constexpr (!hasUnconditionalForward<D>) {
      RECDIFF_REQUIRE(options_.guidance == 0.0, "DdpmSampler::run(): guidance = ", options_.guidance,
                      " needs a denoiser with forwardUnconditional(xt, t, out) (see docs/concepts.md#denoiser)");
    }
    const auto& map = diffusion_->timestepMap();
    // Buffers live for the whole loop: after the first step nothing here allocates (tests/alloc).
    Eigen::ArrayXi t(x.rows()), modelT(x.rows());
    Matrix out, outUncond, noise, x0Hat;
    constexpr bool kEps = std::is_same_v<typename Diffusion::ParameterizationType, PredictEpsilon>;
    const bool noisy = options_.addNoise && !std::is_same_v<typename Diffusion::VarianceType, NoNoiseVariance>;
    for (Index step = fromStep; step >= 0; --step) {
      t.setConstant(static_cast<int>(step));
      modelT.setConstant(map(step));
      denoiser.forward(x, modelT, condition, out);
      if constexpr (hasUnconditionalForward<D>) {
        if (options_.guidance != 0.0) {
          denoiser.forwardUnconditional(x, modelT, outUncond);
          const auto w = static_cast<Scalar>(options_.guidance);
          out = (Scalar(1) + w) * out - w * outUncond;
        }
      }
      // diffusion_->pSample(x, t, out, rng, x, addNoise) with reused buffers: the same draws, the same values.
      if (noisy) {
        noise.resize(x.rows(), x.cols());
        rng.fillNormal(noise);
      }
      diffusion_->pMeanVariance(x, t, out, x, nullptr, kEps ? &x0Hat : nullptr);  // element-wise: in place
      if (noisy && step != 0) {
        const Scalar sigma = diffusion_->reverseStd()(step);
        parallelFor(x.rows(), x.rows() > 1 && x.size() >= (Index{1} << 15),
                    [&](Index i) { x.row(i) += sigma * noise.row(i); });
      }
    }
  }

  /// DDPM sampling from x_T ~ N(0, I) of shape [batch × dim] (DiffuRec, DreamRec).
  template <class D>
  Matrix sampleFromNoise(D& denoiser, const typename D::Condition& condition, Index batch, Index dim, Rng& rng) const {
    RECDIFF_REQUIRE(batch >= 0 && dim >= 0, "DdpmSampler::sampleFromNoise(): batch and dim must be non-negative, got ",
                    batch, " and ", dim);
    Matrix x(batch, dim);
    rng.fillNormal(x);
    run(denoiser, condition, x, rng);
    return x;
  }

  /// DiffRec's inference: x = x0 when forwardSteps is 0, else qSample(x0, forwardSteps - 1) with fresh
  /// noise; then the reverse loop (all steps, or from forwardSteps - 1 with reverseFromForwardStep).
  template <class D, class X0>
  Matrix sampleFromInput(D& denoiser, const typename D::Condition& condition, const Eigen::MatrixBase<X0>& x0,
                         Index forwardSteps, Rng& rng) const {
    const Index steps = diffusion_->steps();
    RECDIFF_REQUIRE(forwardSteps >= 0 && forwardSteps <= steps, "DdpmSampler::sampleFromInput(): forwardSteps = ",
                    forwardSteps, " is outside [0, ", steps, "]");
    Matrix x;
    if (forwardSteps == 0) {
      x = x0.template cast<Scalar>();
    } else {
      const Eigen::ArrayXi t = Eigen::ArrayXi::Constant(x0.rows(), static_cast<int>(forwardSteps - 1));
      diffusion_->qSample(x0, t, rng, x);
    }
    const Index from = options_.reverseFromForwardStep ? forwardSteps - 1 : steps - 1;
    if (from >= 0) run(denoiser, condition, x, rng, from);
    return x;
  }

 private:
  const Diffusion* diffusion_;
  DdpmOptions options_;
};

}  // namespace recdiff

#endif  // RECDIFF_SAMPLING_DDPM_SAMPLER_HPP
