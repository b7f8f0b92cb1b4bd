// FeedForward's fused evaluation-mode bf16 path (nn/feed_forward.hpp, docs/bf16.md): two oneDNN matmuls, bias
// and activation fused into the first, the hidden activation written directly in bf16.
//
// Bounds (u = 2^-8, bf16 unit roundoff; elementwise, computed in double):
//  - fused vs the unfused bf16 path. Both round x, W1, W2 to bf16 identically (packBf16) and both round the
//    float activation to bf16 exactly once before the second product (the unfused path in nn::gemm's packBf16,
//    the fused one in oneDNN's bf16 destination, both round to nearest even). They differ only where the two
//    float activations (oneDNN's eltwise kernel vs detail::activationForward, fp32 sums in another order) fall on
//    different sides of a bf16 rounding boundary: at most one bf16 ulp, 2u = 2^-7 relative, per hidden element.
//    So |y_fused − y_unfused| ≤ 2^-7·(|A|·|W2ᵀ|) + fp32 terms; we allow (2^-7 + 2^-12)·(|A|·|W2ᵀ|) +
//    2^-16·(P·|W2ᵀ| + |b2|), P = |x||W1ᵀ| + |b1| (the fp32 differences in the pre-activation, carried through
//    f' ≤ 1.13). Measured (seeds 1-5 and 20261125, every activation and shape below): max |Δy| / (|A||W2ᵀ|) =
//    1.2e-4 (GELU-erf; 6.9e-5 tanh-GELU, 4.6e-5 SiLU, 0 ReLU: bit-identical), against 2^-7 = 7.8e-3 for a flip;
//    98.6-99.5% of the outputs are bit-identical. Against the double reference below the worst is 4.5e-3 of
//    |A||W2ᵀ| + |b2|.
//  - fused vs a double reference y = f(x W1ᵀ + b1) W2ᵀ + b2: nn::gemm's documented bound per product
//    (docs/bf16.md), e1 = (2^-7 + 2^-16 + (dim+1)·2^-24)·P for the pre-activation, carried through f (|f'| ≤ 1.13)
//    and |W2ᵀ|, plus (2^-7 + 2^-16 + (hidden+1)·2^-24)·(|A||W2ᵀ| + |b2|) for the second product.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include <recdiff/nn/feed_forward.hpp>
#include <recdiff/random.hpp>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "support/catch.hpp"
#include "support/test_env.hpp"

using recdiff::Index;
using recdiff::RowMatrix;
using recdiff::nn::FeedForward;
using recdiff::nn::FeedForwardActivation;
using recdiff::nn::GemmPrecision;
using Dmat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

constexpr FeedForwardActivation kActivations[] = {FeedForwardActivation::kGeluTanh, FeedForwardActivation::kGeluExact,
                                                 FeedForwardActivation::kRelu, FeedForwardActivation::kSilu};

const char* name(FeedForwardActivation f) {
  switch (f) {
    case FeedForwardActivation::kGeluTanh: return "gelu-tanh";
    case FeedForwardActivation::kGeluExact: return "gelu-erf";
    case FeedForwardActivation::kRelu: return "relu";
    case FeedForwardActivation::kSilu: return "silu";
  }
  return "?";
}

double activation(FeedForwardActivation f, double x) {
  switch (f) {
    case FeedForwardActivation::kGeluTanh:
      return 0.5 * x * (1.0 + std::tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)));
    case FeedForwardActivation::kGeluExact: return 0.5 * x * (1.0 + std::erf(x * 0.70710678118654752440));
    case FeedForwardActivation::kRelu: return std::max(x, 0.0);
    case FeedForwardActivation::kSilu: return x / (1.0 + std::exp(-x));
  }
  return 0.0;
}

/// A layer with its own parameter buffer: random weights and (nonzero) biases.
struct Layer {
  recdiff::nn::ParameterBuffer<float> params;
  FeedForward<float> ffn;

  Layer(Index dim, FeedForwardActivation f, recdiff::Rng& rng, double dropout = 0.0)
      : params(), ffn(dim, 4 * dim, f, dropout) {
    params.resize(ffn.parameterCount());
    recdiff::nn::ParameterBinder<float>(params).bind(ffn);
    ffn.reset(rng);
    auto b1 = ffn.bias1();
    auto b2 = ffn.bias2();
    rng.fillNormal(b1, 0.0, 0.5);
    rng.fillNormal(b2, 0.0, 0.5);
  }
  Layer(const Layer&) = delete;  // the layer's views point into params
};

/// Double-precision pieces of the bounds: A = f(x W1ᵀ + b1), P = |x||W1ᵀ| + |b1|.
struct Reference {
  Dmat y, a, p, w2tAbs;
  Eigen::RowVectorXd b2Abs;
};

Reference reference(FeedForward<float>& ffn, FeedForwardActivation f, const RowMatrix<float>& x) {
  const Dmat xd = x.cast<double>();
  const Dmat w1 = ffn.weight1().cast<double>(), w2 = ffn.weight2().cast<double>();
  const Eigen::RowVectorXd b1 = ffn.bias1().row(0).cast<double>(), b2 = ffn.bias2().row(0).cast<double>();
  Reference r;
  Dmat pre = xd * w1.transpose();
  pre.rowwise() += b1;
  r.a = pre.unaryExpr([f](double v) { return activation(f, v); });
  r.y = r.a * w2.transpose();
  r.y.rowwise() += b2;
  r.p = xd.cwiseAbs() * w1.transpose().cwiseAbs();
  r.p.rowwise() += b1.cwiseAbs();
  r.w2tAbs = w2.transpose().cwiseAbs();
  r.b2Abs = b2.cwiseAbs();
  return r;
}

/// Max over elements of |got − want| / scale, and the number of elements beyond `bound`.
struct Comparison {
  double worst = 0.0;
  int failures = 0;
  int identical = 0;
};

Comparison compare(const RowMatrix<float>& got, const Dmat& want, const Dmat& scale, const Dmat& bound) {
  Comparison c;
  for (Index i = 0; i < got.rows(); ++i) {
    for (Index j = 0; j < got.cols(); ++j) {
      const double d = std::abs(static_cast<double>(got(i, j)) - want(i, j));
      if (!(d <= bound(i, j))) ++c.failures;
      if (d == 0.0) ++c.identical;
      if (scale(i, j) > 0) c.worst = std::max(c.worst, d / scale(i, j));
    }
  }
  return c;
}

/// The fused-vs-unfused bound of the file comment.
Dmat fusedVsUnfusedBound(const Reference& r) {
  const Dmat aw = r.a.cwiseAbs() * r.w2tAbs;
  Dmat pw = r.p * r.w2tAbs;
  pw.rowwise() += r.b2Abs;
  return (std::ldexp(1.0, -7) + std::ldexp(1.0, -12)) * aw + std::ldexp(1.0, -16) * pw;
}

/// What run() did before the fused path, written out with the public pieces: pre = b1 + x W1ᵀ, act = f(pre),
/// y = b2 + act W2ᵀ (nn::gemm accumulating onto the bias, as the layer does).
RowMatrix<float> unfusedRecomputation(FeedForward<float>& ffn, FeedForwardActivation f, const RowMatrix<float>& x,
                                      GemmPrecision precision) {
  using recdiff::nn::Accumulate;
  const Index n = x.rows(), h = ffn.hidden();
  RowMatrix<float> pre(n, h), act(n, h), y(n, ffn.dim());
  pre.rowwise() = ffn.bias1().row(0);
  recdiff::nn::gemm(pre, x, ffn.weight1().transpose(), Accumulate::kYes, precision);
  for (Index i = 0; i < n; ++i) recdiff::nn::detail::activationForward(f, pre.row(i).data(), act.row(i).data(), h);
  y.rowwise() = ffn.bias2().row(0);
  recdiff::nn::gemm(y, act, ffn.weight2().transpose(), Accumulate::kYes, precision);
  return y;
}

bool bitIdentical(const RowMatrix<float>& a, const RowMatrix<float>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && (a.array() == b.array()).all();
}

}  // namespace

TEST_CASE("FeedForward evaluation-mode bf16: the fused path matches the unfused bf16 path and a double reference",
          "[nn][feed_forward][bf16][fused]") {
  recdiff::Rng rng(recdiff::test::seed());
  if (!recdiff::nn::bf16GemmAvailable()) {
    // Not fused: the unfused path runs and nn::gemm() refuses with its reason.
    Layer layer(8, FeedForwardActivation::kGeluTanh, rng);
    layer.ffn.setPrecision(GemmPrecision::kBf16);
    layer.ffn.setTraining(false);
    RowMatrix<float> x = RowMatrix<float>::Ones(3, 8), y;
    REQUIRE_THROWS_WITH(layer.ffn.forward(x, y), Catch::Contains("GemmPrecision::kBf16 requested"));
    WARN("bf16 GEMM unavailable here: " << recdiff::nn::bf16GemmUnavailableReason());
    return;
  }
  double worstUnfused[4] = {0, 0, 0, 0};
  for (int fi = 0; fi < 4; ++fi) {
    const FeedForwardActivation f = kActivations[fi];
    for (const Index dim : {Index{8}, Index{64}, Index{128}}) {
      for (const Index rows : {Index{1}, Index{7}, Index{150}}) {
        Layer layer(dim, f, rng);
        FeedForward<float>& ffn = layer.ffn;
        ffn.setPrecision(GemmPrecision::kBf16);
        RowMatrix<float> x(rows, dim);
        rng.fillNormal(x, 0.0, 1.0);
        const Reference r = reference(ffn, f, x);
        RowMatrix<float> fused, unfused;
        ffn.setTraining(true);  // dropout 0: training mode runs the unfused path, as evaluation did before
        ffn.forward(x, unfused);
        ffn.setTraining(false);
        ffn.forward(x, fused);
        INFO(name(f) << ", rows " << rows << ", dim " << dim << ", hidden " << 4 * dim);
        REQUIRE(fused.rows() == rows);
        REQUIRE(fused.cols() == dim);

        const Dmat aw = r.a.cwiseAbs() * r.w2tAbs;
        const Comparison cu = compare(fused, unfused.cast<double>(), aw, fusedVsUnfusedBound(r));
        INFO("fused vs unfused: max |dy|/(|A||W2t|) " << cu.worst << ", identical " << cu.identical << " of "
                                                      << rows * dim);
        CHECK(cu.failures == 0);
        worstUnfused[fi] = std::max(worstUnfused[fi], cu.worst);

        // Against double: nn::gemm's bound for each product, the first carried through f (|f'| ≤ 1.13).
        const double u7 = std::ldexp(1.0, -7), u16 = std::ldexp(1.0, -16), v = std::ldexp(1.0, -24);
        const Dmat e1 = (u7 + u16 + static_cast<double>(dim + 1) * v) * r.p;
        Dmat second = aw;
        second.rowwise() += r.b2Abs;
        const Dmat bound = (u7 + u16 + static_cast<double>(4 * dim + 1) * v) * second +
                           (1.0 + 2 * u7) * 1.13 * (e1 * r.w2tAbs) + u16 * (r.p * r.w2tAbs);
        const Comparison cr = compare(fused, r.y, second, bound);
        INFO("fused vs double: max |dy|/(|A||W2t| + |b2|) " << cr.worst);
        CHECK(cr.failures == 0);
        CHECK(cr.worst > 0.0);  // really bf16
      }
    }
  }
  std::ostringstream summary;
  for (int fi = 0; fi < 4; ++fi) summary << " " << name(kActivations[fi]) << " " << worstUnfused[fi];
  INFO("max |fused - unfused| / (|A||W2t|) per activation:" << summary.str());
  // The fused path really ran: its hidden comes from oneDNN's own GELU in fp32, so some outputs differ from the
  // unfused path's (measured: 0.5–1.4% of them, by up to 1.2e-4 of the bound's scale).
  CHECK(worstUnfused[0] > 0.0);  // tanh-GELU
  CHECK(worstUnfused[1] > 0.0);  // erf-GELU
}

TEST_CASE("FeedForward: training-mode bf16 and both modes in float are the unfused products, bit for bit",
          "[nn][feed_forward][bf16][fused]") {
  recdiff::Rng rng(recdiff::test::seed());
  const bool bf16 = recdiff::nn::bf16GemmAvailable();
  if (!bf16) WARN("bf16 GEMM unavailable here (" << recdiff::nn::bf16GemmUnavailableReason() << "): float only");
  for (const FeedForwardActivation f : kActivations) {
    for (const Index rows : {Index{1}, Index{7}, Index{150}}) {
      Layer layer(64, f, rng);
      FeedForward<float>& ffn = layer.ffn;
      RowMatrix<float> x(rows, 64), y;
      rng.fillNormal(x, 0.0, 1.0);
      INFO(name(f) << ", rows " << rows);
      for (const bool training : {true, false}) {
        ffn.setTraining(training);
        ffn.setPrecision(GemmPrecision::kFloat);
        ffn.forward(x, y);
        CHECK(bitIdentical(y, unfusedRecomputation(ffn, f, x, GemmPrecision::kFloat)));
      }
      if (!bf16) continue;
      ffn.setPrecision(GemmPrecision::kBf16);
      ffn.setTraining(true);
      ffn.forward(x, y);
      CHECK(bitIdentical(y, unfusedRecomputation(ffn, f, x, GemmPrecision::kBf16)));

      // backward() after a fused (evaluation) forward recomputes what the unfused forward kept: the same
      // gradients as after the unfused forward.
      RowMatrix<float> dy(rows, 64), dxUnfused, dxFused;
      rng.fillNormal(dy, 0.0, 1.0);
      layer.params.zeroGrad();
      ffn.forward(x, y);  // training, dropout 0
      ffn.backward(dy, dxUnfused);
      const Eigen::VectorXf gradsUnfused = layer.params.grads();
      layer.params.zeroGrad();
      ffn.setTraining(false);
      ffn.forward(x, y);
      ffn.backward(dy, dxFused);
      CHECK(bitIdentical(dxFused, dxUnfused));
      CHECK((layer.params.grads().array() == gradsUnfused.array()).all());
    }
  }
}

TEST_CASE("FeedForward evaluation-mode bf16 inside an OpenMP parallel region: one layer per thread",
          "[nn][feed_forward][bf16][fused][openmp]") {
  if (!recdiff::nn::bf16GemmAvailable()) {
    WARN("bf16 GEMM unavailable here: " << recdiff::nn::bf16GemmUnavailableReason());
    return;
  }
  recdiff::Rng rng(recdiff::test::seed());
  for (const FeedForwardActivation f : kActivations) {
    Layer first(128, f, rng);
    Layer second(128, f, rng);
    second.params.values() = first.params.values();  // the same parameters, separate layers
    Layer* layers[2] = {&first, &second};
    for (Layer* l : layers) {
      l->ffn.setPrecision(GemmPrecision::kBf16);
      l->ffn.setTraining(false);
    }
    const Index rows = 150, half = 75;
    RowMatrix<float> x(rows, 128);
    rng.fillNormal(x, 0.0, 1.0);
    const RowMatrix<float> parts[2] = {x.topRows(half), x.bottomRows(rows - half)};

    // Outside any region first (this also puts primitives made for all threads into the main thread's cache,
    // which the region's thread 0 then reuses).
    RowMatrix<float> outside[2], inside[2];
    for (int p = 0; p < 2; ++p) layers[p]->ffn.forward(parts[p], outside[p]);
    RowMatrix<float> whole;
    first.ffn.forward(x, whole);
    int threadsSeen = 1;
#if defined(_OPENMP)
#pragma omp parallel num_threads(2)
    {
      const int p = omp_get_thread_num();
      if (p < 2) layers[p]->ffn.forward(parts[p], inside[p]);
#pragma omp single
      threadsSeen = omp_get_num_threads();
    }
#else
    for (int p = 0; p < 2; ++p) layers[p]->ffn.forward(parts[p], inside[p]);
#endif
    INFO(name(f) << ", threads in the region " << threadsSeen);
    if (threadsSeen < 2)
      for (int p = threadsSeen; p < 2; ++p) layers[p]->ffn.forward(parts[p], inside[p]);
    for (int p = 0; p < 2; ++p) {
      const Reference r = reference(layers[p]->ffn, f, parts[p]);
      const Dmat aw = r.a.cwiseAbs() * r.w2tAbs;
      // oneDNN may split the work differently on one thread: allow the fused-vs-unfused bound (one bf16 ulp of a
      // hidden element); measured identical.
      const Comparison c = compare(inside[p], outside[p].cast<double>(), aw, fusedVsUnfusedBound(r));
      INFO("part " << p << ": max |inside - outside| / (|A||W2t|) " << c.worst << ", identical " << c.identical
                   << " of " << inside[p].size());
      CHECK(c.failures == 0);
      const Comparison w = compare(inside[p], (p == 0 ? whole.topRows(half) : whole.bottomRows(rows - half))
                                                  .cast<double>(),
                                   aw, fusedVsUnfusedBound(r));
      CHECK(w.failures == 0);
    }
  }
}
