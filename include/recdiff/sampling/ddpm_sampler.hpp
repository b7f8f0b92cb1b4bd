#ifndef RECDIFF_SAMPLING_DDPM_SAMPLER_HPP
#define RECDIFF_SAMPLING_DDPM_SAMPLER_HPP

/// \file ddpm_sampler.hpp
/// The DDPM reverse loop (Ho et al. 2020, Algorithm 2) over a GaussianDiffusion and any denoiser, with
/// DiffRec's start from the clean input, DreamRec's classifier-free guidance and DiffuRec's draw pattern.
/// The one home of every reverse loop: DdpmSampler<Diffusion, Path> runs the loop through a path policy,
/// StepByStep (this file: one denoiser call per step) by default, or a fast path that gives the same
/// numbers for a particular denoiser (sampling/folded_diffrec.hpp, sampling/guided_tiled.hpp). Denoisers
/// provide forward() (and the pieces a fast path needs); they run no reverse loop of their own.

#include <cmath>
#include <type_traits>
#include <utility>
#include <vector>

#include "../concepts.hpp"
#include "../diffusion/policies.hpp"
#include "../error.hpp"
#include "../parallel.hpp"
#include "../random/rng.hpp"
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
  /// Draw a noise matrix at step 0 too (and add none: sigma_0 · z is never added). On: the draw pattern of
  /// DiffRec's and DreamRec's paths here; off: DiffuRec's `reverse_p_sample`, which draws only for t > 0.
  /// Changes which numbers later calls on the same Rng see, not this call's result.
  bool noiseAtStepZero = true;
};

/// DiffuRec's reverse process (the reference's reverse_p_sample): noise at t > 0 only.
constexpr DdpmOptions diffuRecReverseOptions() noexcept { return DdpmOptions{.noiseAtStepZero = false}; }

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

/// True when a denoiser wants to know that a reverse run is under way (`beginReverse()` / `endReverse()`):
/// DiffuRec's approximator then computes its history encoding once per run instead of once per step.
template <class D>
inline constexpr bool hasReverseScope = requires(D& d) {
  d.beginReverse();
  d.endReverse();
};

/// Calls beginReverse() / endReverse() around a reverse run when the denoiser has them (RAII).
template <class D>
class ReverseScope {
 public:
  explicit ReverseScope(D& d) : d_(d) {
    if constexpr (hasReverseScope<D>) d_.beginReverse();
  }
  ~ReverseScope() {
    if constexpr (hasReverseScope<D>) d_.endReverse();
  }
  ReverseScope(const ReverseScope&) = delete;
  ReverseScope& operator=(const ReverseScope&) = delete;

 private:
  D& d_;
};

/// The default path: for t = fromStep .. 0, x0Hat-or-eps = denoiser(x_t, map(t), c) (guided if asked),
/// x_{t-1} = posterior mean + sigma_t · z. Any InferenceDenoiser.
struct StepByStep {
  template <class Diffusion, class D>
  void run(const Diffusion& diffusion, const DdpmOptions& options, D& denoiser, const typename D::Condition& condition,
           RowMatrix<typename Diffusion::ScalarType>& x, Rng& rng, Index fromStep) const {
    using Scalar = typename Diffusion::ScalarType;
    using Matrix = RowMatrix<Scalar>;
    const auto& map = diffusion.timestepMap();
    ReverseScope<D> scope(denoiser);
    // Buffers live for the whole loop: after the first step nothing here allocates (tests/alloc).
    Eigen::ArrayXi t(x.rows()), modelT(x.rows());
    Matrix out, outUncond, noise, x0Hat;
    constexpr bool kEps = std::is_same_v<typename Diffusion::ParameterizationType, PredictEpsilon>;
    const bool noisy = options.addNoise && !std::is_same_v<typename Diffusion::VarianceType, NoNoiseVariance>;
    for (Index step = fromStep; step >= 0; --step) {
      t.setConstant(static_cast<int>(step));
      modelT.setConstant(map(step));
      denoiser.forward(x, modelT, condition, out);
      if constexpr (hasUnconditionalForward<D>) {
        if (options.guidance != 0.0) {
          denoiser.forwardUnconditional(x, modelT, outUncond);
          const auto w = static_cast<Scalar>(options.guidance);
          out = (Scalar(1) + w) * out - w * outUncond;
        }
      }
      // diffusion.pSample(x, t, out, rng, x, addNoise) with reused buffers: the same draws, the same values.
      if (noisy && (step != 0 || options.noiseAtStepZero)) {
        noise.resize(x.rows(), x.cols());
        rng.fillNormal(noise);
      }
      diffusion.pMeanVariance(x, t, out, x, nullptr, kEps ? &x0Hat : nullptr);  // element-wise: in place
      if (noisy && step != 0) {
        const Scalar sigma = diffusion.reverseStd()(step);
        parallelFor(x.rows(), x.rows() > 1 && x.size() >= (Index{1} << 15),
                    [&](Index i) { x.row(i) += sigma * noise.row(i); });
      }
    }
  }
};

/// The reverse process of `Diffusion` (a GaussianDiffusion, possibly respaced) through `Path`: for
/// t = T-1 .. 0, x0Hat-or-eps = denoiser(x_t, map(t), c) (guided if asked), x_{t-1} = pSample(...). The
/// denoiser sees the original timestep map(t) of a respaced process. Keeps a reference to the diffusion,
/// which must outlive it. A Path provides `run(diffusion, options, denoiser, condition, x, rng, fromStep)`
/// and may provide `sampleFromNoise(diffusion, options, denoiser, condition, batch, dim, rng, x)` when it
/// draws x_T itself (guided tiles); every path gives StepByStep's numbers up to rounding and draws the same
/// normals in the same order.
///
/// Usage:
///   DdpmSampler sampler(diffusion, {.addNoise = false});
///   RowMatrix<float> scores = sampler.sampleFromInput(model, NoCondition{}, x0, 0, rng);   // DiffRec
///   RowMatrix<float> e = DdpmSampler(diffusion, {.guidance = 2.0}).sampleFromNoise(model, h, batch, dim, rng);
///   DdpmSampler(diffusion, {.addNoise = false}, DiffRecFoldedReverse(model, diffusion)).run(model, {}, x, rng);
template <class Diffusion, class Path = StepByStep>
class DdpmSampler {
 public:
  using Scalar = typename Diffusion::ScalarType;
  using Matrix = RowMatrix<Scalar>;

  explicit DdpmSampler(const Diffusion& diffusion, DdpmOptions options = {}, Path path = {})
      : diffusion_(&diffusion), options_(options), path_(std::move(path)) {
    RECDIFF_REQUIRE(std::isfinite(options_.guidance), "DdpmSampler: guidance must be finite, got guidance = ",
                    options_.guidance);
  }

  const DdpmOptions& options() const noexcept { return options_; }
  const Path& path() const noexcept { return path_; }

  /// Runs reverse steps fromStep, fromStep-1, .., 0 on x in place ([batch × dim]); fromStep defaults to T-1.
  template <class D>
  void run(D& denoiser, const typename D::Condition& condition, Matrix& x, Rng& rng, Index fromStep = -1) const {
    fromStep = checked<D>(fromStep);
    path_.run(*diffusion_, options_, denoiser, condition, x, rng, fromStep);
  }

  /// Replays a reverse run with given noises (golden tests against a reference's recorded draws): x holds x_T
  /// on entry; stepNoises(k) [batch × dim] is the noise of step T-1-k (the one of step 0 is never added).
  /// Always the step-by-step loop, with pSample's arithmetic.
  template <class D>
  void runWithNoise(D& denoiser, const typename D::Condition& condition, Matrix& x,
                    const std::vector<Matrix>& stepNoises) const {
    const Index steps = diffusion_->steps();
    checked<D>(steps - 1);
    RECDIFF_REQUIRE(static_cast<Index>(stepNoises.size()) == steps, "DdpmSampler::runWithNoise(): ", stepNoises.size(),
                    " step noises for ", steps, " steps");
    ReverseScope<D> scope(denoiser);
    const auto& map = diffusion_->timestepMap();
    Eigen::ArrayXi t(x.rows()), modelT(x.rows());
    Matrix out, outUncond;
    for (Index step = steps - 1; step >= 0; --step) {
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
      diffusion_->pSample(x, t, out, stepNoises[static_cast<std::size_t>(steps - 1 - step)], x, options_.addNoise);
    }
  }

  /// DDPM sampling from x_T ~ N(0, I) of shape [batch × dim] (DiffuRec, DreamRec) into x.
  template <class D>
  void sampleFromNoise(D& denoiser, const typename D::Condition& condition, Index batch, Index dim, Rng& rng,
                       Matrix& x) const {
    RECDIFF_REQUIRE(batch >= 0 && dim >= 0, "DdpmSampler::sampleFromNoise(): batch and dim must be non-negative, got ",
                    batch, " and ", dim);
    if constexpr (requires { path_.sampleFromNoise(*diffusion_, options_, denoiser, condition, batch, dim, rng, x); }) {
      checked<D>(-1);
      path_.sampleFromNoise(*diffusion_, options_, denoiser, condition, batch, dim, rng, x);
    } else {
      x.resize(batch, dim);
      rng.fillNormal(x);
      run(denoiser, condition, x, rng);
    }
  }

  /// As above, returning x.
  template <class D>
  Matrix sampleFromNoise(D& denoiser, const typename D::Condition& condition, Index batch, Index dim, Rng& rng) const {
    Matrix x;
    sampleFromNoise(denoiser, condition, batch, dim, rng, x);
    return x;
  }

  /// DiffRec's inference into x: x = x0 when forwardSteps is 0, else qSample(x0, forwardSteps - 1) with fresh
  /// noise; then the reverse loop (all steps, or from forwardSteps - 1 with reverseFromForwardStep).
  template <class D, class X0>
  void sampleFromInput(D& denoiser, const typename D::Condition& condition, const Eigen::MatrixBase<X0>& x0,
                       Index forwardSteps, Rng& rng, Matrix& x) const {
    const Index steps = diffusion_->steps();
    RECDIFF_REQUIRE(forwardSteps >= 0 && forwardSteps <= steps, "DdpmSampler::sampleFromInput(): forwardSteps = ",
                    forwardSteps, " is outside [0, ", steps, "]");
    if (forwardSteps == 0) {
      x = x0.template cast<Scalar>();
    } else {
      const Eigen::ArrayXi t = Eigen::ArrayXi::Constant(x0.rows(), static_cast<int>(forwardSteps - 1));
      diffusion_->qSample(x0, t, rng, x);
    }
    const Index from = options_.reverseFromForwardStep ? forwardSteps - 1 : steps - 1;
    if (from >= 0) run(denoiser, condition, x, rng, from);
  }

  /// As above, returning x.
  template <class D, class X0>
  Matrix sampleFromInput(D& denoiser, const typename D::Condition& condition, const Eigen::MatrixBase<X0>& x0,
                         Index forwardSteps, Rng& rng) const {
    Matrix x;
    sampleFromInput(denoiser, condition, x0, forwardSteps, rng, x);
    return x;
  }

 private:
  /// The checks every path shares; returns fromStep with -1 replaced by T-1.
  template <class D>
  Index checked(Index fromStep) const {
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
    return fromStep;
  }

  const Diffusion* diffusion_;
  DdpmOptions options_;
  Path path_;
};

}  // namespace recdiff

#endif  // RECDIFF_SAMPLING_DDPM_SAMPLER_HPP
