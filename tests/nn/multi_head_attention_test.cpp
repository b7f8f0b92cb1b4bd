#include <cmath>

#include <recdiff/nn/multi_head_attention.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

using recdiff::RowMatrix;
using recdiff::nn::MultiHeadAttention;
using recdiff::nn::PaddingMask;
using recdiff::nn::PositionMask;

namespace {
// dim 1, one head, identity projections, scale 1: scores s_ij = x_i x_j, output = Σ_j p_ij x_j.
template <class S>
RowMatrix<S> identityAttention(bool causal, int maskMode, bool padFirst) {
  MultiHeadAttention<S> att({.dim = 1,
                             .heads = 1,
                             .sequenceLength = 2,
                             .scale = 1.0,
                             .causal = causal,
                             .paddingMask = maskMode == 2 ? PaddingMask::kQueryRows : PaddingMask::kKeys});
  recdiff::nn::ParameterBuffer<S> params(att.parameterCount());
  recdiff::nn::ParameterBinder<S>(params).bind(att);
  att.qkvWeight().setOnes();
  att.outWeight().setOnes();
  if (maskMode != 0) {
    PositionMask valid(1, 2);
    valid << !padFirst, true;
    att.setPaddingMask(valid);
  }
  RowMatrix<S> x(2, 1), y;
  x << S(1), S(2);
  att.forward(x, y);
  return y;
}
}  // namespace

TEMPLATE_TEST_CASE("MultiHeadAttention matches hand-computed outputs under every mask", "[nn][attention]", float,
                   double) {
  using S = TestType;
  const double e = std::exp(1.0), tol = std::is_same_v<S, float> ? 1e-5 : 1e-13;
  const auto plain = identityAttention<S>(false, 0, false);
  CHECK(std::abs(plain(0, 0) - (1 + 2 * e) / (1 + e)) < tol);            // softmax([1, 2]) · [1, 2]
  CHECK(std::abs(plain(1, 0) - (1 + 2 * e * e) / (1 + e * e)) < tol);    // softmax([2, 4]) · [1, 2]
  const auto causal = identityAttention<S>(true, 0, false);
  CHECK(std::abs(causal(0, 0) - 1.0) < tol);
  CHECK(std::abs(causal(1, 0) - plain(1, 0)) < tol);
  const auto keys = identityAttention<S>(false, 1, true);                // key 0 hidden from every query
  CHECK(std::abs(keys(0, 0) - 2.0) < tol);
  CHECK(std::abs(keys(1, 0) - 2.0) < tol);
  const auto queryRows = identityAttention<S>(false, 2, true);           // DiffuRec: row 0 uniform, key 0 visible
  CHECK(std::abs(queryRows(0, 0) - 1.5) < tol);
  CHECK(std::abs(queryRows(1, 0) - plain(1, 0)) < tol);
  const auto causalKeys = identityAttention<S>(true, 1, true);           // query 0 sees no key: output = bias = 0
  CHECK(causalKeys(0, 0) == S(0));
  CHECK(std::abs(causalKeys(1, 0) - 2.0) < tol);
}

TEST_CASE("MultiHeadAttention backward matches central differences under every mask",
          "[nn][attention][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  PositionMask valid(3, 4);
  valid << false, true, true, true,  //
      true, true, true, true,        //
      false, false, false, true;
  struct Case {
    bool causal;
    int mask;  // 0 none, 1 keys, 2 query rows
  };
  for (const Case c : {Case{false, 0}, Case{true, 0}, Case{false, 1}, Case{true, 1}, Case{false, 2}, Case{true, 2}}) {
    MultiHeadAttention<double> att({.dim = 6,
                                    .heads = 3,
                                    .sequenceLength = 4,
                                    .causal = c.causal,
                                    .paddingMask = c.mask == 2 ? PaddingMask::kQueryRows : PaddingMask::kKeys});
    if (c.mask != 0) att.setPaddingMask(valid);
    auto model = recdiff::test::SingleLayerHarness(att, rng);
    const auto x = recdiff::test::randomMatrix<double>(12, 6, rng);
    CAPTURE(c.causal, c.mask);
    CHECK(recdiff::test::inputJacobianError(model, x) < 1e-6);
    CHECK(recdiff::test::parameterGradientError(model, x) < 1e-6);
  }
}

TEST_CASE("MultiHeadAttention heads are independent blocks of the projection", "[nn][attention]") {
  // Two heads of width 1 with the second head's query/key rows zero: head 1 attends uniformly.
  recdiff::Rng rng(recdiff::test::seed());
  MultiHeadAttention<double> att({.dim = 2, .heads = 2, .sequenceLength = 3});
  recdiff::nn::ParameterBuffer<double> params(att.parameterCount());
  recdiff::nn::ParameterBinder<double>(params).bind(att);
  att.reset(rng);
  att.qkvWeight().row(1).setZero();  // q of head 1
  att.qkvWeight().row(3).setZero();  // k of head 1
  att.qkvBias().setZero();
  const auto x = recdiff::test::randomMatrix<double>(3, 2, rng);
  RowMatrix<double> y;
  att.forward(x, y);
  const auto& p = att.probabilities();  // rows (b·heads + h)·len + i
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) CHECK(std::abs(p(3 + i, j) - 1.0 / 3.0) < 1e-15);
  CHECK(std::abs(p.row(0).sum() - 1.0) < 1e-15);
}

TEST_CASE("MultiHeadAttention rejects inconsistent shapes", "[nn][attention]") {
  CHECK_THROWS_AS(MultiHeadAttention<double>({.dim = 6, .heads = 4}), std::invalid_argument);
  MultiHeadAttention<double> att({.dim = 4, .heads = 2, .sequenceLength = 3});
  recdiff::nn::ParameterBuffer<double> params(att.parameterCount());
  recdiff::nn::ParameterBinder<double>(params).bind(att);
  RowMatrix<double> x = RowMatrix<double>::Zero(4, 4), y;
  CHECK_THROWS_AS(att.forward(x, y), std::invalid_argument);
  PositionMask wrong(2, 2);
  CHECK_THROWS_AS(att.setPaddingMask(wrong), std::invalid_argument);
}

namespace {
// Re-seeds the layer's dropout before every forward, so finite differences see one fixed mask.
template <class Layer>
struct FixedMask {
  using Scalar = double;
  Layer* layer;
  recdiff::Index parameterCount() const { return layer->parameterCount(); }
  void bind(recdiff::nn::ParameterSlice<double> v, recdiff::nn::ParameterSlice<double> g) { layer->bind(v, g); }
  void forward(const RowMatrix<double>& x, RowMatrix<double>& y) {
    layer->setRng(recdiff::Rng(11));
    layer->forward(x, y);
  }
  void backward(const RowMatrix<double>& dy, RowMatrix<double>& dx) { layer->backward(dy, dx); }
};
}  // namespace

TEST_CASE("MultiHeadAttention backward with attention dropout matches central differences",
          "[nn][attention][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  PositionMask valid(2, 4);
  valid << false, true, true, true, true, true, true, true;
  for (const auto mode : {PaddingMask::kKeys, PaddingMask::kQueryRows}) {
    MultiHeadAttention<double> att({.dim = 4, .heads = 2, .sequenceLength = 4, .paddingMask = mode, .dropout = 0.4});
    att.setPaddingMask(valid);
    FixedMask<MultiHeadAttention<double>> fixed{&att};
    auto model = recdiff::test::SingleLayerHarness(fixed, rng);
    const auto x = recdiff::test::randomMatrix<double>(8, 4, rng);
    RowMatrix<double> withDrop, withoutDrop;
    fixed.forward(x, withDrop);
    att.setTraining(false);
    att.forward(x, withoutDrop);
    CHECK((withDrop - withoutDrop).norm() > 1e-6);  // the dropout really acts
    att.setTraining(true);
    CHECK(recdiff::test::inputJacobianError(model, x) < 1e-6);
    CHECK(recdiff::test::parameterGradientError(model, x) < 1e-6);
  }
}

TEST_CASE("MultiHeadAttention last-query mode matches the last rows of the full layer",
          "[nn][attention][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::nn::PositionMask valid(2, 4);
  valid << false, false, true, true, true, true, true, true;
  for (const auto mask : {recdiff::nn::PaddingMask::kKeys, recdiff::nn::PaddingMask::kQueryRows}) {
    CAPTURE(static_cast<int>(mask));
    recdiff::nn::MultiHeadAttention<double> full({.dim = 4, .heads = 2, .sequenceLength = 4, .paddingMask = mask});
    recdiff::nn::MultiHeadAttention<double> last({.dim = 4, .heads = 2, .sequenceLength = 4, .paddingMask = mask});
    full.setPaddingMask(valid);
    last.setPaddingMask(valid);
    last.setLastQueryOnly(true);
    auto model = recdiff::test::SingleLayerHarness(last, rng);
    recdiff::nn::ParameterBuffer<double> fullParams(full.parameterCount());
    recdiff::nn::ParameterBinder<double>(fullParams).bind(full);
    fullParams.values() = model.parameters().values();
    const auto x = recdiff::test::randomMatrix<double>(8, 4, rng);
    recdiff::RowMatrix<double> yFull, yLast;
    full.forward(x, yFull);
    last.forward(x, yLast);
    REQUIRE(yLast.rows() == 2);
    CHECK((yLast.row(0) - yFull.row(3)).norm() < 1e-13);
    CHECK((yLast.row(1) - yFull.row(7)).norm() < 1e-13);
    CHECK(recdiff::test::inputJacobianError(model, x) < 1e-6);
    CHECK(recdiff::test::parameterGradientError(model, x) < 1e-6);
  }
}
