#include <cmath>
#include <limits>

#include <recdiff/nn/softmax.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

using recdiff::RowMatrix;

TEMPLATE_TEST_CASE("Softmax matches a hand-computed row and its backward", "[nn][softmax]", float, double) {
  using S = TestType;
  recdiff::nn::Softmax<S> softmax;
  RowMatrix<S> x(2, 3);
  x << S(0), S(std::log(2.0)), S(std::log(3.0)),  //
      S(100), S(100), S(100);                      // large equal scores: no overflow
  RowMatrix<S> y, dx;
  softmax.forward(x, y);
  const double tol = std::is_same_v<S, float> ? 1e-6 : 1e-14;
  CHECK(std::abs(y(0, 0) - 1.0 / 6.0) < tol);
  CHECK(std::abs(y(0, 1) - 1.0 / 3.0) < tol);
  CHECK(std::abs(y(0, 2) - 1.0 / 2.0) < tol);
  for (int j = 0; j < 3; ++j) CHECK(std::abs(y(1, j) - 1.0 / 3.0) < tol);
  RowMatrix<S> dy = RowMatrix<S>::Zero(2, 3);
  dy(0, 0) = S(1);
  softmax.backward(dy, dx);
  CHECK(std::abs(dx(0, 0) - 5.0 / 36.0) < tol);
  CHECK(std::abs(dx(0, 1) + 1.0 / 18.0) < tol);
  CHECK(std::abs(dx(0, 2) + 1.0 / 12.0) < tol);
  CHECK(dx.row(1).cwiseAbs().maxCoeff() == S(0));
}

TEMPLATE_TEST_CASE("Softmax gives masked entries zero probability and all-masked rows zeros", "[nn][softmax]", float,
                   double) {
  using S = TestType;
  const S inf = std::numeric_limits<S>::infinity();
  RowMatrix<S> x(2, 3);
  x << S(1), -inf, S(1),  //
      -inf, -inf, -inf;
  RowMatrix<S> y;
  recdiff::nn::softmaxRows(x, y);
  CHECK(y(0, 0) == S(0.5));
  CHECK(y(0, 1) == S(0));
  CHECK(y(0, 2) == S(0.5));
  CHECK(y.row(1).cwiseAbs().maxCoeff() == S(0));
  CHECK(y.allFinite());
}

TEST_CASE("Softmax backward matches central differences", "[nn][softmax][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::nn::Softmax<double> softmax;
  auto model = recdiff::test::SingleLayerHarness(softmax, rng);
  const auto x = recdiff::test::randomMatrix<double>(4, 6, rng, 2.0);
  CHECK(recdiff::test::inputJacobianError(model, x) < 1e-6);
  CHECK(recdiff::test::parameterGradientError(model, x) < 1e-6);  // no parameters: trivially 0
}
