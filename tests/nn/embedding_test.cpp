#include <recdiff/nn/embedding.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

using recdiff::RowMatrix;
using recdiff::nn::Embedding;
using recdiff::nn::PaddingRow;

TEMPLATE_TEST_CASE("Embedding gathers rows and scatter-adds gradients", "[nn][embedding]", float, double) {
  using S = TestType;
  for (const auto padding : {PaddingRow::Trained, PaddingRow::Frozen}) {
    Embedding<S> table(3, 2, {.paddingIndex = 0, .padding = padding});
    recdiff::nn::ParameterBuffer<S> params(table.parameterCount());
    recdiff::nn::ParameterBinder<S>(params).bind(table);
    table.weight() << S(0), S(0), S(1), S(2), S(3), S(4);
    Eigen::ArrayXi ids(4);
    ids << 2, 0, 2, 1;
    RowMatrix<S> y;
    table.forward(ids, y);
    REQUIRE(y.rows() == 4);
    CHECK(y(0, 0) == S(3));
    CHECK(y(0, 1) == S(4));
    CHECK(y(1, 1) == S(0));
    CHECK(y(3, 0) == S(1));
    RowMatrix<S> dy(4, 2);
    dy << S(1), S(2), S(10), S(20), S(100), S(200), S(5), S(6);
    table.backward(dy);
    const auto g = table.weightGrad();
    CHECK(g(2, 0) == S(101));
    CHECK(g(2, 1) == S(202));
    CHECK(g(1, 0) == S(5));
    CHECK(g(0, 0) == (padding == PaddingRow::Frozen ? S(0) : S(10)));
    CHECK(g(0, 1) == (padding == PaddingRow::Frozen ? S(0) : S(20)));
  }
}

TEST_CASE("Embedding reset zeroes a frozen padding row only", "[nn][embedding]") {
  recdiff::Rng rng(recdiff::test::seed());
  Embedding<double> frozen(4, 3, {.paddingIndex = 1, .padding = PaddingRow::Frozen});
  Embedding<double> trained(4, 3, {.paddingIndex = 1, .padding = PaddingRow::Trained});
  recdiff::nn::ParameterBuffer<double> params(frozen.parameterCount() + trained.parameterCount());
  recdiff::nn::ParameterBinder<double> binder(params);
  binder.bind(frozen);
  binder.bind(trained);
  frozen.reset(rng);
  trained.reset(rng);
  CHECK(frozen.weight().row(1).isZero(0.0));
  CHECK(frozen.weight().row(0).norm() > 0.0);
  CHECK(trained.weight().row(1).norm() > 0.0);
}

TEST_CASE("Embedding rejects ids outside the table", "[nn][embedding]") {
  Embedding<double> table(3, 2);
  recdiff::nn::ParameterBuffer<double> params(table.parameterCount());
  recdiff::nn::ParameterBinder<double>(params).bind(table);
  Eigen::ArrayXi ids(2);
  ids << 1, 3;
  RowMatrix<double> y;
  CHECK_THROWS_AS(table.forward(ids, y), std::out_of_range);
  ids << -1, 0;
  CHECK_THROWS_AS(table.forward(ids, y), std::out_of_range);
  CHECK_THROWS_AS(Embedding<double>(3, 2, {.paddingIndex = 3}), std::invalid_argument);
}

TEST_CASE("Embedding parameter gradient matches central differences", "[nn][embedding][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  for (const auto padding : {PaddingRow::Trained, PaddingRow::Frozen}) {
    Embedding<double> table(5, 3, {.paddingIndex = 0, .padding = padding});
    recdiff::nn::ParameterBuffer<double> params(table.parameterCount());
    recdiff::nn::ParameterBinder<double>(params).bind(table);
    table.reset(rng);
    Eigen::ArrayXi ids(6);
    ids << 0, 3, 3, 1, 4, 0;
    const auto w = recdiff::test::randomMatrix<double>(6, 3, rng);
    RowMatrix<double> y;
    const auto loss = [&] {
      table.forward(ids, y);
      return (y.array() * w.array()).sum();
    };
    params.zeroGrad();
    table.forward(ids, y);
    table.backward(w);
    recdiff::ColVector<double> fd = recdiff::test::finiteDifferenceGradient(params.values(), loss);
    if (padding == PaddingRow::Frozen) fd.head(3).setZero();  // frozen: the row is treated as a constant
    CHECK(recdiff::test::relativeError(params.grads(), fd) < 1e-6);
  }
}
