#include <recdiff/baselines/ease.hpp>

#include <Eigen/LU>

#include <string>

#include "baselines/fixtures.hpp"
#include "support/catch.hpp"
#include "support/test_env.hpp"
#include "support/tolerances.hpp"

using recdiff::Index;
using recdiff::RowMatrix;
using recdiff::baselines::EASE;
using recdiff::baselines::EASESolver;

namespace {
/// EASE column by column, directly: b_{−j,j} = (G_{−j,−j} + λI)⁻¹ G_{−j,j}, b_jj = 0 (ridge regression of
/// item j on all the other items), in double with a pivoted LU.
Eigen::MatrixXd directSolve(const Eigen::MatrixXd& g, double lambda) {
  const Index n = g.rows();
  Eigen::MatrixXd b = Eigen::MatrixXd::Zero(n, n);
  for (Index j = 0; j < n; ++j) {
    std::vector<Index> others;
    for (Index i = 0; i < n; ++i)
      if (i != j) others.push_back(i);
    Eigen::MatrixXd a(n - 1, n - 1);
    Eigen::VectorXd rhs(n - 1);
    for (Index r = 0; r < n - 1; ++r) {
      rhs(r) = g(others[r], j);
      for (Index c = 0; c < n - 1; ++c) a(r, c) = g(others[r], others[c]);
      a(r, r) += lambda;
    }
    const Eigen::VectorXd col = a.fullPivLu().solve(rhs);
    for (Index r = 0; r < n - 1; ++r) b(others[r], j) = col(r);
  }
  return b;
}
}  // namespace

TEMPLATE_TEST_CASE("EASE closed form matches a direct constrained solve", "[baselines][ease]", float, double) {
  recdiff::Rng rng(recdiff::test::seed());
  const auto x = recdiff::test::randomBinary(60, 17, 0.3, rng);
  const double lambda = 7.5;
  const Eigen::MatrixXd dense = Eigen::MatrixXf(x).cast<double>();
  const Eigen::MatrixXd g = dense.transpose() * dense;
  const Eigen::MatrixXd expected = directSolve(g, lambda);

  for (const EASESolver solver : {EASESolver::llt, EASESolver::ldlt}) {
    EASE<TestType> ease({.lambda = lambda, .solver = solver});
    ease.fit(x);
    const Eigen::MatrixXd b = ease.weights().template cast<double>();
    INFO("solver " << (solver == EASESolver::llt ? "llt" : "ldlt"));
    // The constraint: the diagonal is exactly zero.
    CHECK(b.diagonal().isZero(0.0));
    CHECK((b - expected).cwiseAbs().maxCoeff() / expected.cwiseAbs().maxCoeff() <
          recdiff::test::Tolerance<TestType>::kModel);
    // Stationarity of the Lagrangian ‖X − XB‖² + λ‖B‖² + 2γᵀdiag(B): (G + λI)B − G = −diagMat(γ), so every
    // off-diagonal entry of the residual vanishes (the diagonal holds the multipliers).
    Eigen::MatrixXd residual = (g + lambda * Eigen::MatrixXd::Identity(17, 17)) * b - g;
    residual.diagonal().setZero();
    CHECK(residual.cwiseAbs().maxCoeff() / g.cwiseAbs().maxCoeff() < recdiff::test::Tolerance<TestType>::kModel);
  }
}

TEMPLATE_TEST_CASE("EASE scores are the user rows times B", "[baselines][ease]", float, double) {
  recdiff::Rng rng(recdiff::test::seed() + 1);
  const auto x = recdiff::test::randomBinary(30, 9, 0.4, rng);
  EASE<TestType> ease({.lambda = 3.0});
  ease.fit(x);
  RowMatrix<TestType> scores;
  ease.score(x, 5, 10, scores);
  REQUIRE(scores.rows() == 10);
  REQUIRE(scores.cols() == 9);
  const Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic> dense = Eigen::MatrixXf(x).cast<TestType>();
  const RowMatrix<TestType> expected = dense.middleRows(5, 10) * ease.weights();
  CHECK((scores - expected).cwiseAbs().maxCoeff() < recdiff::test::Tolerance<TestType>::kTight);

  // fitGram() on the precomputed Gram matrix gives the same model.
  EASE<TestType> fromGram({.lambda = 3.0});
  fromGram.fitGram(EASE<TestType>::gram(x));
  CHECK((fromGram.weights() - ease.weights()).cwiseAbs().maxCoeff() < recdiff::test::Tolerance<TestType>::kTight);
}

TEST_CASE("EASE refuses a Gram matrix larger than the memory limit before allocating", "[baselines][ease]") {
  recdiff::Rng rng(recdiff::test::seed());
  const auto x = recdiff::test::randomBinary(20, 12, 0.3, rng);
  // Two 12 × 12 float matrices need 1152 bytes.
  CHECK(EASE<float>::requiredBytes(12) == 1152);
  EASE<float> small({.lambda = 1.0, .memoryLimitBytes = 1151});
  CHECK_THROWS_AS(small.fit(x), recdiff::MemoryError);
  try {
    small.fit(x);
  } catch (const recdiff::MemoryError& e) {
    const std::string what = e.what();
    CHECK(what.find("EASE::fit(): 2 dense 12 x 12 float matrices (12 items) needs 0.00 GiB") != std::string::npos);
    CHECK(e.needed() == 1152);
    CHECK(e.available() == 1151);
    CHECK(what.find("EASE fits at most 11 items here") != std::string::npos);
  }
  EASE<float> enough({.lambda = 1.0, .memoryLimitBytes = 1152});
  CHECK_NOTHROW(enough.fit(x));
}

TEST_CASE("EASE states the largest item count that fits in 24 GiB", "[baselines][ease]") {
  const std::uint64_t bytes = std::uint64_t(24) << 30;
  CHECK(EASE<float>::maxItems(bytes) == 56755);
  CHECK(EASE<double>::maxItems(bytes) == 40132);
  for (const std::uint64_t b : {std::uint64_t(1000), std::uint64_t(123456789), bytes}) {
    const Index n = EASE<double>::maxItems(b);
    CHECK(EASE<double>::requiredBytes(n) <= b);
    CHECK(EASE<double>::requiredBytes(n + 1) > b);
  }
}

TEST_CASE("EASE rejects a non-positive lambda and unfitted scoring", "[baselines][ease]") {
  CHECK_THROWS_AS(EASE<float>({.lambda = 0.0}), std::invalid_argument);
  CHECK_THROWS_AS(EASE<float>({.lambda = -1.0}), std::invalid_argument);
  EASE<float> ease;
  RowMatrix<float> scores;
  CHECK_THROWS_AS(ease.score(recdiff::test::handExample(), 0, 1, scores), std::invalid_argument);
}
