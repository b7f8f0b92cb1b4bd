#include <cmath>

#include <recdiff/nn/layer_norm.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

using recdiff::RowMatrix;

TEMPLATE_TEST_CASE("LayerNorm matches a hand-computed row and its backward", "[nn][layer_norm]", float, double) {
  using S = TestType;
  recdiff::nn::LayerNorm<S> norm(3, 0.0);
  recdiff::nn::ParameterBuffer<S> params(norm.parameterCount());
  recdiff::nn::ParameterBinder<S>(params).bind(norm);
  norm.gamma() << S(1), S(2), S(3);
  norm.beta() << S(0.5), S(0), S(-0.5);
  RowMatrix<S> x(1, 3), y, dx;
  x << S(1), S(2), S(3);
  norm.forward(x, y);
  const double r = std::sqrt(1.5);  // 1 / sqrt(var), var = 2/3
  const double tol = std::is_same_v<S, float> ? 1e-5 : 1e-13;
  CHECK(std::abs(y(0, 0) - (-r + 0.5)) < tol);
  CHECK(std::abs(y(0, 1) - 0.0) < tol);
  CHECK(std::abs(y(0, 2) - (3.0 * r - 0.5)) < tol);
  RowMatrix<S> dy(1, 3);
  dy << S(1), S(0), S(0);
  norm.backward(dy, dx);
  // g = [1, 0, 0], mean(g) = 1/3, mean(g·xhat) = -r/3  =>  dx = (g - 1/3 - xhat·(-r/3)) · r = [1/6, -1/3, 1/6] · r
  CHECK(std::abs(dx(0, 0) - r / 6.0) < tol);
  CHECK(std::abs(dx(0, 1) + r / 3.0) < tol);
  CHECK(std::abs(dx(0, 2) - r / 6.0) < tol);
  CHECK(std::abs(norm.gammaGrad()(0, 0) + r) < tol);
  CHECK(norm.gammaGrad()(0, 1) == S(0));
  CHECK(std::abs(norm.betaGrad()(0, 0) - 1.0) < tol);
  CHECK(norm.betaGrad()(0, 2) == S(0));
}

TEST_CASE("LayerNorm puts epsilon inside the square root", "[nn][layer_norm]") {
  recdiff::nn::LayerNorm<double> norm(2, 0.25);
  recdiff::nn::ParameterBuffer<double> params(norm.parameterCount());
  recdiff::nn::ParameterBinder<double>(params).bind(norm);
  norm.reset();
  RowMatrix<double> x(1, 2), y;
  x << -1.0, 1.0;  // mean 0, var 1
  norm.forward(x, y);
  CHECK(std::abs(y(0, 1) - 1.0 / std::sqrt(1.25)) < 1e-15);
}

TEST_CASE("LayerNorm rejects bad arguments", "[nn][layer_norm]") {
  CHECK_THROWS_AS(recdiff::nn::LayerNorm<double>(0), std::invalid_argument);
  CHECK_THROWS_AS(recdiff::nn::LayerNorm<double>(3, -1.0), std::invalid_argument);
  recdiff::nn::LayerNorm<double> norm(3);
  recdiff::nn::ParameterBuffer<double> params(norm.parameterCount());
  recdiff::nn::ParameterBinder<double>(params).bind(norm);
  RowMatrix<double> x(2, 4), y;
  CHECK_THROWS_AS(norm.forward(x, y), std::invalid_argument);
}

TEST_CASE("LayerNorm backward matches central differences", "[nn][layer_norm][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  for (const double eps : {1e-12, 1e-5}) {
    recdiff::nn::LayerNorm<double> norm(6, eps);
    auto model = recdiff::test::SingleLayerHarness(norm, rng);
    const auto x = recdiff::test::randomMatrix<double>(5, 6, rng, 1.5);
    CHECK(recdiff::test::inputJacobianError(model, x) < 1e-6);
    CHECK(recdiff::test::parameterGradientError(model, x) < 1e-6);
  }
}
