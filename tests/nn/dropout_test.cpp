#include <cmath>

#include <recdiff/nn/dropout.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

using recdiff::Index;
using recdiff::RowMatrix;
namespace nn = recdiff::nn;

TEMPLATE_TEST_CASE("Dropout scales kept elements by one over one minus p and zeroes the rest", "[nn][dropout]", float,
                   double) {
  using S = TestType;
  nn::Dropout<S> drop(0.25, recdiff::Rng(recdiff::test::seed()));
  RowMatrix<S> x = RowMatrix<S>::Constant(3, 4, S(2));
  RowMatrix<S> y, dx;
  drop.forward(x, y);
  const RowMatrix<S>& m = drop.mask();
  REQUIRE(m.rows() == 3);
  REQUIRE(m.cols() == 4);
  for (Index i = 0; i < m.size(); ++i) {
    const S v = m.data()[i];
    CHECK((v == S(0) || v == static_cast<S>(1.0 / 0.75)));
    CHECK(y.data()[i] == S(2) * v);
  }
  RowMatrix<S> dy = RowMatrix<S>::Constant(3, 4, S(3));
  drop.backward(dy, dx);
  CHECK(dx.isApprox(S(3) * m) );
  if (dx.isZero()) CHECK(m.isZero());
}

TEST_CASE("Dropout keeps about one minus p of the elements and preserves the mean", "[nn][dropout]") {
  nn::Dropout<double> drop(0.5, recdiff::Rng(recdiff::test::seed()));
  const RowMatrix<double> x = RowMatrix<double>::Ones(200, 500);
  RowMatrix<double> y;
  drop.forward(x, y);
  const double kept = (drop.mask().array() != 0.0).cast<double>().mean();
  // Binomial(1e5, 0.5): standard deviation of the fraction 0.0016; 5 sigma.
  CHECK(std::abs(kept - 0.5) < 0.008);
  CHECK(std::abs(y.mean() - 1.0) < 0.016);
}

TEST_CASE("Dropout draws a new mask per call and is reproducible from its seed", "[nn][dropout]") {
  nn::Dropout<float> a(0.5, recdiff::Rng(7)), b(0.5, recdiff::Rng(7));
  const RowMatrix<float> x = RowMatrix<float>::Ones(8, 33);
  RowMatrix<float> ya1, ya2, yb1;
  a.forward(x, ya1);
  a.forward(x, ya2);
  b.forward(x, yb1);
  CHECK(ya1 == yb1);
  CHECK(ya1 != ya2);
}

TEST_CASE("Dropout is the identity in evaluation mode and for p zero", "[nn][dropout]") {
  recdiff::Rng rng(recdiff::test::seed());
  const RowMatrix<double> x = recdiff::test::randomMatrix<double>(4, 6, rng);
  RowMatrix<double> y, dx;
  nn::Dropout<double> drop(0.9, rng.fork(1));
  drop.setTraining(false);
  CHECK_FALSE(drop.training());
  drop.forward(x, y);
  CHECK(y == x);
  drop.backward(x, dx);
  CHECK(dx == x);
  nn::Dropout<double> none(0.0);
  none.forward(x, y);
  CHECK(y == x);
  CHECK_THROWS_AS(nn::Dropout<double>(1.0), std::invalid_argument);
  CHECK_THROWS_AS(nn::Dropout<double>(-0.1), std::invalid_argument);
}

TEST_CASE("Dropout backward matches central differences with a fixed mask", "[nn][dropout][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  const RowMatrix<double> x = recdiff::test::randomMatrix<double>(3, 7, rng);
  const RowMatrix<double> w = recdiff::test::randomMatrix<double>(3, 7, rng);
  const nn::Dropout<double> prototype(0.3, rng.fork(5));
  // Every evaluation uses a copy of the same generator state, hence the same mask.
  auto loss = [&](const RowMatrix<double>& in) {
    nn::Dropout<double> d = prototype;
    RowMatrix<double> y;
    d.forward(in, y);
    return (y.array() * w.array()).sum();
  };
  nn::Dropout<double> d = prototype;
  RowMatrix<double> y, dx;
  d.forward(x, y);
  d.backward(w, dx);
  RowMatrix<double> xp = x;
  const recdiff::ColVector<double> fd = recdiff::test::finiteDifferenceGradient(xp, [&] { return loss(xp); });
  const recdiff::ColVector<double> g = Eigen::Map<const recdiff::ColVector<double>>(dx.data(), dx.size());
  CHECK(recdiff::test::relativeError(g, fd) < 1e-6);
  CHECK(d.parameterCount() == 0);
}

TEST_CASE("Dropout masks follow the documented Philox addressing", "[nn][dropout]") {
  // Element i keeps its value iff word (i % 64) / 16 of block first + 16 (i / 64) + i % 16 is >= ceil(p 2^32);
  // sizes cover whole groups of 64 elements, several chunks of 32 groups and ragged tails.
  for (const Index cols : {Index{1}, Index{37}, Index{64}, Index{301}, Index{1000}}) {
    const recdiff::Rng rng(recdiff::test::seed(), 3);
    nn::Dropout<float> drop(0.3, rng);
    const RowMatrix<float> x = RowMatrix<float>::Ones(7, cols);
    RowMatrix<float> y;
    drop.forward(x, y);
    const auto key = recdiff::random::philoxKey(rng.seed());
    const auto threshold = static_cast<std::uint64_t>(std::ceil(0.3 * 4294967296.0));
    for (Index i = 0; i < x.size(); ++i) {
      const auto w = recdiff::random::philox4x32(
          recdiff::random::philoxCounter(rng.position() + static_cast<std::uint64_t>(16 * (i / 64) + i % 16),
                                         rng.stream()),
          key);
      const bool keep = w[static_cast<std::size_t>((i % 64) / 16)] >= threshold;
      REQUIRE(drop.mask().data()[i] == (keep ? static_cast<float>(1.0 / 0.7) : 0.0f));
    }
  }
}
