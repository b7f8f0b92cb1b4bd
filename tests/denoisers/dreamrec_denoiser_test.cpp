// DreamRecDenoiser: finite-difference gradients (parameters, x_t, h, the null vector through masked rows) for
// mlp1 and mlp2; the unconditional pass reads the null vector; classifier-free guidance: w = 0 is the
// conditional model, w > 0 matches (1 + w) f(x, h, t) − w f(x, ∅, t), and the fast batched reverse process
// gives DdpmSampler's result through the guidance hook for the same generator.

#include <recdiff/concepts.hpp>
#include <recdiff/denoisers/dreamrec_denoiser.hpp>
#include <recdiff/diffusion.hpp>
#include <recdiff/sampling/guided_tiled.hpp>
#include <recdiff/schedules.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

namespace {

using recdiff::Index;
using recdiff::RowMatrix;
using recdiff::DreamRecArchitecture;
template <class S>
using Denoiser = recdiff::DreamRecDenoiser<S>;
template <class S>
using Diffusion = recdiff::GaussianDiffusion<recdiff::AnySchedule, recdiff::PredictX0, recdiff::FixedSmallVariance, S>;
using Mask = Eigen::Array<bool, Eigen::Dynamic, 1>;

static_assert(recdiff::InferenceDenoiser<Denoiser<float>>);
static_assert(recdiff::hasUnconditionalForward<Denoiser<float>>);

template <class S>
struct Bound {
  Denoiser<S> f;
  recdiff::nn::ParameterBuffer<S> params;
  Bound(DreamRecArchitecture a, recdiff::Rng& rng, Index hidden = 4) : f({.hidden = hidden, .architecture = a}) {
    params.resize(f.parameterCount());
    recdiff::nn::ParameterBinder<S>(params).bind(f);
    f.reset(rng);
  }
};

}  // namespace

TEST_CASE("DreamRecDenoiser gradients match central differences", "[denoisers][dreamrec][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  for (const auto arch : {DreamRecArchitecture::kMlp1, DreamRecArchitecture::kMlp2}) {
    CAPTURE(static_cast<int>(arch));
    Bound<double> m(arch, rng);
    RowMatrix<double> xt = recdiff::test::randomMatrix<double>(3, 4, rng);
    RowMatrix<double> h = recdiff::test::randomMatrix<double>(3, 4, rng);
    const RowMatrix<double> w = recdiff::test::randomMatrix<double>(3, 4, rng);
    Eigen::ArrayXi t(3);
    t << 0, 7, 3;
    Mask useNull(3);
    useNull << false, true, false;
    RowMatrix<double> out, dXt, dH;
    const auto loss = [&] {
      m.f.forwardMasked(xt, t, h, useNull, out);
      return (out.array() * w.array()).sum();
    };
    const auto analytic = [&] {
      loss();
      m.f.backward(w, &dXt, &dH);
    };
    CHECK(recdiff::test::gradientError(m.params, loss, analytic) < 1e-6);  // the null vector included
    analytic();
    const auto flat = [](const RowMatrix<double>& a) { return Eigen::Map<const recdiff::ColVector<double>>(a.data(), a.size()); };
    CHECK(recdiff::test::relativeError(flat(dXt), recdiff::test::finiteDifferenceGradient(xt, loss)) < 1e-6);
    CHECK(recdiff::test::relativeError(flat(dH), recdiff::test::finiteDifferenceGradient(h, loss)) < 1e-6);
    CHECK(dH.row(1).norm() == 0.0);  // the masked row reads n, not h
  }
}

TEST_CASE("DreamRecDenoiser unconditional pass reads the null vector", "[denoisers][dreamrec][guidance]") {
  recdiff::Rng rng(recdiff::test::seed());
  for (const auto arch : {DreamRecArchitecture::kMlp1, DreamRecArchitecture::kMlp2}) {
    Bound<double> m(arch, rng);
    const RowMatrix<double> xt = recdiff::test::randomMatrix<double>(3, 4, rng);
    const RowMatrix<double> h = recdiff::test::randomMatrix<double>(3, 4, rng);
    Eigen::ArrayXi t(3);
    t << 2, 5, 9;
    RowMatrix<double> uncond, viaNull, cond;
    m.f.forwardUnconditional(xt, t, uncond);
    const RowMatrix<double> nulls = m.f.nullVector().replicate(3, 1);
    m.f.forward(xt, t, nulls, viaNull);
    CHECK((uncond - viaNull).norm() == 0.0);
    m.f.forward(xt, t, h, cond);
    CHECK((cond - uncond).norm() > 1e-3);
    // Changing n moves the unconditional output only.
    m.f.nullVector() += recdiff::test::randomMatrix<double>(1, 4, rng);
    RowMatrix<double> uncond2, cond2;
    m.f.forwardUnconditional(xt, t, uncond2);
    m.f.forward(xt, t, h, cond2);
    CHECK((uncond2 - uncond).norm() > 1e-3);
    CHECK((cond2 - cond).norm() == 0.0);
    // Its gradient lands in n.
    m.params.zeroGrad();
    m.f.forwardUnconditional(xt, t, uncond2);
    m.f.backward(RowMatrix<double>::Ones(3, 4), nullptr);
    CHECK(m.f.nullVectorGrad().norm() > 0.0);
  }
}

TEMPLATE_TEST_CASE("DreamRecDenoiser guided x0 matches the classifier-free guidance formula", "[denoisers][dreamrec][guidance]",
                   float, double) {
  recdiff::Rng rng(recdiff::test::seed());
  const double tol = std::is_same_v<TestType, float> ? 1e-5 : 1e-12;
  for (const auto arch : {DreamRecArchitecture::kMlp1, DreamRecArchitecture::kMlp2})
    for (const double w : {0.0, 2.0, 4.0}) {
      CAPTURE(static_cast<int>(arch), w);
      Bound<TestType> m(arch, rng, 8);
      const RowMatrix<TestType> x = recdiff::test::randomMatrix<TestType>(5, 8, rng);
      const RowMatrix<TestType> h = recdiff::test::randomMatrix<TestType>(5, 8, rng);
      typename Denoiser<TestType>::GuidedSampling g;
      m.f.prepareGuided(h, w, 20, g);
      for (const Index step : {0, 7, 19}) {
        const Eigen::ArrayXi t = Eigen::ArrayXi::Constant(5, static_cast<int>(step));
        RowMatrix<TestType> cond, uncond, fast, scratch;
        m.f.forward(x, t, h, cond);
        m.f.forwardUnconditional(x, t, uncond);
        const RowMatrix<TestType> expected = (TestType(1) + TestType(w)) * cond - TestType(w) * uncond;
        m.f.guidedX0(g, 0, x, step, fast, scratch);
        CHECK(recdiff::test::relativeError(fast, expected) < tol);
        if (w == 0.0) CHECK(recdiff::test::relativeError(fast, cond) < tol);  // w = 0: the conditional model
        // A tile of rows 2 … 4 reads its own histories.
        m.f.guidedX0(g, 2, RowMatrix<TestType>(x.bottomRows(3)), step, fast, scratch);
        CHECK(recdiff::test::relativeError(fast, RowMatrix<TestType>(expected.bottomRows(3))) < tol);
      }
    }
}

TEMPLATE_TEST_CASE("DreamRecDenoiser batched guided sampling equals DdpmSampler with the guidance hook",
                   "[denoisers][dreamrec][guidance]", float, double) {
  recdiff::Rng rng(recdiff::test::seed());
  const Diffusion<TestType> diffusion(recdiff::makeSchedule("exp"), 30);
  const double tol = std::is_same_v<TestType, float> ? 1e-4 : 1e-10;
  for (const auto arch : {DreamRecArchitecture::kMlp1, DreamRecArchitecture::kMlp2})
    for (const double w : {0.0, 2.0}) {
      CAPTURE(static_cast<int>(arch), w);
      Bound<TestType> m(arch, rng, 8);
      const RowMatrix<TestType> h = recdiff::test::randomMatrix<TestType>(300, 8, rng);  // two tiles or more
      recdiff::Rng r1(11), r2(11);
      RowMatrix<TestType> fast;
      recdiff::DdpmSampler(diffusion, {.guidance = w}, recdiff::GuidedTiled{}).sampleFromNoise(m.f, h, 300, 8, r1, fast);
      const RowMatrix<TestType> slow =
          recdiff::DdpmSampler<Diffusion<TestType>>(diffusion, {.guidance = w}).sampleFromNoise(m.f, h, 300, 8, r2);
      CHECK(recdiff::test::relativeError(fast, slow) < tol);
      CHECK(fast.allFinite());
      if (w == 0.0) {
        // w = 0 is the conditional model alone: DdpmSampler over forward() only.
        auto conditional = recdiff::makeFunctionDenoiser<TestType, RowMatrix<TestType>>(
            [&](const RowMatrix<TestType>& x, const Eigen::ArrayXi& t, const RowMatrix<TestType>& c, RowMatrix<TestType>& out) {
              m.f.forward(x, t, c, out);
            });
        recdiff::Rng r3(11);
        const RowMatrix<TestType> plain =
            recdiff::DdpmSampler<Diffusion<TestType>>(diffusion, {}).sampleFromNoise(conditional, h, 300, 8, r3);
        CHECK(recdiff::test::relativeError(fast, plain) < tol);
      }
    }
}

TEST_CASE("DreamRecDenoiser guidance moves samples away from the unconditional model", "[denoisers][dreamrec][guidance]") {
  // With a fixed model and fixed noise, x̂0 is affine in w: x̂0(w) = x̂0(0) + w (f_c − f_u).
  recdiff::Rng rng(recdiff::test::seed());
  Bound<double> m(DreamRecArchitecture::kMlp1, rng, 8);
  const RowMatrix<double> x = recdiff::test::randomMatrix<double>(4, 8, rng);
  const RowMatrix<double> h = recdiff::test::randomMatrix<double>(4, 8, rng);
  typename Denoiser<double>::GuidedSampling g0, g2, g4;
  m.f.prepareGuided(h, 0.0, 10, g0);
  m.f.prepareGuided(h, 2.0, 10, g2);
  m.f.prepareGuided(h, 4.0, 10, g4);
  RowMatrix<double> a, b, c, s;
  m.f.guidedX0(g0, 0, x, 3, a, s);
  m.f.guidedX0(g2, 0, x, 3, b, s);
  m.f.guidedX0(g4, 0, x, 3, c, s);
  CHECK(((c - b) - (b - a)).norm() < 1e-12);
  CHECK((b - a).norm() > 1e-3);
}

TEST_CASE("DreamRecDenoiser rejects bad shapes", "[denoisers][dreamrec]") {
  CHECK_THROWS_AS(Denoiser<double>({.hidden = 3}), std::invalid_argument);
  recdiff::Rng rng(1);
  Bound<double> m(DreamRecArchitecture::kMlp1, rng);
  RowMatrix<double> out;
  const Eigen::ArrayXi t = Eigen::ArrayXi::Zero(2);
  CHECK_THROWS_AS(m.f.forward(RowMatrix<double>::Zero(2, 5), t, RowMatrix<double>::Zero(2, 4), out), std::invalid_argument);
  CHECK_THROWS_AS(m.f.forward(RowMatrix<double>::Zero(2, 4), t, RowMatrix<double>::Zero(3, 4), out), std::invalid_argument);
  CHECK_THROWS_AS(m.f.forward(RowMatrix<double>::Zero(3, 4), t, RowMatrix<double>::Zero(3, 4), out), std::invalid_argument);
}
