// Tests for include/recdiff/sampling/ddpm_sampler.hpp: the reverse loop with oracle denoisers, DiffRec's
// start from the input, respacing, classifier-free guidance, and the error paths.
#include <recdiff/sampling.hpp>

#include <cmath>

#include "support/catch.hpp"
#include "support/test_env.hpp"
#include "support/tolerances.hpp"

using recdiff::Index;
using recdiff::test::Tolerance;

namespace {

template <class Scalar, class Param, class Variance>
using Diffusion = recdiff::GaussianDiffusion<recdiff::CosineSchedule, Param, Variance, Scalar>;

// A denoiser with a condition and an unconditional pass: f(x, c) = c, f(x, ∅) = 0 (x0 prediction), and it
// records the timesteps it was called with.
struct GuidedOracle {
  using Scalar = double;
  using Condition = recdiff::RowMatrix<double>;
  std::vector<int> seen;
  void forward(const recdiff::RowMatrix<double>& xt, const Eigen::ArrayXi& t, const Condition& c, recdiff::RowMatrix<double>& out) {
    seen.push_back(t(0));
    out = c;
    REQUIRE(out.rows() == xt.rows());
  }
  void forwardUnconditional(const recdiff::RowMatrix<double>& xt, const Eigen::ArrayXi&, recdiff::RowMatrix<double>& out) {
    out = recdiff::RowMatrix<double>::Zero(xt.rows(), xt.cols());
  }
};

}  // namespace

TEMPLATE_TEST_CASE("A reverse loop fed the true x0 returns x0", "[sampling][ddpm]", float, double) {
  const Index steps = 50, batch = 6, dim = 11;
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::RowMatrix<TestType> x0(batch, dim);
  rng.fillNormal(x0);
  // The last step's posterior mean is coef1[0] · x0Hat + coef2[0] · x_1 with coef1[0] = 1 and coef2[0] = 0,
  // and no noise is added at t = 0: an oracle x0 comes back whatever the path.
  const auto oracle = recdiff::makeFunctionDenoiser<TestType>(
      [&x0](const recdiff::RowMatrix<TestType>&, const Eigen::ArrayXi&, const recdiff::NoCondition&, recdiff::RowMatrix<TestType>& out) { out = x0; });
  const double tol = std::is_same_v<TestType, float> ? 1e-5 : 1e-12;
  SECTION("x0 prediction, no sampling noise, from noise") {
    const Diffusion<TestType, recdiff::PredictX0, recdiff::FixedSmallVariance> d(recdiff::CosineSchedule{}, steps);
    auto model = oracle;
    const auto x = recdiff::DdpmSampler(d, {.addNoise = false}).sampleFromNoise(model, {}, batch, dim, rng);
    CHECK((x - x0).cwiseAbs().maxCoeff() <= tol);
  }
  SECTION("x0 prediction with fixed-large noise") {
    const Diffusion<TestType, recdiff::PredictX0, recdiff::FixedLargeVariance> d(recdiff::CosineSchedule{}, steps);
    auto model = oracle;
    const auto x = recdiff::DdpmSampler(d).sampleFromNoise(model, {}, batch, dim, rng);
    CHECK((x - x0).cwiseAbs().maxCoeff() <= tol);
  }
  SECTION("epsilon prediction from the oracle's exact noise, DiffRec start from the input") {
    using D = Diffusion<TestType, recdiff::PredictEpsilon, recdiff::NoNoiseVariance>;
    const D d(recdiff::CosineSchedule{}, steps);
    auto eps = recdiff::makeFunctionDenoiser<TestType>(
        [&](const recdiff::RowMatrix<TestType>& xt, const Eigen::ArrayXi& t, const recdiff::NoCondition&, recdiff::RowMatrix<TestType>& out) {
          d.predictEpsFromX0(xt, t, x0, out);
        });
    const auto x = recdiff::DdpmSampler(d).sampleFromInput(eps, {}, x0, 10, rng);
    CHECK((x - x0).cwiseAbs().maxCoeff() <= 100 * tol);
  }
}

TEST_CASE("Starting from the input with zero forward steps runs posterior means from x0", "[sampling][ddpm]") {
  // DiffRec's inference (sampling_steps = 0, no noise) with a denoiser that returns its input: every step
  // is x <- coef1 · x + coef2 · x, so the result is prod_t (coef1_t + coef2_t) · x0.
  const Index steps = 5;
  const Diffusion<double, recdiff::PredictX0, recdiff::NoNoiseVariance> d(recdiff::CosineSchedule{}, steps);
  recdiff::RowMatrix<double> x0(2, 3);
  x0 << 1, 0, 1, 0, 1, 1;
  auto identity = recdiff::makeFunctionDenoiser<double>(
      [](const recdiff::RowMatrix<double>& xt, const Eigen::ArrayXi&, const recdiff::NoCondition&, recdiff::RowMatrix<double>& out) { out = xt; });
  recdiff::Rng rng(recdiff::test::seed());
  const auto x = recdiff::DdpmSampler(d, {.addNoise = false}).sampleFromInput(identity, {}, x0, 0, rng);
  const double factor = (d.tables().posteriorMeanCoef1 + d.tables().posteriorMeanCoef2).prod();
  CHECK((x - factor * x0).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("Respaced sampling calls the denoiser with original timesteps", "[sampling][ddpm]") {
  const Diffusion<double, recdiff::PredictX0, recdiff::FixedSmallVariance> full(recdiff::CosineSchedule{}, 100);
  const auto fast = full.respaced("ddim10");
  GuidedOracle model;
  recdiff::RowMatrix<double> c = recdiff::RowMatrix<double>::Constant(3, 4, 0.5);
  recdiff::Rng rng(recdiff::test::seed());
  const auto x = recdiff::DdpmSampler(fast).sampleFromNoise(model, c, 3, 4, rng);
  REQUIRE(model.seen.size() == 10);
  CHECK(model.seen.front() == 90);
  CHECK(model.seen.back() == 0);
  CHECK((x - c).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("Classifier-free guidance combines the two passes", "[sampling][ddpm][guidance]") {
  // f(x, c) = c and f(x, ∅) = 0, so x0Hat = (1 + w) c, which the oracle property returns exactly.
  const Diffusion<double, recdiff::PredictX0, recdiff::FixedSmallVariance> d(recdiff::CosineSchedule{}, 20);
  GuidedOracle model;
  const recdiff::RowMatrix<double> c = recdiff::RowMatrix<double>::Constant(2, 3, 0.4);
  recdiff::Rng rng(recdiff::test::seed());
  const auto x = recdiff::DdpmSampler(d, {.guidance = 2.0}).sampleFromNoise(model, c, 2, 3, rng);
  CHECK((x - 3.0 * c).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("The reverse loop rejects impossible requests with named messages", "[sampling][ddpm][errors]") {
  const Diffusion<double, recdiff::PredictX0, recdiff::FixedSmallVariance> d(recdiff::CosineSchedule{}, 10);
  auto plain = recdiff::makeFunctionDenoiser<double>(
      [](const recdiff::RowMatrix<double>& xt, const Eigen::ArrayXi&, const recdiff::NoCondition&, recdiff::RowMatrix<double>& out) { out = xt; });
  recdiff::Rng rng(1);
  CHECK_THROWS_WITH(recdiff::DdpmSampler(d, {.guidance = 1.0}).sampleFromNoise(plain, {}, 2, 2, rng),
                    Catch::Contains("guidance = 1 needs a denoiser with forwardUnconditional"));
  const recdiff::RowMatrix<double> x0 = recdiff::RowMatrix<double>::Zero(2, 2);
  CHECK_THROWS_WITH(recdiff::DdpmSampler(d).sampleFromInput(plain, {}, x0, 11, rng),
                    Catch::Contains("forwardSteps = 11 is outside [0, 10]"));
  recdiff::RowMatrix<double> x = x0;
  CHECK_THROWS_WITH(recdiff::DdpmSampler(d).run(plain, {}, x, rng, 10), Catch::Contains("fromStep = 10 is outside [0, 10)"));
  CHECK_THROWS_WITH(recdiff::DdpmSampler(d, {.guidance = std::nan("")}), Catch::Contains("guidance must be finite"));
}
