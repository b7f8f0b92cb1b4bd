#include <recdiff/random.hpp>

#include <cmath>

#include "support/catch.hpp"
#include "support/test_env.hpp"

TEST_CASE("Rng copies and forks are reproducible", "[core][random]") {
  recdiff::Rng a(recdiff::test::seed());
  recdiff::Rng b = a;
  for (int i = 0; i < 100; ++i) REQUIRE(a.nextU32() == b.nextU32());
  recdiff::Rng c = a.fork(1), d = a.fork(1), e = a.fork(2);
  CHECK(c.nextU64() == d.nextU64());
  CHECK(c.nextU64() != e.nextU64());
}

TEST_CASE("Rng uniformIndex stays in range and covers it", "[core][random]") {
  recdiff::Rng rng(recdiff::test::seed());
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 7000; ++i) {
    const auto k = rng.uniformIndex(7);
    REQUIRE(k >= 0);
    REQUIRE(k < 7);
    ++counts[static_cast<std::size_t>(k)];
  }
  for (int c : counts) CHECK(std::abs(c - 1000) < 150);  // ~4.8 standard deviations
  CHECK_THROWS_AS(rng.uniformIndex(0), std::invalid_argument);
}

TEST_CASE("Rng fillNormal has mean 0 and variance 1", "[core][random]") {
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::RowMatrix<double> m(200, 500);
  rng.fillNormal(m);
  const double mean = m.mean();
  const double var = (m.array() - mean).square().mean();
  CHECK(std::abs(mean) < 5.0 / std::sqrt(1e5));
  CHECK(std::abs(var - 1.0) < 5.0 * std::sqrt(2.0 / 1e5));
}
