#include <recdiff/nn/linear.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

using recdiff::Index;
using recdiff::RowMatrix;

TEMPLATE_TEST_CASE("Linear computes x W transposed plus b on a hand-computed case", "[nn][linear]", float, double) {
  using S = TestType;
  recdiff::nn::Linear<S> layer(3, 2);
  recdiff::nn::ParameterBuffer<S> params(layer.parameterCount());
  recdiff::nn::ParameterBinder<S>(params).bind(layer);
  REQUIRE(layer.parameterCount() == 8);
  // W = [[1, 2, 3], [4, 5, 6]], b = [0.5, -1] laid out W first (row-major), then b.
  params.values() << 1, 2, 3, 4, 5, 6, 0.5, -1;
  RowMatrix<S> x(2, 3);
  x << 1, 0, -1, 2, 1, 0;
  RowMatrix<S> y;
  layer.forward(x, y);
  RowMatrix<S> expected(2, 2);
  expected << 1 - 3 + 0.5, 4 - 6 - 1, 2 + 2 + 0.5, 8 + 5 - 1;
  CHECK(y.isApprox(expected));

  RowMatrix<S> dy(2, 2);
  dy << 1, 0, 0, 2;
  RowMatrix<S> dx;
  layer.backward(dy, dx);
  RowMatrix<S> expectedDx(2, 3);
  expectedDx << 1, 2, 3, 8, 10, 12;
  CHECK(dx.isApprox(expectedDx));
  // dW = dyᵀ x = [[1, 0, -1], [4, 2, 0]], db = [1, 2].
  Eigen::Matrix<S, 8, 1> expectedGrad;
  expectedGrad << 1, 0, -1, 4, 2, 0, 1, 2;
  CHECK(params.grads().isApprox(expectedGrad));

  // Gradients accumulate across backward calls.
  layer.forward(x, y);
  layer.backward(dy, dx);
  CHECK(params.grads().isApprox(S(2) * expectedGrad));
}

TEST_CASE("Linear backward matches central differences", "[nn][linear][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::nn::Linear<double> layer(7, 5);
  auto model = recdiff::test::SingleLayerHarness(layer, rng);
  const RowMatrix<double> x = recdiff::test::randomMatrix<double>(4, 7, rng);
  SECTION("with respect to the input") { CHECK(recdiff::test::inputJacobianError(model, x) < 1e-6); }
  SECTION("with respect to the parameters") { CHECK(recdiff::test::parameterGradientError(model, x) < 1e-6); }
}

TEST_CASE("Linear forwardBorrowed and backwardParameters agree with forward and backward", "[nn][linear]") {
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::nn::Linear<double> a(6, 3), b(6, 3);
  recdiff::nn::ParameterBuffer<double> pa(a.parameterCount()), pb(b.parameterCount());
  recdiff::nn::ParameterBinder<double>(pa).bind(a);
  recdiff::nn::ParameterBinder<double>(pb).bind(b);
  rng.fillNormal(pa.values());
  pb.values() = pa.values();
  const RowMatrix<double> x = recdiff::test::randomMatrix<double>(5, 6, rng);
  const RowMatrix<double> dy = recdiff::test::randomMatrix<double>(5, 3, rng);
  RowMatrix<double> ya, yb, dx;
  a.forward(x, ya);
  b.forwardBorrowed(x, yb);
  CHECK(ya == yb);
  a.backward(dy, dx);
  b.backwardParameters(dy);
  CHECK(pa.grads() == pb.grads());
}

TEST_CASE("Linear rejects inputs of the wrong width", "[nn][linear]") {
  recdiff::nn::Linear<double> layer(4, 2);
  recdiff::nn::ParameterBuffer<double> params(layer.parameterCount());
  recdiff::nn::ParameterBinder<double>(params).bind(layer);
  RowMatrix<double> x(3, 5), y;
  x.setZero();
  CHECK_THROWS_AS(layer.forward(x, y), std::invalid_argument);
  CHECK_THROWS_AS(recdiff::nn::Linear<double>(0, 2), std::invalid_argument);
}

TEST_CASE("Linear's bias gradient and bias add do not depend on the thread count", "[nn][linear]") {
  // Wide enough for the column-block split of db (600 outputs: 3 blocks) and the row split of the bias add.
  recdiff::Rng rng(recdiff::test::seed());
  RowMatrix<float> x(400, 32), dy(400, 600);
  rng.fillNormal(x);
  rng.fillNormal(dy);
  const auto run = [&](int threads, RowMatrix<float>& y) {
    const recdiff::ScopedThreadLimit limit(threads);
    recdiff::nn::ParameterBuffer<float> params(32 * 600 + 600);
    recdiff::nn::Linear<float> layer(32, 600);
    recdiff::nn::ParameterBinder<float> binder(params);
    binder.bind(layer);
    recdiff::Rng init(7);
    init.fillNormal(params.values());
    layer.forwardBorrowed(x, y);
    params.zeroGrad();
    layer.backwardParameters(dy);
    return RowMatrix<float>(layer.biasGrad());
  };
  RowMatrix<float> y1, y2;
  const RowMatrix<float> db1 = run(1, y1), db2 = run(2, y2);
  const RowMatrix<float> serial = dy.colwise().sum();
  CHECK(db1 == serial);  // bit for bit: each column is summed as one colwise().sum() sums it
  CHECK(db2 == serial);
  CHECK(y1 == y2);
}
