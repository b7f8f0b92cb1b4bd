#include <cmath>

#include <recdiff/nn/transformer_block.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

using recdiff::RowMatrix;
using recdiff::nn::PaddingMask;
using recdiff::nn::PositionMask;
using recdiff::nn::TransformerBlock;

TEMPLATE_TEST_CASE("TransformerBlock with zero weights reduces to its biases", "[nn][transformer_block]", float,
                   double) {
  using S = TestType;
  const double tol = std::is_same_v<S, float> ? 1e-5 : 1e-13;
  RowMatrix<S> x(2, 3), y;
  x << S(1), S(2), S(3), S(0), S(0), S(6);
  for (const bool preNorm : {true, false}) {
    TransformerBlock<S> block({.dim = 3, .heads = 1, .sequenceLength = 2, .preNorm = preNorm, .eps = 0.0});
    recdiff::nn::ParameterBuffer<S> params(block.parameterCount());
    recdiff::nn::ParameterBinder<S>(params).bind(block);
    block.norm1().reset();
    block.norm2().reset();
    block.attention().outBias() << S(1), S(0), S(0);
    block.feedForward().bias2() << S(0), S(0), S(2);
    block.forward(x, y);
    if (preNorm) {  // y = x + b_o + b_2
      CHECK(std::abs(y(0, 0) - 2.0) < tol);
      CHECK(std::abs(y(0, 2) - 5.0) < tol);
      CHECK(std::abs(y(1, 1) - 0.0) < tol);
    } else {  // y = LN(LN(x + b_o) + b_2); row 0: x + b_o = [2, 2, 3]
      const double r1 = 1.0 / std::sqrt(2.0 / 9.0);
      const double h[3] = {-r1 / 3.0, -r1 / 3.0, 2.0 * r1 / 3.0};
      const double z[3] = {h[0], h[1], h[2] + 2.0};
      const double mu = (z[0] + z[1] + z[2]) / 3.0;
      double var = 0.0;
      for (double v : z) var += (v - mu) * (v - mu) / 3.0;
      for (int j = 0; j < 3; ++j) CHECK(std::abs(y(0, j) - (z[j] - mu) / std::sqrt(var)) < tol);
    }
  }
}

TEST_CASE("TransformerBlock backward matches central differences in both norm placements",
          "[nn][transformer_block][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  PositionMask valid(2, 3);
  valid << false, true, true, true, true, true;
  for (const bool preNorm : {true, false})
    for (const auto mask : {PaddingMask::kKeys, PaddingMask::kQueryRows}) {
      TransformerBlock<double> block({.dim = 4,
                                      .heads = 2,
                                      .sequenceLength = 3,
                                      .ffnHidden = 6,
                                      .preNorm = preNorm,
                                      .eps = 1e-12,
                                      .paddingMask = mask});
      block.setPaddingMask(valid);
      auto model = recdiff::test::SingleLayerHarness(block, rng);
      block.norm1().reset();  // keep the gains near 1 so the check is well conditioned
      block.norm2().reset();
      const auto x = recdiff::test::randomMatrix<double>(6, 4, rng);
      CAPTURE(preNorm, static_cast<int>(mask));
      CHECK(recdiff::test::inputJacobianError(model, x) < 1e-6);
      CHECK(recdiff::test::parameterGradientError(model, x) < 1e-6);
    }
}

TEST_CASE("TransformerBlock dropout is off in evaluation mode", "[nn][transformer_block]") {
  recdiff::Rng rng(recdiff::test::seed());
  TransformerBlock<double> block({.dim = 4, .heads = 2, .sequenceLength = 3, .dropout = 0.3, .outputDropout = true});
  recdiff::nn::ParameterBuffer<double> params(block.parameterCount());
  recdiff::nn::ParameterBinder<double>(params).bind(block);
  block.reset(rng);
  const auto x = recdiff::test::randomMatrix<double>(6, 4, rng);
  RowMatrix<double> a, b, c;
  block.setTraining(false);
  block.forward(x, a);
  block.forward(x, b);
  CHECK((a - b).norm() == 0.0);
  block.setTraining(true);
  block.setRng(recdiff::Rng(5));
  block.forward(x, c);
  CHECK((a - c).norm() > 1e-6);
}

namespace {
struct FixedMaskBlock {
  using Scalar = double;
  TransformerBlock<double>* block;
  recdiff::Index parameterCount() const { return block->parameterCount(); }
  void bind(recdiff::nn::ParameterSlice<double> v, recdiff::nn::ParameterSlice<double> g) { block->bind(v, g); }
  void forward(const RowMatrix<double>& x, RowMatrix<double>& y) {
    block->setRng(recdiff::Rng(21));
    block->forward(x, y);
  }
  void backward(const RowMatrix<double>& dy, RowMatrix<double>& dx) { block->backward(dy, dx); }
};
}  // namespace

TEST_CASE("TransformerBlock backward with every dropout active matches central differences",
          "[nn][transformer_block][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  for (const bool preNorm : {true, false}) {
    TransformerBlock<double> block(
        {.dim = 4, .heads = 2, .sequenceLength = 3, .preNorm = preNorm, .eps = 1e-12, .dropout = 0.3, .outputDropout = true});
    FixedMaskBlock fixed{&block};
    auto model = recdiff::test::SingleLayerHarness(fixed, rng);
    block.norm1().reset();
    block.norm2().reset();
    const auto x = recdiff::test::randomMatrix<double>(6, 4, rng);
    CAPTURE(preNorm);
    CHECK(recdiff::test::inputJacobianError(model, x) < 1e-6);
    CHECK(recdiff::test::parameterGradientError(model, x) < 1e-6);
  }
}

TEST_CASE("TransformerBlock last-row mode gives the last rows of the full block and their gradients",
          "[nn][transformer_block][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  PositionMask valid(2, 3);
  valid << false, true, true, true, true, true;
  for (const bool preNorm : {true, false})
    for (const auto mask : {PaddingMask::kKeys, PaddingMask::kQueryRows}) {
      CAPTURE(preNorm, static_cast<int>(mask));
      const recdiff::nn::TransformerBlockOptions options{
          .dim = 4, .heads = 2, .sequenceLength = 3, .ffnHidden = 6, .preNorm = preNorm, .eps = 1e-12, .paddingMask = mask};
      TransformerBlock<double> full(options), last(options);
      full.setPaddingMask(valid);
      last.setPaddingMask(valid);
      last.setLastRowOnly(true);
      auto model = recdiff::test::SingleLayerHarness(last, rng);
      recdiff::nn::ParameterBuffer<double> fullParams(full.parameterCount());
      recdiff::nn::ParameterBinder<double>(fullParams).bind(full);
      fullParams.values() = model.parameters().values();
      const auto x = recdiff::test::randomMatrix<double>(6, 4, rng);
      RowMatrix<double> yFull, yLast, dxFull, dxLast;
      full.forward(x, yFull);
      last.forward(x, yLast);
      REQUIRE(yLast.rows() == 2);
      CHECK((yLast.row(0) - yFull.row(2)).norm() < 1e-13);
      CHECK((yLast.row(1) - yFull.row(5)).norm() < 1e-13);
      // Backward of a cotangent on the last rows equals the full block's with zeros elsewhere.
      const auto w = recdiff::test::randomMatrix<double>(2, 4, rng);
      RowMatrix<double> wFull = RowMatrix<double>::Zero(6, 4);
      wFull.row(2) = w.row(0);
      wFull.row(5) = w.row(1);
      fullParams.zeroGrad();
      model.parameters().zeroGrad();
      full.backward(wFull, dxFull);
      last.backward(w, dxLast);
      CHECK((dxFull - dxLast).norm() < 1e-12);
      CHECK((fullParams.grads() - model.parameters().grads()).norm() < 1e-12);
      CHECK(recdiff::test::inputJacobianError(model, x) < 1e-6);
      CHECK(recdiff::test::parameterGradientError(model, x) < 1e-6);
    }
}
