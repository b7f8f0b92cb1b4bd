#include <recdiff/nn/activations.hpp>
#include <recdiff/nn/dropout.hpp>
#include <recdiff/nn/linear.hpp>
#include <recdiff/nn/sequential.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

using recdiff::RowMatrix;
namespace nn = recdiff::nn;

namespace {
using Mlp = nn::Sequential<double, nn::Linear<double>, nn::Tanh<double>, nn::Linear<double>>;
Mlp makeMlp() { return Mlp(nn::Linear<double>(3, 2), nn::Tanh<double>(), nn::Linear<double>(2, 1)); }
}  // namespace

TEST_CASE("Sequential chains its layers on a hand-computed case", "[nn][sequential]") {
  Mlp mlp = makeMlp();
  REQUIRE(mlp.parameterCount() == 3 * 2 + 2 + 2 + 1);
  nn::ParameterBuffer<double> params(mlp.parameterCount());
  nn::ParameterBinder<double>(params).bind(mlp);
  // Layer 1: W = [[1, 0, 0], [0, 1, 0]], b = [0, 0.5]; layer 2: W = [2, -1], b = 0.25.
  params.values() << 1, 0, 0, 0, 1, 0, 0, 0.5, 2, -1, 0.25;
  RowMatrix<double> x(1, 3);
  x << 0.3, -0.2, 9.0;
  RowMatrix<double> y, dx;
  mlp.forward(x, y);
  const double h0 = std::tanh(0.3), h1 = std::tanh(0.3);
  CHECK(y(0, 0) == Approx(2 * h0 - h1 + 0.25));
  RowMatrix<double> dy(1, 1);
  dy << 1.0;
  mlp.backward(dy, dx);
  // dx = [2 (1 − h0²), −(1 − h1²), 0].
  CHECK(dx(0, 0) == Approx(2 * (1 - h0 * h0)));
  CHECK(dx(0, 1) == Approx(-(1 - h1 * h1)));
  CHECK(dx(0, 2) == 0.0);
  // Second layer gradient: dW2 = [h0, h1], db2 = 1.
  CHECK(params.grads()(8) == Approx(h0));
  CHECK(params.grads()(9) == Approx(h1));
  CHECK(params.grads()(10) == Approx(1.0));
}

TEST_CASE("Sequential backward matches central differences", "[nn][sequential][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  nn::Sequential<double, nn::Linear<double>, nn::GELU<double>, nn::Linear<double>, nn::Sigmoid<double>> net(
      nn::Linear<double>(5, 6), nn::GELU<double>(nn::GeluApproximation::kTanh), nn::Linear<double>(6, 3),
      nn::Sigmoid<double>());
  auto model = recdiff::test::SingleLayerHarness(net, rng);
  const RowMatrix<double> x = recdiff::test::randomMatrix<double>(4, 5, rng);
  CHECK(recdiff::test::inputJacobianError(model, x) < 1e-6);
  CHECK(recdiff::test::parameterGradientError(model, x) < 1e-6);
}

TEST_CASE("Sequential forwards the training flag to every layer", "[nn][sequential]") {
  nn::Sequential<float, nn::Dropout<float>, nn::Linear<float>> net(nn::Dropout<float>(0.5), nn::Linear<float>(4, 2));
  net.setTraining(false);
  CHECK_FALSE(net.layer<0>().training());
  net.setTraining(true);
  CHECK(net.layer<0>().training());
}
