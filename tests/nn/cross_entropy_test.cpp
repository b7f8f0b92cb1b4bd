#include <cmath>

#include <recdiff/nn/cross_entropy.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

using recdiff::RowMatrix;

TEMPLATE_TEST_CASE("ItemCrossEntropy matches a hand-computed case", "[nn][cross_entropy]", float, double) {
  using S = TestType;
  RowMatrix<S> x(1, 2), table(3, 2), dTable = RowMatrix<S>::Zero(3, 2), dx;
  x << S(1), S(0);
  table << S(0), S(0), S(1), S(0), S(0), S(1);  // scores [0, 1, 0]
  Eigen::ArrayXi labels(1);
  labels << 1;
  recdiff::nn::ItemCrossEntropy<S> ce;
  const S loss = ce.forward(x, table, labels);
  const double e = std::exp(1.0), tol = std::is_same_v<S, float> ? 1e-6 : 1e-14;
  CHECK(std::abs(loss - (std::log(2.0 + e) - 1.0)) < tol);
  ce.backward(dx, dTable);
  CHECK(std::abs(dx(0, 0) + 2.0 / (2.0 + e)) < tol);
  CHECK(std::abs(dx(0, 1) - 1.0 / (2.0 + e)) < tol);
  CHECK(std::abs(dTable(0, 0) - 1.0 / (2.0 + e)) < tol);
  CHECK(std::abs(dTable(1, 0) - (e / (2.0 + e) - 1.0)) < tol);
  CHECK(std::abs(dTable(2, 0) - 1.0 / (2.0 + e)) < tol);
  CHECK(dTable.col(1).cwiseAbs().maxCoeff() == S(0));
}

TEST_CASE("ItemCrossEntropy gradients match central differences", "[nn][cross_entropy][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  RowMatrix<double> x = recdiff::test::randomMatrix<double>(4, 3, rng);
  RowMatrix<double> table = recdiff::test::randomMatrix<double>(6, 3, rng);
  Eigen::ArrayXi labels(4);
  labels << 0, 5, 2, 2;
  recdiff::nn::ItemCrossEntropy<double> ce;
  RowMatrix<double> dx, dTable = RowMatrix<double>::Zero(6, 3);
  ce.forward(x, table, labels);
  ce.backward(dx, dTable, 0.5);
  const auto loss = [&] { return 0.5 * ce.forward(x, table, labels); };
  const recdiff::ColVector<double> fdX = recdiff::test::finiteDifferenceGradient(x, loss);
  const recdiff::ColVector<double> fdT = recdiff::test::finiteDifferenceGradient(table, loss);
  CHECK(recdiff::test::relativeError(Eigen::Map<const recdiff::ColVector<double>>(dx.data(), dx.size()), fdX) < 1e-6);
  CHECK(recdiff::test::relativeError(Eigen::Map<const recdiff::ColVector<double>>(dTable.data(), dTable.size()), fdT) <
        1e-6);
}

TEST_CASE("ItemCrossEntropy rejects labels outside the table", "[nn][cross_entropy]") {
  RowMatrix<double> x(1, 2), table(3, 2);
  x.setZero();
  table.setZero();
  Eigen::ArrayXi labels(1);
  labels << 3;
  recdiff::nn::ItemCrossEntropy<double> ce;
  CHECK_THROWS_AS(ce.forward(x, table, labels), std::invalid_argument);
}
