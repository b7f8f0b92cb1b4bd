#ifndef RECDIFF_DIFFUSION_GAUSSIAN_DIFFUSION_HPP
#define RECDIFF_DIFFUSION_GAUSSIAN_DIFFUSION_HPP

/// \file gaussian_diffusion.hpp
/// The DDPM forward and reverse process over a batch of row vectors (Ho et al. 2020).

#include <cmath>
#include <limits>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "../concepts.hpp"
#include "../error.hpp"
#include "../parallel.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "policies.hpp"
#include "respacing.hpp"
#include "schedule_tables.hpp"

namespace recdiff {

/// Gaussian diffusion: q(x_t | x_0) = N(sqrt(alphaBar_t) x_0, (1 - alphaBar_t) I) forward (Ho et al. 2020,
/// Eq. 4), and p(x_{t-1} | x_t) = N(mu~_t(x0Hat, x_t), sigma_t^2 I) reverse with mu~ the posterior mean
/// (Eq. 7) and x0Hat the denoiser's estimate of x0 (directly, or from epsilon by Eq. 15 inverted).
///
/// Immutable after construction and all methods const, so one instance can serve threads, the trainer and
/// the reverse sampler. Tables are computed in double (ScheduleTables) and the per-step coefficients stored
/// in Scalar. A batch is a row-major [batch × dim] matrix; t is an Eigen::ArrayXi [batch] of 0-based steps.
///
/// \tparam Schedule          a Schedule (docs/concepts.md#schedule): where the betas come from.
/// \tparam Parameterization  PredictX0 or PredictEpsilon: what the denoiser outputs.
/// \tparam Variance          FixedSmallVariance, FixedLargeVariance or NoNoiseVariance: sigma_t^2 in pSample.
/// \tparam Scalar            float or double: the compute type of batches.
///
/// Usage:
///   GaussianDiffusion<AnySchedule> diffusion(makeSchedule("cosine"), 1000);
///   diffusion.qSample(x0, t, noise, xt);                          // forward
///   diffusion.pSample(xt, t, modelOut, rng, xPrev);                // one reverse step
///   auto fast = diffusion.respaced("ddim50");                      // 50-step reverse process
template <class Schedule, class Parameterization = PredictX0, class Variance = FixedSmallVariance,
          class Scalar = float>
class GaussianDiffusion {
  static_assert(isSchedule<Schedule>,
                "GaussianDiffusion: Schedule must provide 'Eigen::ArrayXd betas(Index) const' (see docs/concepts.md#schedule)");
  static_assert(isParameterization<Parameterization>, "GaussianDiffusion: Parameterization must be PredictX0 or PredictEpsilon");
  static_assert(isVariancePolicy<Variance>,
                "GaussianDiffusion: Variance must be FixedSmallVariance, FixedLargeVariance or NoNoiseVariance");
  static_assert(std::is_floating_point_v<Scalar>, "GaussianDiffusion: Scalar must be float or double");

 public:
  using ScheduleType = Schedule;
  using ParameterizationType = Parameterization;
  using VarianceType = Variance;
  using ScalarType = Scalar;
  using Matrix = RowMatrix<Scalar>;  ///< [batch × dim], one example per row
  using Array = ArrayX<Scalar>;      ///< [batch] per-example values

  /// Builds the tables of `schedule.betas(steps)`; throws if steps <= 0 or a beta leaves (0, 1].
  GaussianDiffusion(Schedule schedule, Index steps) : schedule_(std::move(schedule)) {
    RECDIFF_REQUIRE(steps > 0, "GaussianDiffusion: steps must be positive, got steps = ", steps);
    const Eigen::ArrayXd betas = schedule_.betas(steps);
    RECDIFF_REQUIRE(betas.size() == steps, "GaussianDiffusion: the schedule returned ", betas.size(),
                    " betas for steps = ", steps);
    Eigen::ArrayXi identity(steps);
    for (Index i = 0; i < steps; ++i) identity(i) = static_cast<int>(i);
    init(ScheduleTables::fromBetas(betas), std::move(identity));
  }

  /// The same process over a subset of the original steps (Nichol & Dhariwal 2021, Sec. 4); the kept
  /// alphaBar values are exact and timestepMap() maps the respaced steps back to original ones.
  GaussianDiffusion respaced(const std::vector<Index>& kept) const {
    std::vector<Index> original;
    original.reserve(kept.size());
    for (const Index k : kept) {
      RECDIFF_REQUIRE(k >= 0 && k < steps(), "GaussianDiffusion::respaced(): timestep ", k, " is outside [0, ",
                      steps(), ")");
      original.push_back(timestepMap_(k));
    }
    const Respacing r = respace(tables_.alphaBar, kept);
    GaussianDiffusion out(*this);
    Eigen::ArrayXi map(r.timestepMap.size());
    for (Index k = 0; k < map.size(); ++k) map(k) = timestepMap_(r.timestepMap(k));
    out.init(ScheduleTables::fromBetas(r.betas), std::move(map));
    return out;
  }

  /// respaced(spaceTimesteps(steps(), sections)), with sections as "10,15,20" or "ddimN".
  GaussianDiffusion respaced(std::string_view sections) const { return respaced(spaceTimesteps(steps(), sections)); }

  Index steps() const noexcept { return tables_.steps(); }
  const Schedule& schedule() const noexcept { return schedule_; }
  /// The double-precision tables (of the respaced process, if respaced).
  const ScheduleTables& tables() const noexcept { return tables_; }
  /// [steps] original step of each step of this process (the identity unless respaced): what the
  /// denoiser is given as t.
  const Eigen::ArrayXi& timestepMap() const noexcept { return timestepMap_; }

  /// Throws unless every t lies in [0, steps) and there are `rows` of them. `who` names the caller: a bare
  /// method name ("qSample") reads "GaussianDiffusion::qSample()", a qualified one ("Trainer::step") as is.
  void checkTimesteps(const Eigen::Ref<const Eigen::ArrayXi>& t, Index rows, std::string_view who) const {
    const std::string_view prefix = who.find("::") == std::string_view::npos ? "GaussianDiffusion::" : "";
    RECDIFF_REQUIRE(t.size() == rows, prefix, who, "(): the batch has ", rows, " rows but t has ", t.size(), " entries");
    for (Index i = 0; i < t.size(); ++i)
      RECDIFF_REQUIRE(t(i) >= 0 && t(i) < steps(), prefix, who, "(): t[", i, "] = ", t(i), " is outside [0, ",
                      steps(), ")");
  }

  /// Forward process: xt = sqrtAlphaBar[t] · x0 + sqrtOneMinusAlphaBar[t] · noise, row i using t(i)
  /// (Ho et al. 2020, Eq. 4). x0, noise: [batch × dim]; t: [batch]; xt is resized.
  /// Like every method here it is element-wise: the output may be the same object as an input.
  template <class X0, class Noise>
  void qSample(const Eigen::MatrixBase<X0>& x0, const Eigen::Ref<const Eigen::ArrayXi>& t,
               const Eigen::MatrixBase<Noise>& noise, Matrix& xt) const {
    checkTimesteps(t, x0.rows(), "qSample");
    requireSameShape(x0, noise, "qSample", "noise");
    xt.resize(x0.rows(), x0.cols());
    parallelFor(x0.rows(), parallelWorthIt(xt.rows(), xt.cols()), [&](Index i) {
      const Scalar a = sqrtAlphaBar_(t(i)), b = sqrtOneMinusAlphaBar_(t(i));
      xt.row(i) = a * x0.row(i).template cast<Scalar>() + b * noise.row(i).template cast<Scalar>();
    });
  }

  /// Masked forward process (DiffuRec's q_sample with a mask): entries where mask is 0 keep x0, the others
  /// are noised as above. mask: [batch × dim], any scalar type.
  template <class X0, class Noise, class Mask>
  void qSample(const Eigen::MatrixBase<X0>& x0, const Eigen::Ref<const Eigen::ArrayXi>& t,
               const Eigen::MatrixBase<Noise>& noise, const Eigen::MatrixBase<Mask>& mask, Matrix& xt) const {
    checkTimesteps(t, x0.rows(), "qSample");
    requireSameShape(x0, noise, "qSample", "noise");
    requireSameShape(x0, mask, "qSample", "mask");
    xt.resize(x0.rows(), x0.cols());
    using MaskScalar = typename Mask::Scalar;
    for (Index i = 0; i < x0.rows(); ++i) {
      // The same row expression as the unmasked overload, so unmasked entries agree bit for bit.
      xt.row(i) = sqrtAlphaBar_(t(i)) * x0.row(i).template cast<Scalar>() +
                  sqrtOneMinusAlphaBar_(t(i)) * noise.row(i).template cast<Scalar>();
      for (Index j = 0; j < x0.cols(); ++j)
        if (mask(i, j) == MaskScalar(0)) xt(i, j) = static_cast<Scalar>(x0(i, j));
    }
  }

  /// Forward process with fresh noise from `rng` (written to *noiseOut when given, for eps targets).
  template <class X0>
  void qSample(const Eigen::MatrixBase<X0>& x0, const Eigen::Ref<const Eigen::ArrayXi>& t, Rng& rng, Matrix& xt,
               Matrix* noiseOut = nullptr) const {
    Matrix local;
    Matrix& noise = noiseOut != nullptr ? *noiseOut : local;
    noise.resize(x0.rows(), x0.cols());
    rng.fillNormal(noise);
    qSample(x0, t, noise, xt);
  }

  /// Posterior q(x_{t-1} | x_t, x_0) (Ho et al. 2020, Eqs. 6–7): mean = coef1[t] · x0 + coef2[t] · xt
  /// [batch × dim]; variance and clipped log variance per row [batch] when the pointers are non-null.
  template <class X0, class Xt>
  void qPosteriorMeanVariance(const Eigen::MatrixBase<X0>& x0, const Eigen::MatrixBase<Xt>& xt,
                              const Eigen::Ref<const Eigen::ArrayXi>& t, Matrix& mean, Array* variance = nullptr,
                              Array* logVariance = nullptr) const {
    checkTimesteps(t, xt.rows(), "qPosteriorMeanVariance");
    requireSameShape(xt, x0, "qPosteriorMeanVariance", "x0");
    posteriorMean(x0, xt, t, mean);
    if (variance != nullptr) *variance = gather(posteriorVariance_, t);
    if (logVariance != nullptr) *logVariance = gather(posteriorLogVarianceClipped_, t);
  }

  /// x0 from epsilon: x0 = sqrt(1/alphaBar_t) · xt - sqrt(1/alphaBar_t - 1) · eps (Ho et al. 2020, Eq. 4
  /// solved for x0).
  template <class Xt, class Eps>
  void predictX0FromEps(const Eigen::MatrixBase<Xt>& xt, const Eigen::Ref<const Eigen::ArrayXi>& t,
                        const Eigen::MatrixBase<Eps>& eps, Matrix& x0) const {
    checkTimesteps(t, xt.rows(), "predictX0FromEps");
    requireSameShape(xt, eps, "predictX0FromEps", "eps");
    x0.resize(xt.rows(), xt.cols());
    parallelFor(xt.rows(), parallelWorthIt(xt.rows(), xt.cols()), [&](Index i) {
      x0.row(i) = sqrtRecipAlphaBar_(t(i)) * xt.row(i).template cast<Scalar>() -
                  sqrtRecipAlphaBarMinusOne_(t(i)) * eps.row(i).template cast<Scalar>();
    });
  }

  /// epsilon from x0: eps = (sqrt(1/alphaBar_t) · xt - x0) / sqrt(1/alphaBar_t - 1).
  template <class Xt, class X0>
  void predictEpsFromX0(const Eigen::MatrixBase<Xt>& xt, const Eigen::Ref<const Eigen::ArrayXi>& t,
                        const Eigen::MatrixBase<X0>& x0, Matrix& eps) const {
    checkTimesteps(t, xt.rows(), "predictEpsFromX0");
    requireSameShape(xt, x0, "predictEpsFromX0", "x0");
    eps.resize(xt.rows(), xt.cols());
    for (Index i = 0; i < xt.rows(); ++i)
      eps.row(i) = (sqrtRecipAlphaBar_(t(i)) * xt.row(i).template cast<Scalar>() - x0.row(i).template cast<Scalar>()) /
                   sqrtRecipAlphaBarMinusOne_(t(i));
  }

  /// The denoiser's output turned into x0Hat, whatever the Parameterization.
  template <class Xt, class Out>
  void predictX0(const Eigen::MatrixBase<Xt>& xt, const Eigen::Ref<const Eigen::ArrayXi>& t,
                 const Eigen::MatrixBase<Out>& modelOut, Matrix& x0Hat) const {
    if constexpr (std::is_same_v<Parameterization, PredictX0>) {
      checkTimesteps(t, xt.rows(), "predictX0");
      requireSameShape(xt, modelOut, "predictX0", "modelOut");
      x0Hat = modelOut.template cast<Scalar>();
    } else {
      predictX0FromEps(xt, t, modelOut, x0Hat);
    }
  }

  /// Reverse-step distribution p(x_{t-1} | x_t) from the denoiser's output: mean [batch × dim] is the
  /// posterior mean at x0Hat; logVariance [batch] follows the Variance policy (-inf for NoNoiseVariance);
  /// x0Hat is returned when the pointer is non-null. (DiffRec's and DiffuRec's p_mean_variance.)
  template <class Xt, class Out>
  void pMeanVariance(const Eigen::MatrixBase<Xt>& xt, const Eigen::Ref<const Eigen::ArrayXi>& t,
                     const Eigen::MatrixBase<Out>& modelOut, Matrix& mean, Array* logVariance = nullptr,
                     Matrix* x0Hat = nullptr) const {
    if constexpr (std::is_same_v<Parameterization, PredictX0>) {
      if (x0Hat == nullptr) {  // no copy of the model output needed
        checkTimesteps(t, xt.rows(), "pMeanVariance");
        requireSameShape(xt, modelOut, "pMeanVariance", "modelOut");
        posteriorMean(modelOut, xt, t, mean);
        if (logVariance != nullptr) *logVariance = gather(modelLogVariance_, t);
        return;
      }
    }
    Matrix local;
    Matrix& x0 = x0Hat != nullptr ? *x0Hat : local;
    predictX0(xt, t, modelOut, x0);
    posteriorMean(x0, xt, t, mean);
    if (logVariance != nullptr) *logVariance = gather(modelLogVariance_, t);
  }

  /// One reverse step with given noise [batch × dim]: out = mean + [t != 0] · sigma_t · noise
  /// (Ho et al. 2020, Algorithm 2, line 4). With addNoise false, or NoNoiseVariance, out = mean.
  template <class Xt, class Out, class Noise>
  void pSample(const Eigen::MatrixBase<Xt>& xt, const Eigen::Ref<const Eigen::ArrayXi>& t,
               const Eigen::MatrixBase<Out>& modelOut, const Eigen::MatrixBase<Noise>& noise, Matrix& out,
               bool addNoise = true) const {
    requireSameShape(xt, noise, "pSample", "noise");
    pMeanVariance(xt, t, modelOut, out);
    if (!addNoise || std::is_same_v<Variance, NoNoiseVariance>) return;
    parallelFor(out.rows(), parallelWorthIt(xt.rows(), xt.cols()), [&](Index i) {
      if (t(i) != 0) out.row(i) += modelStd_(t(i)) * noise.row(i).template cast<Scalar>();
    });
  }

  /// One reverse step drawing its noise from `rng` (only when it is used).
  template <class Xt, class Out>
  void pSample(const Eigen::MatrixBase<Xt>& xt, const Eigen::Ref<const Eigen::ArrayXi>& t,
               const Eigen::MatrixBase<Out>& modelOut, Rng& rng, Matrix& out, bool addNoise = true) const {
    if (!addNoise || std::is_same_v<Variance, NoNoiseVariance>) {
      pMeanVariance(xt, t, modelOut, out);
      return;
    }
    Matrix noise(xt.rows(), xt.cols());
    rng.fillNormal(noise);
    pSample(xt, t, modelOut, noise, out, true);
  }

  /// Signal-to-noise ratio alphaBar_t / (1 - alphaBar_t) per row, in double [batch].
  Eigen::ArrayXd snr(const Eigen::Ref<const Eigen::ArrayXi>& t) const {
    checkTimesteps(t, t.size(), "snr");
    Eigen::ArrayXd out(t.size());
    for (Index i = 0; i < t.size(); ++i) out(i) = tables_.snr(t(i));
    return out;
  }

  /// Per-step reverse standard deviation sigma_t [steps] in Scalar (0 for NoNoiseVariance).
  const Array& reverseStd() const noexcept { return modelStd_; }
  /// Per-step coefficients in Scalar [steps]: sqrt(alphaBar_t) and sqrt(1 - alphaBar_t).
  const Array& sqrtAlphaBar() const noexcept { return sqrtAlphaBar_; }
  const Array& sqrtOneMinusAlphaBar() const noexcept { return sqrtOneMinusAlphaBar_; }
  /// Per-step coefficients in Scalar [steps] of x0 = sqrt(1/alphaBar_t) · xt - sqrt(1/alphaBar_t - 1) · eps.
  const Array& sqrtRecipAlphaBar() const noexcept { return sqrtRecipAlphaBar_; }
  const Array& sqrtRecipAlphaBarMinusOne() const noexcept { return sqrtRecipAlphaBarMinusOne_; }
  /// Posterior mean coefficients in Scalar [steps] (multiplying x0 and xt).
  const Array& posteriorMeanCoef1() const noexcept { return posteriorCoef1_; }
  const Array& posteriorMeanCoef2() const noexcept { return posteriorCoef2_; }

 private:
  void init(ScheduleTables tables, Eigen::ArrayXi timestepMap) {
    tables_ = std::move(tables);
    timestepMap_ = std::move(timestepMap);
    sqrtAlphaBar_ = tables_.sqrtAlphaBar.template cast<Scalar>();
    sqrtOneMinusAlphaBar_ = tables_.sqrtOneMinusAlphaBar.template cast<Scalar>();
    sqrtRecipAlphaBar_ = tables_.sqrtRecipAlphaBar.template cast<Scalar>();
    sqrtRecipAlphaBarMinusOne_ = tables_.sqrtRecipAlphaBarMinusOne.template cast<Scalar>();
    posteriorCoef1_ = tables_.posteriorMeanCoef1.template cast<Scalar>();
    posteriorCoef2_ = tables_.posteriorMeanCoef2.template cast<Scalar>();
    posteriorVariance_ = tables_.posteriorVariance.template cast<Scalar>();
    posteriorLogVarianceClipped_ = tables_.posteriorLogVarianceClipped.template cast<Scalar>();
    Eigen::ArrayXd logVar;
    if constexpr (std::is_same_v<Variance, FixedSmallVariance>) {
      logVar = tables_.posteriorLogVarianceClipped;
    } else if constexpr (std::is_same_v<Variance, FixedLargeVariance>) {
      logVar = tables_.fixedLargeLogVariance;
    } else {
      logVar = Eigen::ArrayXd::Constant(steps(), -std::numeric_limits<double>::infinity());
    }
    modelLogVariance_ = logVar.template cast<Scalar>();
    modelStd_ = logVar.unaryExpr([](double v) { return std::exp(0.5 * v); }).template cast<Scalar>();
  }

  /// Row loops go parallel (OpenMP, when compiled in) only from 4M elements (16 MB of float) up: these loops
  /// are memory-bound, so below that the fork and barrier cost more than a second core gains, and on a
  /// shared, oversubscribed machine a parallel region can be many times slower than the serial loop.
  static bool parallelWorthIt(Index rows, Index cols) noexcept { return rows > 1 && rows * cols >= (Index(1) << 22); }

  template <class A, class B>
  static void requireSameShape(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b, std::string_view who,
                               std::string_view what) {
    RECDIFF_REQUIRE(a.rows() == b.rows() && a.cols() == b.cols(), "GaussianDiffusion::", who, "(): ", what, " is [",
                    b.rows(), " × ", b.cols(), "] but the batch is [", a.rows(), " × ", a.cols(), "]");
  }

  static Array gather(const Array& table, const Eigen::Ref<const Eigen::ArrayXi>& t) {
    Array out(t.size());
    for (Index i = 0; i < t.size(); ++i) out(i) = table(t(i));
    return out;
  }

  template <class X0, class Xt>
  void posteriorMean(const Eigen::MatrixBase<X0>& x0, const Eigen::MatrixBase<Xt>& xt,
                     const Eigen::Ref<const Eigen::ArrayXi>& t, Matrix& mean) const {
    // Element-wise, so `mean` may be the very object passed as x0 or xt (same shape: resize is a no-op).
    mean.resize(xt.rows(), xt.cols());
    parallelFor(xt.rows(), parallelWorthIt(xt.rows(), xt.cols()), [&](Index i) {
      mean.row(i) = posteriorCoef1_(t(i)) * x0.row(i).template cast<Scalar>() +
                    posteriorCoef2_(t(i)) * xt.row(i).template cast<Scalar>();
    });
  }

  Schedule schedule_;
  ScheduleTables tables_;
  Eigen::ArrayXi timestepMap_;
  Array sqrtAlphaBar_, sqrtOneMinusAlphaBar_, sqrtRecipAlphaBar_, sqrtRecipAlphaBarMinusOne_;
  Array posteriorCoef1_, posteriorCoef2_, posteriorVariance_, posteriorLogVarianceClipped_;
  Array modelLogVariance_, modelStd_;
};

}  // namespace recdiff

#endif  // RECDIFF_DIFFUSION_GAUSSIAN_DIFFUSION_HPP
