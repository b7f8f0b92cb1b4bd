#include <cmath>

#include <recdiff/nn/init.hpp>
#include <recdiff/nn/linear.hpp>

#include "support/catch.hpp"
#include "support/test_env.hpp"

using recdiff::RowMatrix;
namespace init = recdiff::nn::init;

namespace {
double stddev(const RowMatrix<double>& m) { return std::sqrt((m.array() - m.mean()).square().mean()); }
}  // namespace

TEST_CASE("Xavier normal draws with standard deviation sqrt of 2 over fan in plus fan out", "[nn][init]") {
  recdiff::Rng rng(recdiff::test::seed());
  RowMatrix<double> w(300, 500);
  init::xavierNormal(w, rng);
  // 150000 draws: the sample std is within 1% of sqrt(2/800) with overwhelming probability.
  CHECK(stddev(w) == Approx(std::sqrt(2.0 / 800.0)).epsilon(0.01));
  CHECK(std::abs(w.mean()) < 5 * std::sqrt(2.0 / 800.0) / std::sqrt(150000.0));
  RowMatrix<double> g(300, 500);
  init::xavierNormal(g, rng, 2.0);
  CHECK(stddev(g) == Approx(2.0 * std::sqrt(2.0 / 800.0)).epsilon(0.01));
}

TEST_CASE("Xavier uniform draws inside plus or minus sqrt of 6 over fan sum", "[nn][init]") {
  recdiff::Rng rng(recdiff::test::seed());
  RowMatrix<double> w(200, 400);
  init::xavierUniform(w, rng);
  const double a = std::sqrt(6.0 / 600.0);
  CHECK(w.maxCoeff() < a);
  CHECK(w.minCoeff() >= -a);
  CHECK(w.maxCoeff() > 0.99 * a);
  CHECK(stddev(w) == Approx(a / std::sqrt(3.0)).epsilon(0.01));
}

TEMPLATE_TEST_CASE("Initialisers write through the views a layer exposes", "[nn][init]", float, double) {
  using S = TestType;
  recdiff::nn::Linear<S> layer(3, 2);
  recdiff::nn::ParameterBuffer<S> params(layer.parameterCount());
  recdiff::nn::ParameterBinder<S>(params).bind(layer);
  recdiff::Rng rng(recdiff::test::seed());
  init::ones(layer.weight());
  init::normal(layer.bias(), rng, 5.0, 0.0);
  CHECK(params.values().head(6).isOnes());
  CHECK(params.values().tail(2).isApprox(recdiff::ColVector<S>::Constant(2, S(5))));
  init::zeros(layer.weight());
  CHECK(params.values().head(6).isZero(0));
}

TEST_CASE("Initialisers are reproducible from the seed", "[nn][init]") {
  recdiff::Rng a(3), b(3);
  RowMatrix<float> x(4, 5), y(4, 5);
  init::xavierNormal(x, a);
  init::xavierNormal(y, b);
  CHECK(x == y);
  init::normal(x, a, 0.0, 0.001);
  CHECK(x != y);
  CHECK_THROWS_AS(init::normal(x, a, 0.0, -1.0), std::invalid_argument);
}
