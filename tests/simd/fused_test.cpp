// Fused forward noising and reverse step against their scalar specifications: every tail of the SIMD width
// and of the noise group, misaligned pointers and padded rows, 1 and 2 threads, bit for bit.

#include <recdiff/random.hpp>
#include <recdiff/simd/kernels.hpp>
#include <recdiff/simd/scalar.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "simd_test_support.hpp"
#include "support/catch.hpp"
#include "support/test_env.hpp"

using recdiff::Index;
using recdiff::random::NoiseAddress;

namespace {

template <class T>
std::vector<T> uniformValues(recdiff::Rng& rng, std::size_t n, double lo, double hi) {
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(lo + (hi - lo) * rng.uniform());
  return v;
}

// Column counts: every tail up to 3·max(width, group)+1, then a few wide rows.
template <class T>
std::vector<long> columnCounts() {
  std::vector<long> cols = recdiff::test::tailSizes<T>(static_cast<long>(recdiff::random::kNormalsPerGroup<T>));
  for (long c : {1000L, 2810L, 4097L}) cols.push_back(c);
  return cols;
}

}  // namespace

TEMPLATE_TEST_CASE("Fused forward noising equals its scalar reference", "[simd][fused]", float, double) {
  recdiff::Rng rng(recdiff::test::seed());
  for (int threads : {1, 2}) {
    recdiff::test::ThreadCount scope(threads);
    for (long cols : columnCounts<TestType>()) {
      const Index rows = cols > 300 ? 17 : 3 + static_cast<Index>(cols % 5);
      const std::size_t misalign = static_cast<std::size_t>(cols % 2);
      const Index ld = cols + static_cast<Index>(cols % 3);  // padded rows on some sizes
      const NoiseAddress at{rng.nextU64(), rng.nextU64(), rng.nextU64() >> 4};
      const auto x0 = uniformValues<TestType>(rng, static_cast<std::size_t>(rows * ld), -1.0, 1.0);
      const auto a = uniformValues<TestType>(rng, static_cast<std::size_t>(rows), 0.0, 1.0);
      const auto b = uniformValues<TestType>(rng, static_cast<std::size_t>(rows), 0.0, 1.0);
      const std::size_t size = static_cast<std::size_t>(rows * ld);
      recdiff::test::OffsetBuffer<TestType> xt(size, misalign), noise(size, misalign), xtOnly(size, misalign);
      std::vector<TestType> xtRef(size, TestType(0)), noiseRef(size, TestType(0));
      for (std::size_t i = 0; i < size; ++i) xt[i] = noise[i] = xtOnly[i] = TestType(0);
      recdiff::simd::forwardNoise<TestType>(at, rows, cols, x0.data(), ld, a.data(), b.data(), xt.data(), ld,
                                            noise.data(), ld);
      recdiff::simd::forwardNoise<TestType>(at, rows, cols, x0.data(), ld, a.data(), b.data(), xtOnly.data(), ld,
                                            nullptr, 0);
      recdiff::simd::scalar::forwardNoise<TestType>(at, rows, cols, x0.data(), ld, a.data(), b.data(), xtRef.data(),
                                                    ld, noiseRef.data(), ld);
      INFO("threads " << threads << " rows " << rows << " cols " << cols << " ld " << ld << " misaligned "
                      << misalign);
      REQUIRE(recdiff::test::firstBitDifference(xt.data(), xtRef.data(), size) == -1);
      REQUIRE(recdiff::test::firstBitDifference(noise.data(), noiseRef.data(), size) == -1);
      REQUIRE(recdiff::test::firstBitDifference(xtOnly.data(), xtRef.data(), size) == -1);
    }
  }
}

TEMPLATE_TEST_CASE("Fused reverse step equals its scalar reference", "[simd][fused]", float, double) {
  recdiff::Rng rng(recdiff::test::seed() + 1);
  for (int threads : {1, 2}) {
    recdiff::test::ThreadCount scope(threads);
    for (long cols : columnCounts<TestType>()) {
      const Index rows = cols > 300 ? 17 : 4 + static_cast<Index>(cols % 3);
      const std::size_t misalign = static_cast<std::size_t>((cols + 1) % 2);
      const Index ld = cols + static_cast<Index>(cols % 2);
      const std::size_t size = static_cast<std::size_t>(rows * ld);
      const NoiseAddress at{rng.nextU64(), rng.nextU64(), rng.nextU64() >> 4};
      const auto x0hat = uniformValues<TestType>(rng, size, -1.0, 1.0);
      const auto xt = uniformValues<TestType>(rng, size, -2.0, 2.0);
      const auto c1 = uniformValues<TestType>(rng, static_cast<std::size_t>(rows), 0.0, 1.0);
      const auto c2 = uniformValues<TestType>(rng, static_cast<std::size_t>(rows), 0.0, 1.0);
      auto sigma = uniformValues<TestType>(rng, static_cast<std::size_t>(rows), 0.0, 0.5);
      sigma[0] = TestType(0);  // a row at t = 0
      recdiff::test::OffsetBuffer<TestType> out(size, misalign), outNoNoise(size, misalign);
      std::vector<TestType> ref(size, TestType(0)), refNoNoise(size, TestType(0));
      for (std::size_t i = 0; i < size; ++i) out[i] = outNoNoise[i] = TestType(0);
      recdiff::simd::reverseStep<TestType>(at, rows, cols, x0hat.data(), ld, xt.data(), ld, c1.data(), c2.data(),
                                           sigma.data(), out.data(), ld);
      recdiff::simd::scalar::reverseStep<TestType>(at, rows, cols, x0hat.data(), ld, xt.data(), ld, c1.data(),
                                                   c2.data(), sigma.data(), ref.data(), ld);
      recdiff::simd::reverseStep<TestType>(at, rows, cols, x0hat.data(), ld, xt.data(), ld, c1.data(), c2.data(),
                                           nullptr, outNoNoise.data(), ld);
      recdiff::simd::scalar::reverseStep<TestType>(at, rows, cols, x0hat.data(), ld, xt.data(), ld, c1.data(),
                                                   c2.data(), nullptr, refNoNoise.data(), ld);
      INFO("threads " << threads << " rows " << rows << " cols " << cols << " ld " << ld << " misaligned "
                      << misalign);
      REQUIRE(recdiff::test::firstBitDifference(out.data(), ref.data(), size) == -1);
      REQUIRE(recdiff::test::firstBitDifference(outNoNoise.data(), refNoNoise.data(), size) == -1);
    }
  }
}

TEMPLATE_TEST_CASE("Forward noising is a x0 plus b eps with eps the addressed draw", "[simd][fused]", float,
                   double) {
  // The meaning of the kernel, through the Eigen interface: eps(r, c) = element r·cols + c of the draw, and
  // xt = a·x0 + b·eps up to one rounding of the product b·eps and one of the fused sum.
  recdiff::Rng rng(recdiff::test::seed());
  const Index rows = 6, cols = 333;
  recdiff::RowMatrix<TestType> x0(rows, cols), xt(rows, cols), eps(rows, cols);
  rng.fillUniform(x0, -1.0, 1.0);
  recdiff::ArrayX<TestType> a(rows), b(rows);
  for (Index r = 0; r < rows; ++r) {
    a(r) = static_cast<TestType>(std::sqrt(1.0 - 0.1 * static_cast<double>(r)));
    b(r) = static_cast<TestType>(std::sqrt(0.1 * static_cast<double>(r)));
  }
  const NoiseAddress at = rng.reserveNoise<TestType>(static_cast<std::uint64_t>(rows * cols));
  recdiff::simd::forwardNoise<TestType>(at, x0, a, b, xt, eps);
  std::vector<TestType> draw(static_cast<std::size_t>(rows * cols));
  recdiff::simd::normalFill<TestType>(at, 0, draw.data(), rows * cols);
  CHECK(recdiff::test::firstBitDifference(eps.data(), draw.data(), draw.size()) == -1);
  const recdiff::RowMatrix<TestType> expected =
      (x0.array().colwise() * a + eps.array().colwise() * b).matrix();
  const double tol = 4.0 * std::numeric_limits<TestType>::epsilon() * 8.0;  // |xt| <= 1 + 5.8·b; ~2 roundings
  CHECK((xt - expected).cwiseAbs().maxCoeff() <= tol);
  CHECK(xt.row(0) == x0.row(0));  // b = 0, a = 1: no noise

  // Reverse step through the Eigen interface, in place on xt, with sigma = 0 in row 0.
  recdiff::ArrayX<TestType> c1 = a, c2 = b, sigma = b;
  recdiff::RowMatrix<TestType> reference(rows, cols);
  recdiff::simd::scalar::reverseStep<TestType>(at, rows, cols, x0.data(), cols, xt.data(), cols, c1.data(),
                                               c2.data(), sigma.data(), reference.data(), cols);
  recdiff::simd::reverseStep<TestType>(at, x0, xt, c1, c2, sigma, xt);
  CHECK(recdiff::test::firstBitDifference(xt.data(), reference.data(), reference.size()) == -1);

  CHECK_THROWS_AS(recdiff::simd::forwardNoise<TestType>(at, x0, a.head(rows - 1), b, xt), std::invalid_argument);
  recdiff::RowMatrix<TestType> wrong(rows, cols + 1);
  CHECK_THROWS_AS(recdiff::simd::forwardNoise<TestType>(at, x0, a, b, wrong), std::invalid_argument);
  CHECK_THROWS_AS(recdiff::simd::reverseStep<TestType>(at, x0, xt, c1, c2, sigma, wrong), std::invalid_argument);
}
