// Tests for include/recdiff/diffusion/gaussian_diffusion.hpp: forward statistics, the posterior against
// the closed-form Gaussian product, conversions, reverse-step variances, golden x_t, and every error path.
#include <recdiff/diffusion.hpp>

#include <cmath>
#include <string>

#include "support/catch.hpp"
#include "support/golden.hpp"
#include "support/test_env.hpp"
#include "support/tolerances.hpp"

using recdiff::Index;
using recdiff::test::Tolerance;

template <class Scalar, class Variance = recdiff::FixedSmallVariance, class Param = recdiff::PredictX0>
using CosineDiffusion = recdiff::GaussianDiffusion<recdiff::CosineSchedule, Param, Variance, Scalar>;

TEMPLATE_TEST_CASE("qSample has the forward marginal mean and variance at every timestep", "[diffusion][qsample]",
                   float, double) {
  const Index steps = 50, dim = 40000;
  const CosineDiffusion<TestType> diffusion(recdiff::CosineSchedule{}, steps);
  recdiff::Rng rng(recdiff::test::seed());
  // Row i: x0 = 0.7 everywhere, t = i. Per row, xt ~ N(0.7 sqrt(alphaBar_t), 1 - alphaBar_t) independently.
  const recdiff::RowMatrix<TestType> x0 = recdiff::RowMatrix<TestType>::Constant(steps, dim, TestType(0.7));
  Eigen::ArrayXi t(steps);
  for (Index i = 0; i < steps; ++i) t(i) = static_cast<int>(i);
  recdiff::RowMatrix<TestType> xt, noise;
  diffusion.qSample(x0, t, rng, xt, &noise);
  for (Index i = 0; i < steps; ++i) {
    INFO("t = " << i);
    const double alphaBar = diffusion.tables().alphaBar(i);
    const Eigen::ArrayXd row = xt.row(i).transpose().array().template cast<double>();
    const double mean = row.mean();
    const double var = (row - mean).square().sum() / static_cast<double>(dim - 1);
    const double wantVar = 1.0 - alphaBar;
    // 5 standard errors: sd(mean) = sqrt(var / n), sd(sample variance) = var sqrt(2 / (n - 1)); plus the
    // float rounding of the stored coefficients.
    CHECK(std::abs(mean - 0.7 * std::sqrt(alphaBar)) <= 5.0 * std::sqrt(wantVar / dim) + 1e-6);
    CHECK(std::abs(var - wantVar) <= 5.0 * wantVar * std::sqrt(2.0 / (dim - 1)) + 1e-6);
  }
  // The same noise reproduces xt exactly through the explicit-noise overload.
  recdiff::RowMatrix<TestType> again;
  diffusion.qSample(x0, t, noise, again);
  CHECK(again == xt);
}

TEST_CASE("The posterior equals the closed-form product of the two Gaussians", "[diffusion][posterior]") {
  // q(x_{t-1} | x_t, x0) ∝ N(x_t; sqrt(alpha_t) x_{t-1}, beta_t) · N(x_{t-1}; sqrt(alphaBar_{t-1}) x0, 1 - alphaBar_{t-1}):
  // precision = alpha_t / beta_t + 1 / (1 - alphaBar_{t-1}),
  // mean = (sqrt(alpha_t) x_t / beta_t + sqrt(alphaBar_{t-1}) x0 / (1 - alphaBar_{t-1})) / precision.
  const Index steps = 100, dim = 7;
  const CosineDiffusion<double> diffusion(recdiff::CosineSchedule{}, steps);
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::RowMatrix<double> x0(steps - 1, dim), xt(steps - 1, dim), mean;
  rng.fillNormal(x0);
  rng.fillNormal(xt);
  Eigen::ArrayXi t(steps - 1);
  for (Index i = 0; i < steps - 1; ++i) t(i) = static_cast<int>(i + 1);
  recdiff::ArrayX<double> variance, logVariance;
  diffusion.qPosteriorMeanVariance(x0, xt, t, mean, &variance, &logVariance);
  const auto& s = diffusion.tables();
  for (Index i = 0; i < steps - 1; ++i) {
    const Index k = t(i);
    INFO("t = " << k);
    const double precision = s.alphas(k) / s.betas(k) + 1.0 / (1.0 - s.alphaBar(k - 1));
    const recdiff::RowVector<double> want =
        (std::sqrt(s.alphas(k)) / s.betas(k) * xt.row(i) + std::sqrt(s.alphaBar(k - 1)) / (1.0 - s.alphaBar(k - 1)) * x0.row(i)) /
        precision;
    CHECK(recdiff::test::maxRelativeError(mean.row(i), want, 1e-8) < 1e-9);
    CHECK(variance(i) == Approx(1.0 / precision).epsilon(1e-9));
    CHECK(logVariance(i) == Approx(std::log(1.0 / precision)).epsilon(1e-9));
  }
}

TEST_CASE("The posterior matches the empirical distribution of x_{t-1} given x_t", "[diffusion][posterior]") {
  // Monte Carlo: draw x_{t-1} ~ q(x_{t-1} | x0) and x_t ~ q(x_t | x_{t-1}) jointly, then regress x_{t-1}
  // on x_t. For jointly Gaussian scalars, E[x_{t-1} | x_t] is linear with slope coef2 (x0 fixed), and the
  // residual variance is the posterior variance.
  const Index steps = 20, n = 200000;
  const CosineDiffusion<double> diffusion(recdiff::CosineSchedule{}, steps);
  const auto& s = diffusion.tables();
  recdiff::Rng rng(recdiff::test::seed());
  const double x0 = 0.3;
  for (const Index t : {1, 5, 19}) {
    INFO("t = " << t);
    Eigen::ArrayXd a(n), b(n), e1(n), e2(n);
    rng.fillNormal(e1);
    rng.fillNormal(e2);
    a = std::sqrt(s.alphaBar(t - 1)) * x0 + std::sqrt(1.0 - s.alphaBar(t - 1)) * e1;  // x_{t-1}
    b = std::sqrt(s.alphas(t)) * a + std::sqrt(s.betas(t)) * e2;                        // x_t
    const double ma = a.mean(), mb = b.mean();
    const double cov = ((a - ma) * (b - mb)).sum() / (n - 1), varB = (b - mb).square().sum() / (n - 1);
    const double slope = cov / varB;
    const double residual = ((a - ma) - slope * (b - mb)).square().sum() / (n - 2);
    // sd(slope) ≈ sqrt(residual / (n varB)); sd(residual variance) ≈ residual sqrt(2 / n); 5 sd each.
    CHECK(std::abs(slope - s.posteriorMeanCoef2(t)) <= 5.0 * std::sqrt(residual / (n * varB)));
    CHECK(std::abs(residual - s.posteriorVariance(t)) <= 5.0 * s.posteriorVariance(t) * std::sqrt(2.0 / n));
    // The intercept: mean of a minus slope times mean of b equals coef1 · x0.
    CHECK(std::abs((ma - slope * mb) - s.posteriorMeanCoef1(t) * x0) <= 5.0 * std::sqrt(residual / n) * (1.0 + std::abs(mb) / std::sqrt(varB)));
  }
}

TEMPLATE_TEST_CASE("x0 and epsilon conversions invert each other and invert qSample", "[diffusion][conversion]", float,
                   double) {
  const CosineDiffusion<TestType> diffusion(recdiff::CosineSchedule{}, 30);
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::RowMatrix<TestType> x0(6, 9), noise(6, 9), xt, x0Back, epsBack;
  rng.fillNormal(x0);
  rng.fillNormal(noise);
  Eigen::ArrayXi t(6);
  t << 0, 3, 9, 17, 25, 29;
  diffusion.qSample(x0, t, noise, xt);
  diffusion.predictX0FromEps(xt, t, noise, x0Back);
  diffusion.predictEpsFromX0(xt, t, x0, epsBack);
  // The inversions divide by sqrt(alphaBar_t) and sqrt(1 / alphaBar_t - 1): tolerance relative to the scale.
  const double tol = std::is_same_v<TestType, float> ? 2e-3 : 1e-9;
  CHECK((x0Back - x0).cwiseAbs().maxCoeff() < tol);
  CHECK((epsBack - noise).cwiseAbs().maxCoeff() < tol);
}

TEST_CASE("The masked qSample keeps x0 where the mask is zero", "[diffusion][qsample]") {
  const CosineDiffusion<double> diffusion(recdiff::CosineSchedule{}, 10);
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::RowMatrix<double> x0(3, 5), noise(3, 5), full, masked;
  rng.fillNormal(x0);
  rng.fillNormal(noise);
  Eigen::MatrixXi mask(3, 5);
  mask << 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0;
  const Eigen::ArrayXi t = Eigen::ArrayXi::LinSpaced(3, 2, 8);
  diffusion.qSample(x0, t, noise, full);
  diffusion.qSample(x0, t, noise, mask, masked);
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 5; ++j) CHECK(masked(i, j) == (mask(i, j) == 0 ? x0(i, j) : full(i, j)));
}

TEST_CASE("Reverse variances follow the policy", "[diffusion][psample]") {
  const Index steps = 12;
  recdiff::RowMatrix<double> xt = recdiff::RowMatrix<double>::Ones(steps, 3), out = xt, mean;
  Eigen::ArrayXi t = Eigen::ArrayXi::LinSpaced(steps, 0, static_cast<int>(steps - 1));
  recdiff::ArrayX<double> small, large, none;
  CosineDiffusion<double, recdiff::FixedSmallVariance>(recdiff::CosineSchedule{}, steps).pMeanVariance(xt, t, out, mean, &small);
  const CosineDiffusion<double, recdiff::FixedLargeVariance> largeDiffusion(recdiff::CosineSchedule{}, steps);
  largeDiffusion.pMeanVariance(xt, t, out, mean, &large);
  CosineDiffusion<double, recdiff::NoNoiseVariance>(recdiff::CosineSchedule{}, steps).pMeanVariance(xt, t, out, mean, &none);
  const auto& s = largeDiffusion.tables();
  CHECK(small(0) == Approx(std::log(s.posteriorVariance(1))));
  CHECK(large(0) == Approx(std::log(s.posteriorVariance(1))));
  for (Index k = 1; k < steps; ++k) {
    CHECK(small(k) == Approx(std::log(s.posteriorVariance(k))));
    CHECK(large(k) == Approx(std::log(s.betas(k))));
    CHECK(std::isinf(none(k)));
  }
}

TEMPLATE_TEST_CASE("pSample adds sigma_t noise except at t = 0", "[diffusion][psample]", float, double) {
  const Index steps = 8;
  const CosineDiffusion<TestType, recdiff::FixedLargeVariance, recdiff::PredictEpsilon> diffusion(recdiff::CosineSchedule{}, steps);
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::RowMatrix<TestType> xt(steps, 4), eps(steps, 4), noise(steps, 4), mean, out, quiet;
  rng.fillNormal(xt);
  rng.fillNormal(eps);
  rng.fillNormal(noise);
  const Eigen::ArrayXi t = Eigen::ArrayXi::LinSpaced(steps, 0, static_cast<int>(steps - 1));
  diffusion.pMeanVariance(xt, t, eps, mean);
  diffusion.pSample(xt, t, eps, noise, out);
  diffusion.pSample(xt, t, eps, noise, quiet, false);
  CHECK(quiet == mean);
  CHECK(out.row(0) == mean.row(0));
  for (Index k = 1; k < steps; ++k) {
    const recdiff::RowVector<TestType> want = mean.row(k) + diffusion.reverseStd()(k) * noise.row(k);
    CHECK((out.row(k) - want).cwiseAbs().maxCoeff() <= Tolerance<TestType>::kTight * 10);
    CHECK(diffusion.reverseStd()(k) == Approx(std::sqrt(diffusion.tables().betas(k))).epsilon(1e-6));
  }
  // In place: the output may be the input.
  recdiff::RowMatrix<TestType> inPlace = xt;
  diffusion.pSample(inPlace, t, eps, noise, inPlace);
  CHECK((inPlace - out).cwiseAbs().maxCoeff() == 0);
}

TEST_CASE("qSample reproduces DiffRec x_t for every golden case", "[diffusion][qsample][golden]") {
  const auto golden = recdiff::test::loadGolden("diffrec_dnn.json");
  REQUIRE(!golden.at("cases").empty());
  const auto& caseList = golden.at("cases");
  for (std::size_t caseIndex = 0; caseIndex < caseList.size(); ++caseIndex) {
    const auto& c = caseList[caseIndex];
    DYNAMIC_SECTION("case " << caseIndex) {  // one section per case: every failing case is reported
      REQUIRE(c.at("schedule").get<std::string>() == "linear-var");  // the only schedule DiffRec's runs use
      const Index steps = c.at("steps").get<Index>();
      INFO("case seed " << c.at("seed").get<int>() << ", steps " << steps);
      const auto schedule = recdiff::diffRecSchedule(c.at("noise_scale").get<double>(), c.at("noise_min").get<double>(),
                                                     c.at("noise_max").get<double>());
      const recdiff::GaussianDiffusion<decltype(schedule), recdiff::PredictX0, recdiff::FixedSmallVariance, double>
          diffusion(schedule, steps);
      const auto x0 = recdiff::test::goldenMatrix(c.at("x_start"));
      const auto noise = recdiff::test::goldenMatrix(c.at("noise"));
      const auto expected = recdiff::test::goldenMatrix(c.at("x_t"));
      const auto ts = c.at("timesteps").get<std::vector<int>>();
      const Eigen::ArrayXi t = Eigen::Map<const Eigen::ArrayXi>(ts.data(), static_cast<Index>(ts.size()));
      recdiff::RowMatrix<double> xt;
      diffusion.qSample(x0, t, noise, xt);
      // The reference casts each coefficient through float32 (_extract_into_tensor(...).float()).
      CHECK(recdiff::test::maxRelativeError(xt, expected, 1e-3) <= Tolerance<double>::kModel);
    }
  }
}

TEST_CASE("GaussianDiffusion rejects bad shapes and timesteps with named messages", "[diffusion][errors]") {
  const CosineDiffusion<double> diffusion(recdiff::CosineSchedule{}, 10);
  recdiff::RowMatrix<double> x0 = recdiff::RowMatrix<double>::Zero(3, 4), out;
  const recdiff::RowMatrix<double> wrong = recdiff::RowMatrix<double>::Zero(3, 5);
  Eigen::ArrayXi t(3);
  t << 0, 1, 2;
  const Eigen::ArrayXi shortT = Eigen::ArrayXi::Zero(2);
  Eigen::ArrayXi badT(3);
  badT << 0, 10, 2;
  CHECK_THROWS_WITH(diffusion.qSample(x0, shortT, x0, out),
                    Catch::Contains("GaussianDiffusion::qSample(): the batch has 3 rows but t has 2 entries"));
  CHECK_THROWS_WITH(diffusion.qSample(x0, badT, x0, out), Catch::Contains("t[1] = 10 is outside [0, 10)"));
  CHECK_THROWS_WITH(diffusion.qSample(x0, t, wrong, out), Catch::Contains("qSample(): noise is [3 × 5]"));
  CHECK_THROWS_WITH(diffusion.qSample(x0, t, x0, wrong, out), Catch::Contains("qSample(): mask is [3 × 5]"));
  CHECK_THROWS_WITH(diffusion.qPosteriorMeanVariance(wrong, x0, t, out), Catch::Contains("qPosteriorMeanVariance(): x0"));
  CHECK_THROWS_WITH(diffusion.pMeanVariance(x0, t, wrong, out), Catch::Contains("pMeanVariance(): modelOut"));
  CHECK_THROWS_WITH(diffusion.pSample(x0, t, x0, wrong, out), Catch::Contains("pSample(): noise"));
  CHECK_THROWS_WITH(diffusion.predictX0FromEps(x0, t, wrong, out), Catch::Contains("predictX0FromEps(): eps"));
  CHECK_THROWS_WITH(diffusion.predictEpsFromX0(x0, badT, x0, out), Catch::Contains("predictEpsFromX0(): t[1] = 10"));
  CHECK_THROWS_WITH(CosineDiffusion<double>(recdiff::CosineSchedule{}, 0), Catch::Contains("GaussianDiffusion: steps must be positive"));
  CHECK_THROWS_AS(CosineDiffusion<double>(recdiff::CosineSchedule{}, -1), std::invalid_argument);
  CHECK_THROWS_WITH((recdiff::GaussianDiffusion<recdiff::ExplicitSchedule>(recdiff::ExplicitSchedule(Eigen::ArrayXd::Constant(4, 0.1)), 5)),
                    Catch::Contains("ExplicitSchedule::betas(): holds 4"));
  CHECK_THROWS_WITH(diffusion.snr(badT), Catch::Contains("snr(): t[1] = 10"));
}
