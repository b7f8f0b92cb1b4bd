#include <recdiff/baselines/rp3beta.hpp>

#include <cmath>

#include "baselines/fixtures.hpp"
#include "support/catch.hpp"
#include "support/test_env.hpp"
#include "support/tolerances.hpp"

using recdiff::Index;
using recdiff::RowMatrix;
using recdiff::baselines::RP3beta;

namespace {
/// Dense reference: W = (P_iu^α)(P_ui^α) with the arrival popularity penalty, zero diagonal.
Eigen::MatrixXd denseWalk(const Eigen::MatrixXd& x, double alpha, double beta) {
  const Eigen::VectorXd userSum = x.rowwise().sum();
  Eigen::VectorXd popularity(x.cols());
  for (Index i = 0; i < x.cols(); ++i) popularity(i) = double((x.col(i).array() != 0.0).count());
  Eigen::MatrixXd pui = x;
  for (Index u = 0; u < x.rows(); ++u) pui.row(u) /= userSum(u);
  Eigen::MatrixXd piu = (x.array() != 0.0).cast<double>().matrix().transpose();
  for (Index i = 0; i < x.cols(); ++i) piu.row(i) /= popularity(i);
  // Element-wise std::pow (Eigen's vectorised pow trips GCC 12's -Wuninitialized in its AVX-512 headers).
  const auto power = [alpha](double v) { return std::pow(v, alpha); };
  Eigen::MatrixXd w = piu.unaryExpr(power) * pui.unaryExpr(power);
  for (Index j = 0; j < x.cols(); ++j) w.col(j) *= std::pow(popularity(j), -beta);
  w.diagonal().setZero();
  return w;
}
}  // namespace

TEST_CASE("RP3beta transition matrices are row-stochastic", "[baselines][rp3beta]") {
  recdiff::Rng rng(recdiff::test::seed());
  auto x = recdiff::test::randomBinary(50, 23, 0.2, rng);
  // Non-binary weights too: P_ui follows the values, P_iu only the pattern.
  for (Index k = 0; k < x.nonZeros(); ++k) x.valuePtr()[k] = float(1 + k % 5);
  const auto pui = RP3beta<double>::userToItem(x);
  const auto piu = RP3beta<double>::itemToUser(x);
  REQUIRE(pui.rows() == 50);
  REQUIRE(pui.cols() == 23);
  REQUIRE(piu.rows() == 23);
  REQUIRE(piu.cols() == 50);
  const Eigen::VectorXf pSums = Eigen::MatrixXf(pui).rowwise().sum();
  const Eigen::VectorXf qSums = Eigen::MatrixXf(piu).rowwise().sum();
  CHECK((pSums.array() - 1.0f).abs().maxCoeff() < 1e-6f);
  CHECK((qSums.array() - 1.0f).abs().maxCoeff() < 1e-6f);
  // The two-step item → user → item walk is row-stochastic as well (before the diagonal is removed).
  const Eigen::MatrixXd twoStep = Eigen::MatrixXd(Eigen::MatrixXf(piu).cast<double>()) *
                                  Eigen::MatrixXd(Eigen::MatrixXf(pui).cast<double>());
  CHECK((twoStep.rowwise().sum().array() - 1.0).abs().maxCoeff() < 1e-6);
  CHECK((twoStep.array() >= 0.0).all());
}

TEMPLATE_TEST_CASE("RP3beta walk matches the dense formula", "[baselines][rp3beta]", float, double) {
  recdiff::Rng rng(recdiff::test::seed() + 3);
  const auto x = recdiff::test::randomBinary(40, 15, 0.25, rng);
  const Eigen::MatrixXd dense = Eigen::MatrixXf(x).cast<double>();
  for (const auto& [alpha, beta] : {std::pair{1.0, 0.0}, std::pair{0.7, 0.3}, std::pair{1.3, 0.9}}) {
    INFO("alpha " << alpha << " beta " << beta);
    const Eigen::MatrixXd expected = denseWalk(dense, alpha, beta);
    const Eigen::MatrixXd w = RP3beta<TestType>::walk(x, alpha, beta).template cast<double>();
    CHECK((w - expected).cwiseAbs().maxCoeff() / expected.cwiseAbs().maxCoeff() <
          recdiff::test::Tolerance<TestType>::kModel);
  }
}

TEMPLATE_TEST_CASE("RP3beta keeps the k largest weights of every row and scores with them", "[baselines][rp3beta]",
                   float, double) {
  recdiff::Rng rng(recdiff::test::seed() + 4);
  const auto x = recdiff::test::randomBinary(40, 15, 0.3, rng);
  const RowMatrix<TestType> full = RP3beta<TestType>::walk(x, 0.8, 0.4);
  RP3beta<TestType> rp3({.alpha = 0.8, .beta = 0.4, .neighbours = 4});
  rp3.fit(x);
  const RowMatrix<TestType> w = rp3.weights().toDense();
  for (Index i = 0; i < 15; ++i) {
    CHECK(rp3.weights().innerVector(i).nonZeros() <= 4);
    // Every kept weight is the walk's, and at least as large as every dropped one.
    TestType smallestKept = std::numeric_limits<TestType>::infinity();
    TestType largestDropped = 0;
    for (Index j = 0; j < 15; ++j) {
      if (w(i, j) != TestType(0)) {
        CHECK(w(i, j) == full(i, j));
        smallestKept = std::min(smallestKept, w(i, j));
      } else {
        largestDropped = std::max(largestDropped, full(i, j));
      }
    }
    CHECK(smallestKept >= largestDropped);
  }
  RowMatrix<TestType> scores;
  rp3.score(x, 0, 40, scores);
  const RowMatrix<TestType> expected = Eigen::MatrixXf(x).cast<TestType>() * w;
  CHECK((scores - expected).cwiseAbs().maxCoeff() < recdiff::test::Tolerance<TestType>::kTight);

  RP3beta<TestType> normalized({.alpha = 0.8, .beta = 0.4, .neighbours = 4, .normalizeRows = true});
  normalized.fit(x);
  const RowMatrix<TestType> wn = normalized.weights().toDense();
  for (Index i = 0; i < 15; ++i) CHECK(std::abs(double(wn.row(i).sum()) - 1.0) < recdiff::test::Tolerance<TestType>::kTight);
}

TEST_CASE("RP3beta rejects invalid hyperparameters", "[baselines][rp3beta]") {
  CHECK_THROWS_AS(RP3beta<float>({.alpha = 0.0}), std::invalid_argument);
  CHECK_THROWS_AS(RP3beta<float>({.alpha = 1.0, .beta = -0.1}), std::invalid_argument);
  CHECK_THROWS_AS(RP3beta<float>({.alpha = 1.0, .beta = 0.1, .neighbours = 0}), std::invalid_argument);
}
