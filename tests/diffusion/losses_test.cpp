// Tests for include/recdiff/diffusion/losses.hpp: DiffRec's reweighted loss against the golden per-example
// weights and losses, and the gradient against central differences.
#include <recdiff/diffusion.hpp>

#include <string>

#include "support/catch.hpp"
#include "support/golden.hpp"
#include "support/test_env.hpp"
#include "support/tolerances.hpp"

using recdiff::Index;
using recdiff::test::Tolerance;

namespace {

template <class Param>
void checkDiffRecCase(const recdiff::test::Json& c) {
  const Index steps = c.at("steps").get<Index>();
  const auto schedule = recdiff::diffRecSchedule(c.at("noise_scale").get<double>(), c.at("noise_min").get<double>(),
                                                 c.at("noise_max").get<double>());
  const recdiff::GaussianDiffusion<decltype(schedule), Param, recdiff::FixedSmallVariance, double> diffusion(schedule, steps);
  const auto x0 = recdiff::test::goldenMatrix(c.at("x_start"));
  const auto noise = recdiff::test::goldenMatrix(c.at("noise"));
  const auto xt = recdiff::test::goldenMatrix(c.at("x_t"));
  const auto out = recdiff::test::goldenMatrix(c.at("model_output"));
  const auto ts = c.at("timesteps").get<std::vector<int>>();
  const Eigen::ArrayXi t = Eigen::Map<const Eigen::ArrayXi>(ts.data(), static_cast<Index>(ts.size()));
  const bool reweight = c.at("reweight").get<bool>();
  // The golden runs sample t uniformly (the loss history is not warm yet), so every importance weight is 1.
  const auto ones = recdiff::ArrayX<double>::Ones(t.size());
  // Parity with the reference's numbers needs its float32 coefficients in the t = 0 eps likelihood term
  // (DiffRec's _extract_into_tensor(...).float(), models/gaussian_diffusion.py): with exact coefficients the
  // per-example loss of such a case moves by up to ~3e-6 relative (the seed-12 eps case: 1.44e-6), which is
  // the reference's float32 rounding, not ours. The tolerance stays Tolerance<double>::kModel.
  const auto loss = recdiff::diffusionLoss(diffusion, x0, xt, noise, t, out, ones, reweight, false,
                                           recdiff::CoefficientPrecision::kReferenceFloat32);
  const Eigen::ArrayXd weight = !reweight ? Eigen::ArrayXd::Ones(t.size())
                                : std::is_same_v<Param, recdiff::PredictX0> ? recdiff::reweightX0(diffusion, t)
                                                                            : recdiff::reweightEpsilon(diffusion, t);
  CHECK(recdiff::test::maxRelativeError(weight, recdiff::test::goldenArray(c.at("per_example_weight"))) <=
        Tolerance<double>::kTable);
  CHECK(recdiff::test::maxRelativeError(loss.loss, recdiff::test::goldenArray(c.at("per_example_loss"))) <=
        Tolerance<double>::kModel);
  CHECK(loss.loss.mean() == Approx(c.at("loss").get<double>()).epsilon(Tolerance<double>::kModel));
}

}  // namespace

TEST_CASE("The reweighted loss reproduces DiffRec training_losses for every golden case", "[diffusion][losses][golden]") {
  const auto golden = recdiff::test::loadGolden("diffrec_dnn.json");
  const auto& cases = golden.at("cases");
  REQUIRE(!cases.empty());
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const auto& c = cases[k];
    const std::string meanType = c.at("mean_type").get<std::string>();
    DYNAMIC_SECTION("case " << k << ": seed " << c.at("seed").get<int>() << ", mean type " << meanType) {
      if (meanType == "x0") {
        checkDiffRecCase<recdiff::PredictX0>(c);
      } else {
        REQUIRE(meanType == "eps");
        checkDiffRecCase<recdiff::PredictEpsilon>(c);
      }
    }
  }
}

TEST_CASE("Exact likelihood coefficients differ from the reference's float32 ones only at t = 0 of eps", "[diffusion][losses]") {
  const recdiff::GaussianDiffusion<recdiff::FixedFirstBeta<recdiff::LinearVarianceSchedule>, recdiff::PredictEpsilon,
                                   recdiff::FixedSmallVariance, double>
      diffusion(recdiff::diffRecSchedule(0.1, 1e-4, 0.02), 4);
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::RowMatrix<double> x0(3, 6), noise(3, 6), out(3, 6), xt;
  rng.fillNormal(x0);
  rng.fillNormal(noise);
  rng.fillNormal(out);
  Eigen::ArrayXi t(3);
  t << 0, 2, 3;
  diffusion.qSample(x0, t, noise, xt);
  const auto ones = recdiff::ArrayX<double>::Ones(3);
  const auto exact = recdiff::diffusionLoss(diffusion, x0, xt, noise, t, out, ones, true);
  const auto f32 = recdiff::diffusionLoss(diffusion, x0, xt, noise, t, out, ones, true, false,
                                          recdiff::CoefficientPrecision::kReferenceFloat32);
  CHECK(exact.loss(1) == f32.loss(1));
  CHECK(exact.loss(2) == f32.loss(2));
  const double a = static_cast<float>(diffusion.tables().sqrtRecipAlphaBar(0));
  const double b = static_cast<float>(diffusion.tables().sqrtRecipAlphaBarMinusOne(0));
  const double expected = (x0.row(0) - (a * xt.row(0) - b * out.row(0))).squaredNorm() / 6.0 / 2.0;
  CHECK(f32.loss(0) == Approx(expected).epsilon(1e-14));
  CHECK(exact.loss(0) != f32.loss(0));
}

TEMPLATE_TEST_CASE("The loss gradient matches central differences", "[diffusion][losses][gradcheck]", recdiff::PredictX0,
                   recdiff::PredictEpsilon) {
  const recdiff::GaussianDiffusion<recdiff::LinearVarianceSchedule, TestType, recdiff::FixedSmallVariance, double> diffusion(
      recdiff::LinearVarianceSchedule{}, 6);
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::RowMatrix<double> x0(4, 5), noise(4, 5), out(4, 5), xt;
  rng.fillNormal(x0);
  rng.fillNormal(noise);
  rng.fillNormal(out);
  Eigen::ArrayXi t(4);
  t << 0, 5, 2, 1;
  diffusion.qSample(x0, t, noise, xt);
  recdiff::ArrayX<double> iw(4);
  iw << 1.0, 0.5, 2.0, 1.5;
  const auto loss = diffusionLoss(diffusion, x0, xt, noise, t, out, iw, true, true);
  CHECK(loss.loss.isApprox(loss.weighted * iw));
  recdiff::DiffusionLoss<double> reused;  // the in-place overload agrees, and always has the gradient
  recdiff::diffusionLoss(diffusion, x0, xt, noise, t, out, iw, true, reused);
  CHECK(reused.loss.isApprox(loss.loss));
  CHECK(reused.dOut.isApprox(loss.dOut));
  const double h = 1e-3;  // the loss is quadratic in out: central differences are exact up to rounding
  double worst = 0.0;
  for (Index i = 0; i < out.rows(); ++i)
    for (Index j = 0; j < out.cols(); ++j) {
      recdiff::RowMatrix<double> plus = out, minus = out;
      plus(i, j) += h;
      minus(i, j) -= h;
      const double fd = (diffusionLoss(diffusion, x0, xt, noise, t, plus, iw, true).loss.mean() -
                         diffusionLoss(diffusion, x0, xt, noise, t, minus, iw, true).loss.mean()) / (2 * h);
      worst = std::max(worst, std::abs(fd - loss.dOut(i, j)) / std::max(1.0, std::abs(fd)));
    }
  CHECK(worst < Tolerance<double>::kGradCheck);
}

TEST_CASE("perExampleMse averages squared errors over columns", "[diffusion][losses]") {
  recdiff::RowMatrix<double> a(2, 3), b(2, 3);
  a << 1, 2, 3, 4, 5, 6;
  b << 1, 2, 5, 4, 4, 4;
  const auto mse = recdiff::perExampleMse(a, b);
  CHECK(mse(0) == Approx(4.0 / 3.0));
  CHECK(mse(1) == Approx(5.0 / 3.0));
  CHECK_THROWS_WITH(recdiff::perExampleMse(a, recdiff::RowMatrix<double>(2, 2)), Catch::Contains("perExampleMse(): pred is [2 × 3]"));
  const recdiff::GaussianDiffusion<recdiff::CosineSchedule, recdiff::PredictX0, recdiff::FixedSmallVariance, double> d(
      recdiff::CosineSchedule{}, 5);
  const Eigen::ArrayXi t = Eigen::ArrayXi::Zero(2);
  CHECK_THROWS_WITH(recdiff::diffusionLoss(d, a, a, a, t, a, recdiff::ArrayX<double>::Ones(3), true),
                    Catch::Contains("importanceWeights has 3 entries"));
  CHECK_THROWS_WITH(recdiff::diffusionLoss(d, a, a, a, t, b.leftCols(2), recdiff::ArrayX<double>::Ones(2), true),
                    Catch::Contains("modelOut is [2 × 2]"));
  Eigen::ArrayXi badT(2);
  badT << 0, 5;
  CHECK_THROWS_WITH(recdiff::reweightX0(d, badT), Catch::Contains("recdiff::reweightX0(): t[1] = 5 is outside [0, 5)"));
  CHECK_THROWS_WITH(recdiff::reweightEpsilon(d, badT), Catch::Contains("recdiff::reweightEpsilon(): t[1] = 5"));
  CHECK_THROWS_WITH(recdiff::diffusionLoss(d, a, a, a, badT, a, recdiff::ArrayX<double>::Ones(2), true),
                    Catch::Contains("recdiff::diffusionLoss(): t[1] = 5"));
}
