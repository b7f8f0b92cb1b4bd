#include <recdiff/nn/mse_loss.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

using recdiff::ArrayX;
using recdiff::RowMatrix;

TEMPLATE_TEST_CASE("Row MSE and its gradient match a hand-computed case", "[nn][mse_loss]", float, double) {
  using S = TestType;
  RowMatrix<S> pred(2, 3), target(2, 3);
  pred << 1, 2, 3, 0, 0, 0;
  target << 1, 0, 0, 1, -1, 2;
  ArrayX<S> perRow;
  recdiff::nn::rowMeanSquaredError(pred, target, perRow);
  REQUIRE(perRow.size() == 2);
  CHECK(perRow(0) == Approx((0 + 4 + 9) / 3.0));
  CHECK(perRow(1) == Approx((1 + 1 + 4) / 3.0));
  CHECK(recdiff::nn::meanSquaredError(pred, target) == Approx((13 + 6) / 6.0));
  ArrayX<S> w(2);
  w << 1, 3;
  RowMatrix<S> dPred;
  recdiff::nn::rowMeanSquaredErrorGradient(pred, target, w, dPred);
  RowMatrix<S> expected(2, 3);
  expected << 0, 4.0 / 3, 6.0 / 3, -2.0, 2.0, -4.0;
  CHECK(dPred.isApprox(expected));
}

TEST_CASE("Row MSE gradient matches central differences", "[nn][mse_loss][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  RowMatrix<double> pred = recdiff::test::randomMatrix<double>(4, 5, rng);
  const RowMatrix<double> target = recdiff::test::randomMatrix<double>(4, 5, rng);
  ArrayX<double> w(4);
  w << 0.5, 2.0, 1.0, 3.0;
  auto loss = [&] {
    ArrayX<double> perRow;
    recdiff::nn::rowMeanSquaredError(pred, target, perRow);
    return (perRow * w).sum();
  };
  RowMatrix<double> dPred;
  recdiff::nn::rowMeanSquaredErrorGradient(pred, target, w, dPred);
  const recdiff::ColVector<double> g = Eigen::Map<const recdiff::ColVector<double>>(dPred.data(), dPred.size());
  CHECK(recdiff::test::relativeError(g, recdiff::test::finiteDifferenceGradient(pred, loss)) < 1e-6);
}

TEST_CASE("Row MSE rejects mismatched shapes", "[nn][mse_loss]") {
  RowMatrix<double> a(2, 3), b(3, 2);
  a.setZero();
  b.setZero();
  ArrayX<double> perRow;
  CHECK_THROWS_AS(recdiff::nn::rowMeanSquaredError(a, b, perRow), std::invalid_argument);
  ArrayX<double> w(3);
  RowMatrix<double> d;
  CHECK_THROWS_AS(recdiff::nn::rowMeanSquaredErrorGradient(a, a, w, d), std::invalid_argument);
}
