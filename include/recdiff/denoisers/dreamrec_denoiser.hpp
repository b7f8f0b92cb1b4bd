#ifndef RECDIFF_DENOISERS_DREAMREC_DENOISER_HPP
#define RECDIFF_DENOISERS_DREAMREC_DENOISER_HPP

/// \file dreamrec_denoiser.hpp
/// DreamRec's denoiser f(x_t, h, t) ≈ x0 (Yang et al., NeurIPS 2023, Sec. 4.3; the authors' `Tenc.forward`,
/// `forward_uncon`, `step_mlp` and `diffuser`):
///   e_t  = Linear(2H → H)(GELU(Linear(H → 2H)(sinusoid(t))))     sinusoid [sin | cos] of the raw t
///   mlp1: f = Linear(3H → H)([x_t | h | e_t])
///   mlp2: f = Linear(2H → H)(GELU(Linear(3H → 2H)([x_t | h | e_t])))
/// with GELU the exact erf form (torch.nn.GELU). The unconditional pass f(x_t, ∅, t) replaces h by a learned
/// null vector n [H] (the reference's `none_embedding`, N(0, 1) at init), and classifier-free guidance
/// (Ho & Salimans 2022) combines both: x̂0 = (1 + w)·f(x_t, h, t) − w·f(x_t, ∅, t).
///
/// Condition = h, the history encodings [batch × H] (DreamRecEncoder). forward / forwardUnconditional make it
/// an InferenceDenoiser with the guidance hook of DdpmSampler. For the batched inference over all users the
/// first layer is split, W1 = [W_x | W_h | W_t]: the history term h W_hᵀ is constant over the T steps, the
/// time term e_t W_tᵀ (+ b1) constant over the batch (a [T × width] table, computed once), and the
/// unconditional pass shares x_t W_xᵀ; for mlp1 guidance then folds into one constant row per history,
///   x̂0 = x_t W_xᵀ + table[t] + (1 + w)·h W_hᵀ − w·n W_hᵀ,
/// so one guided step costs one [batch × H] × [H × H] product (GuidedSampling, prepareGuided(), guidedX0():
/// the pieces of the GuidedTiled fast path of DdpmSampler, sampling/guided_tiled.hpp).
///
/// Usage:
///   DreamRecDenoiser<float> f({.hidden = 64, .architecture = DreamRecArchitecture::kMlp1});
///   binder.bind(f); f.reset(rng);
///   f.forwardMasked(xt, t, h, useNull, out); f.backward(dOut, &dXt, &dH);     // training (null rows → n)
///   DdpmSampler(diffusion, {.guidance = 2.0}).run(f, h, x, rng);              // generic guided reverse loop
///   DdpmSampler(diffusion, {.guidance = 2.0}, GuidedTiled{}).sampleFromNoise(f, h, h.rows(), 64, rng, x);
///                                                                             // the same numbers, faster

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "../config.hpp"
#include "../error.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "../nn/feed_forward.hpp"
#include "../nn/init.hpp"
#include "../nn/linear.hpp"
#include "../nn/parameters.hpp"
#include "time_embedding.hpp"

namespace recdiff {

/// The reference's `--diffuser_type`.
enum class DreamRecArchitecture {
  kMlp1,  ///< Linear(3H → H)
  kMlp2,  ///< Linear(3H → 2H) → GELU → Linear(2H → H)
};

struct DreamRecDenoiserOptions {
  Index hidden = 64;  ///< H (even, >= 4: the [sin | cos] sinusoid)
  DreamRecArchitecture architecture = DreamRecArchitecture::kMlp1;
};

/// DreamRec's x0 denoiser with a null vector for classifier-free guidance; see the file comment.
template <class Scalar_>
class DreamRecDenoiser {
 public:
  using Scalar = Scalar_;
  using Matrix = RowMatrix<Scalar>;
  using Condition = Matrix;  ///< h [batch × H]

  explicit DreamRecDenoiser(const DreamRecDenoiserOptions& options)
      : options_(validated(options)),
        timeMlp_(options.hidden, 2 * options.hidden, nn::FeedForwardActivation::kGeluExact, 0.0),
        first_(3 * options.hidden, width()),
        second_(mlp2() ? 2 * options.hidden : 1, options.hidden) {}

  const DreamRecDenoiserOptions& options() const noexcept { return options_; }
  Index hidden() const noexcept { return options_.hidden; }
  bool mlp2() const noexcept { return options_.architecture == DreamRecArchitecture::kMlp2; }
  /// Output width of the first diffuser layer: H (mlp1) or 2H (mlp2).
  Index width() const noexcept { return mlp2() ? 2 * options_.hidden : options_.hidden; }

  Index parameterCount() const noexcept {
    return options_.hidden + timeMlp_.parameterCount() + first_.parameterCount() +
           (mlp2() ? second_.parameterCount() : 0);
  }

  /// Binds n, the time MLP, the first diffuser layer and (mlp2) the second, in this order.
  void bind(nn::ParameterSlice<Scalar> values, nn::ParameterSlice<Scalar> grads) {
    RECDIFF_REQUIRE(values.size == parameterCount() && grads.size == parameterCount(),
                    "DreamRecDenoiser::bind(): expected slices of ", parameterCount(), " scalars, got ", values.size);
    const Index h = options_.hidden;
    null_.bindTo(values, 1, h);
    dNull_.bindTo(grads, 1, h);
    Index at = h;
    const auto bindOne = [&](auto& layer) {
      const Index n = layer.parameterCount();
      layer.bind(values.sub(at, n), grads.sub(at, n));
      at += n;
    };
    bindOne(timeMlp_);
    bindOne(first_);
    if (mlp2()) bindOne(second_);
  }

  /// (name, dims) of every tensor in bind() order, for checkpoints.
  std::vector<nn::ParameterShape> parameterShapes(const std::string& prefix = "denoiser.") const {
    const Index h = options_.hidden;
    std::vector<nn::ParameterShape> s = {{prefix + "none_embedding", {1, h}},
                                         {prefix + "step_mlp", {timeMlp_.parameterCount()}},
                                         {prefix + "diffuser.0", {width() * 3 * h + width()}}};
    if (mlp2()) s.push_back({prefix + "diffuser.2", {h * 2 * h + h}});
    return s;
  }

  /// The reference's initialisation in distribution: n ~ N(0, 1), PyTorch's default Linear init
  /// U(±1/√fan_in) for every weight and bias.
  void reset(Rng& rng) {
    auto n = null_();
    rng.fillNormal(n);
    const double h = static_cast<double>(options_.hidden);
    const auto uniform = [&rng](auto&& m, double fanIn) {
      nn::init::uniform(m, rng, -1.0 / std::sqrt(fanIn), 1.0 / std::sqrt(fanIn));
    };
    uniform(timeMlp_.weight1(), h);
    uniform(timeMlp_.bias1(), h);
    uniform(timeMlp_.weight2(), 2 * h);
    uniform(timeMlp_.bias2(), 2 * h);
    uniform(first_.weight(), 3 * h);
    uniform(first_.bias(), 3 * h);
    if (mlp2()) {
      uniform(second_.weight(), 2 * h);
      uniform(second_.bias(), 2 * h);
    }
  }

  void setTraining(bool) noexcept {}

  /// The null vector n [1 × H] and its gradient.
  typename nn::MappedMatrix<Scalar>::Map nullVector() { return null_(); }
  typename nn::MappedMatrix<Scalar>::Map nullVectorGrad() { return dNull_(); }
  nn::FeedForward<Scalar>& timeMlp() noexcept { return timeMlp_; }
  nn::Linear<Scalar>& firstLayer() noexcept { return first_; }
  nn::Linear<Scalar>& secondLayer() noexcept { return second_; }

  /// e_t = timeMlp(sinusoid(t)) [batch × H] for 0-based steps t (no caching).
  void timeEmbedding(const Eigen::Ref<const Eigen::ArrayXi>& t, Matrix& out) {
    Matrix s;
    sinusoidalTimestepEmbedding(t, options_.hidden, s, dreamRecTimeEmbedding());
    nn::FeedForward<Scalar> mlp = timeMlp_;  // a copy shares the bound parameters and keeps our caches intact
    mlp.forward(s, out);
  }

  /// f(x_t, h, t): xt, h [batch × H], t [batch]; out [batch × H]. Caches for backward().
  void forward(const Matrix& xt, const Eigen::Ref<const Eigen::ArrayXi>& t, const Condition& h, Matrix& out) {
    useNull_.setConstant(xt.rows(), false);
    run(xt, t, &h, out);
  }

  /// f(x_t, ∅, t): the null vector in place of every h.
  void forwardUnconditional(const Matrix& xt, const Eigen::Ref<const Eigen::ArrayXi>& t, Matrix& out) {
    useNull_.setConstant(xt.rows(), true);
    run(xt, t, nullptr, out);
  }

  /// Training forward: row b uses n instead of h.row(b) where useNull(b) (CFG dropout, empty histories).
  void forwardMasked(const Matrix& xt, const Eigen::Ref<const Eigen::ArrayXi>& t, const Condition& h,
                     const Eigen::Ref<const Eigen::Array<bool, Eigen::Dynamic, 1>>& useNull, Matrix& out) {
    RECDIFF_REQUIRE(useNull.size() == xt.rows(), "DreamRecDenoiser::forwardMasked(): ", useNull.size(),
                    " mask entries for ", xt.rows(), " rows");
    useNull_ = useNull;
    run(xt, t, &h, out);
  }

  /// Back-propagates dL/dout [batch × H] of the last forward: accumulates the parameter gradients (rows that
  /// used n into n's), writes dL/dx_t into dXt and dL/dh into dH (zero rows where n was used) when non-null.
  void backward(const Matrix& dOut, Matrix* dXt, Matrix* dH = nullptr) {
    const Index h = options_.hidden, n = in_.rows();
    RECDIFF_REQUIRE(dOut.rows() == n && dOut.cols() == h, "DreamRecDenoiser::backward(): dOut is ", dOut.rows(), "x",
                    dOut.cols(), ", expected ", n, "x", h);
    const Matrix* dz = &dOut;
    if (mlp2()) {
      second_.backward(dOut, dAct_);
      for (Index i = 0; i < n; ++i)
        nn::detail::activationBackward(nn::FeedForwardActivation::kGeluExact, z_.row(i).data(), dAct_.row(i).data(),
                                       width());
      dz = &dAct_;
    }
    first_.backward(*dz, dIn_);
    if (dXt != nullptr) *dXt = dIn_.leftCols(h);
    if (dH != nullptr) dH->resize(n, h);
    auto dn = dNull_().row(0);
    for (Index i = 0; i < n; ++i) {
      if (useNull_(i)) {
        dn += dIn_.row(i).segment(h, h);
        if (dH != nullptr) dH->row(i).setZero();
      } else if (dH != nullptr) {
        dH->row(i) = dIn_.row(i).segment(h, h);
      }
    }
    dE_ = dIn_.rightCols(h);
    timeMlp_.backward(dE_, dSinusoid_);  // the sinusoid has no parameters
  }

  /// Precomputed terms of the guided reverse process for a fixed set of histories; see the file comment.
  struct GuidedSampling {
    Matrix timeTable;  ///< [T × width]: e_t W_tᵀ + b1
    Matrix history;    ///< [batch × width]: mlp1: (1 + w) h W_hᵀ − w n W_hᵀ;  mlp2: h W_hᵀ
    Matrix nullRow;    ///< [1 × width]: n W_hᵀ
    Matrix wxT;        ///< [H × width]: W_xᵀ
    Matrix w2T, b2;    ///< mlp2: the second layer, W2ᵀ [2H × H] and b2 [1 × H]
    double guidance = 0.0;
  };

  /// Builds the tables for histories h [batch × H], guidance w and T = steps.
  void prepareGuided(const Matrix& h, double guidance, Index steps, GuidedSampling& g) {
    const Index d = options_.hidden;
    RECDIFF_REQUIRE(h.cols() == d, "DreamRecDenoiser::prepareGuided(): h has ", h.cols(), " columns, expected ", d);
    RECDIFF_REQUIRE(steps > 0 && std::isfinite(guidance), "DreamRecDenoiser::prepareGuided(): steps ", steps,
                    " and guidance ", guidance, " must be positive and finite");
    const auto w1 = first_.weight();
    Eigen::ArrayXi all(steps);
    for (Index s = 0; s < steps; ++s) all(s) = static_cast<int>(s);
    Matrix e;
    timeEmbedding(all, e);
    g.timeTable.resize(steps, width());
    g.timeTable.noalias() = e * w1.middleCols(2 * d, d).transpose();
    g.timeTable.rowwise() += first_.bias().row(0);
    g.nullRow.resize(1, width());
    g.nullRow.noalias() = null_() * w1.middleCols(d, d).transpose();
    g.history.resize(h.rows(), width());
    g.history.noalias() = h * w1.middleCols(d, d).transpose();
    g.guidance = guidance;
    if (!mlp2()) {
      const auto w = static_cast<Scalar>(guidance);
      g.history *= Scalar(1) + w;
      g.history.rowwise() -= w * g.nullRow.row(0);
    }
    g.wxT = w1.leftCols(d).transpose();
    if (mlp2()) {
      g.w2T = second_.weight().transpose();
      g.b2 = second_.bias();
    }
  }

  /// Guided x̂0 for rows [r0, r0 + x.rows()) of the prepared histories at (original) step t. scratch: any matrix.
  void guidedX0(const GuidedSampling& g, Index r0, const Matrix& x, Index t, Matrix& out, Matrix& scratch) const {
    const Index rows = x.rows();
    if (!mlp2()) {
      out.resize(rows, width());
      out.noalias() = x * g.wxT;
      out += g.history.middleRows(r0, rows);
      out.rowwise() += g.timeTable.row(t);
      return;
    }
    const Index wd = width();
    scratch.resize(rows, wd);
    scratch.noalias() = x * g.wxT;
    scratch.rowwise() += g.timeTable.row(t);
    const auto w = static_cast<Scalar>(g.guidance);
    Matrix& act = out;  // the mixed activations, then the output
    act.resize(rows, wd);
    Eigen::Array<Scalar, 1, Eigen::Dynamic> zc(wd), zu(wd), ac(wd), au(wd);
    for (Index i = 0; i < rows; ++i) {
      zc = scratch.row(i).array() + g.history.row(r0 + i).array();
      nn::detail::activationForward(nn::FeedForwardActivation::kGeluExact, zc.data(), ac.data(), wd);
      if (w != Scalar(0)) {
        zu = scratch.row(i).array() + g.nullRow.row(0).array();
        nn::detail::activationForward(nn::FeedForwardActivation::kGeluExact, zu.data(), au.data(), wd);
        act.row(i) = ((Scalar(1) + w) * ac - w * au).matrix();
      } else {
        act.row(i) = ac.matrix();
      }
    }
    scratch.resize(rows, options_.hidden);
    scratch.noalias() = act * g.w2T;
    scratch.rowwise() += g.b2.row(0);
    out.swap(scratch);
  }

 private:
  static DreamRecDenoiserOptions validated(const DreamRecDenoiserOptions& o) {
    RECDIFF_REQUIRE(o.hidden >= 4 && o.hidden % 2 == 0, "DreamRecDenoiser: hidden must be even and >= 4, got ",
                    o.hidden);
    return o;
  }

  void run(const Matrix& xt, const Eigen::Ref<const Eigen::ArrayXi>& t, const Matrix* h, Matrix& out) {
    const Index d = options_.hidden, n = xt.rows();
    RECDIFF_REQUIRE(xt.cols() == d, "DreamRecDenoiser::forward(): xt has ", xt.cols(), " columns, expected ", d);
    RECDIFF_REQUIRE(t.size() == n, "DreamRecDenoiser::forward(): ", t.size(), " timesteps for ", n, " rows");
    RECDIFF_REQUIRE(h == nullptr || (h->rows() == n && h->cols() == d), "DreamRecDenoiser::forward(): h is ",
                    h->rows(), "x", h->cols(), ", expected ", n, "x", d);
    // The sinusoids of 0 … max t, computed once and gathered (t is discrete).
    const Index tMax = n > 0 ? t.maxCoeff() : 0;
    RECDIFF_REQUIRE(n == 0 || t.minCoeff() >= 0, "DreamRecDenoiser::forward(): negative timestep");
    if (sinusoidTable_.rows() <= tMax) {
      Eigen::ArrayXi all(tMax + 1);
      for (Index s = 0; s <= tMax; ++s) all(s) = static_cast<int>(s);
      sinusoidalTimestepEmbedding(all, d, sinusoidTable_, dreamRecTimeEmbedding());
    }
    sinusoid_.resize(n, d);
    for (Index i = 0; i < n; ++i) sinusoid_.row(i) = sinusoidTable_.row(t(i));
    timeMlp_.forward(sinusoid_, e_);
    in_.resize(n, 3 * d);
    in_.leftCols(d) = xt;
    for (Index i = 0; i < n; ++i) {
      if (useNull_(i)) in_.row(i).segment(d, d) = null_().row(0);
      else in_.row(i).segment(d, d) = h->row(i);
    }
    in_.rightCols(d) = e_;
    if (!mlp2()) {
      first_.forwardBorrowed(in_, out);
      return;
    }
    first_.forwardBorrowed(in_, z_);
    act_.resize(n, width());
    for (Index i = 0; i < n; ++i)
      nn::detail::activationForward(nn::FeedForwardActivation::kGeluExact, z_.row(i).data(), act_.row(i).data(),
                                    width());
    second_.forwardBorrowed(act_, out);
  }

  DreamRecDenoiserOptions options_;
  nn::MappedMatrix<Scalar> null_, dNull_;
  nn::FeedForward<Scalar> timeMlp_;
  nn::Linear<Scalar> first_, second_;
  Eigen::Array<bool, Eigen::Dynamic, 1> useNull_;
  Matrix sinusoidTable_, sinusoid_, e_, in_, z_, act_, dAct_, dIn_, dE_, dSinusoid_;
};

}  // namespace recdiff

#endif  // RECDIFF_DENOISERS_DREAMREC_DENOISER_HPP
