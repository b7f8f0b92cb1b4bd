#include <recdiff/nn/feed_forward.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

using recdiff::RowMatrix;
using recdiff::nn::FeedForward;
using recdiff::nn::FeedForwardActivation;

TEMPLATE_TEST_CASE("FeedForward matches a hand-computed ReLU case", "[nn][feed_forward]", float, double) {
  using S = TestType;
  FeedForward<S> ffn(1, 2, FeedForwardActivation::kRelu);
  recdiff::nn::ParameterBuffer<S> params(ffn.parameterCount());
  recdiff::nn::ParameterBinder<S>(params).bind(ffn);
  ffn.weight1() << S(1), S(-1);
  ffn.bias1().setZero();
  ffn.weight2() << S(2), S(3);
  ffn.bias2() << S(1);
  RowMatrix<S> x(2, 1), y, dx;
  x << S(2), S(-1);
  ffn.forward(x, y);
  CHECK(y(0, 0) == S(5));  // relu([2, -2]) · [2, 3] + 1
  CHECK(y(1, 0) == S(4));  // relu([-1, 1]) · [2, 3] + 1
  RowMatrix<S> dy = RowMatrix<S>::Ones(2, 1);
  ffn.backward(dy, dx);
  CHECK(dx(0, 0) == S(2));
  CHECK(dx(1, 0) == S(-3));
  CHECK(ffn.weight2Grad()(0, 0) == S(2));  // Σ dy · relu hidden 0 = 2 + 0
  CHECK(ffn.weight2Grad()(0, 1) == S(1));
  CHECK(ffn.bias2Grad()(0, 0) == S(2));
  CHECK(ffn.weight1Grad()(0, 0) == S(4));   // dy·W2[0]·x for row 0 only: 2·2
  CHECK(ffn.weight1Grad()(1, 0) == S(-3));  // row 1: 3·(-1)
}

TEST_CASE("FeedForward backward matches central differences for every activation",
          "[nn][feed_forward][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  for (const auto f : {FeedForwardActivation::kGeluTanh, FeedForwardActivation::kGeluExact,
                       FeedForwardActivation::kRelu, FeedForwardActivation::kSilu}) {
    FeedForward<double> ffn(4, 7, f);
    auto model = recdiff::test::SingleLayerHarness(ffn, rng);
    const auto x = recdiff::test::randomMatrix<double>(5, 4, rng);
    CAPTURE(static_cast<int>(f));
    CHECK(recdiff::test::inputJacobianError(model, x) < 1e-6);
    CHECK(recdiff::test::parameterGradientError(model, x) < 1e-6);
  }
}

TEST_CASE("FeedForward dropout is identity in evaluation mode and consistent in training", "[nn][feed_forward]") {
  recdiff::Rng rng(recdiff::test::seed());
  FeedForward<double> ffn(3, 8, FeedForwardActivation::kGeluTanh, 0.5);
  recdiff::nn::ParameterBuffer<double> params(ffn.parameterCount());
  recdiff::nn::ParameterBinder<double>(params).bind(ffn);
  ffn.reset(rng);
  const auto x = recdiff::test::randomMatrix<double>(4, 3, rng);
  RowMatrix<double> yEval, yTrain, yTrain2;
  ffn.setTraining(false);
  ffn.forward(x, yEval);
  ffn.setTraining(true);
  ffn.setRng(recdiff::Rng(3));
  ffn.forward(x, yTrain);
  CHECK((yTrain - yEval).norm() > 1e-6);
  ffn.setRng(recdiff::Rng(3));
  ffn.forward(x, yTrain2);
  CHECK((yTrain - yTrain2).norm() == 0.0);
  // Gradient with the mask held fixed: re-seeding makes every forward draw the same mask.
  auto model = recdiff::test::SingleLayerHarness(ffn, rng);
  struct Fixed {
    FeedForward<double>* f;
    void forward(const RowMatrix<double>& in, RowMatrix<double>& out) {
      f->setRng(recdiff::Rng(9));
      f->forward(in, out);
    }
  };
  const RowMatrix<double> w = recdiff::test::randomMatrix<double>(4, 3, rng);
  RowMatrix<double> y, dx;
  Fixed fixed{&ffn};
  fixed.forward(x, y);
  ffn.backward(w, dx);
  RowMatrix<double> xp = x;
  const auto fd = recdiff::test::finiteDifferenceGradient(xp, [&] {
    fixed.forward(xp, y);
    return (y.array() * w.array()).sum();
  });
  CHECK(recdiff::test::relativeError(Eigen::Map<const recdiff::ColVector<double>>(dx.data(), dx.size()), fd) < 1e-6);
}
