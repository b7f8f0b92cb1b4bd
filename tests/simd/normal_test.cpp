// The normal generator: the fast kernel against its scalar specification (bit for bit, every tail, misaligned
// pointers, 1 and 2 threads), the specification against libm, and Rng::fillNormal on Eigen objects.

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

TEMPLATE_TEST_CASE("simd normalFill equals the scalar reference on every tail size and offset", "[simd][normal]",
                   float, double) {
  recdiff::Rng rng(recdiff::test::seed());
  const long group = static_cast<long>(recdiff::random::kNormalsPerGroup<TestType>);
  for (int threads : {1, 2}) {
    recdiff::test::ThreadCount scope(threads);
    for (long n : recdiff::test::tailSizes<TestType>(group)) {
      for (std::size_t misalign : {std::size_t{0}, std::size_t{1}}) {
        const NoiseAddress at{rng.nextU64(), rng.nextU64(), rng.nextU64() >> 8};
        const std::uint64_t first = static_cast<std::uint64_t>(rng.uniformIndex(3 * group));
        recdiff::test::OffsetBuffer<TestType> fast(static_cast<std::size_t>(n), misalign);
        std::vector<TestType> reference(static_cast<std::size_t>(n));
        recdiff::simd::normalFill<TestType>(at, first, fast.data(), n);
        recdiff::simd::scalar::normalFill<TestType>(at, first, reference.data(), n);
        INFO("threads " << threads << " n " << n << " first " << first << " misaligned " << misalign);
        REQUIRE(recdiff::test::firstBitDifference(fast.data(), reference.data(), fast.size()) == -1);
      }
    }
  }
}

TEMPLATE_TEST_CASE("simd normalFill of a large draw is the same at 1 and 2 threads", "[simd][normal]", float,
                   double) {
  const NoiseAddress at{recdiff::test::seed(), 7, 0xFFFFFFF0ull};  // crosses a 2^32 block boundary
  const Index n = 300007;
  std::vector<TestType> one(static_cast<std::size_t>(n)), two(static_cast<std::size_t>(n));
  {
    recdiff::test::ThreadCount scope(1);
    recdiff::simd::normalFill<TestType>(at, 5, one.data(), n);
  }
  {
    recdiff::test::ThreadCount scope(2);
    recdiff::simd::normalFill<TestType>(at, 5, two.data(), n);
  }
  CHECK(recdiff::test::firstBitDifference(one.data(), two.data(), one.size()) == -1);
  for (Index i : {Index{0}, Index{1}, Index{63}, Index{64}, Index{12345}, n - 1}) {
    INFO("element " << i);
    CHECK(one[static_cast<std::size_t>(i)] ==
          recdiff::simd::scalar::normalAt<TestType>(at, 5 + static_cast<std::uint64_t>(i)));
  }
}

namespace {

// Oracle: Box–Muller in long double with libm on the same words.
long double oracle(std::uint64_t uBits, int uPrecision, std::uint64_t angleBits, bool sine, long double* radius) {
  const long double scale = std::ldexp(1.0L, -uPrecision);
  const long double u = static_cast<long double>(uBits + 1) * scale;
  const long double theta = 6.283185307179586476925286766559005768L * static_cast<long double>(angleBits) * scale;
  *radius = std::sqrt(-2.0L * std::log(u));
  return *radius * (sine ? std::sin(theta) : std::cos(theta));
}

}  // namespace

TEST_CASE("Float normals are within 8 ulp of the radius of libm Box-Muller", "[simd][normal][accuracy]") {
  // Bound: |z - z_exact| <= 8·2^-24·max(1, r), r = sqrt(-2 ln u). The log and sin/cos kernels are accurate to
  // ~1 ulp, the angle and the radius add ~1 ulp each; 8 ulp of r leaves a margin without hiding a wrong
  // coefficient (which shows as errors of 1e-4 or more).
  recdiff::Rng rng(recdiff::test::seed());
  const int kSamples = 400000;
  double worst = 0.0;
  auto checkPair = [&](std::uint32_t a, std::uint32_t b) {
    float u, phi, q, z0, z1;
    recdiff::simd::detail::boxMullerInputs(a, b, u, phi, q);
    recdiff::simd::detail::boxMullerReduced(u, phi, q, z0, z1);
    long double r;
    const long double e0 = oracle(a >> 8, 24, b >> 8, false, &r);
    const long double e1 = oracle(a >> 8, 24, b >> 8, true, &r);
    const double scale = std::max(1.0, static_cast<double>(r));
    const double err = static_cast<double>(std::max(std::fabs(z0 - e0), std::fabs(z1 - e1))) / scale;
    worst = std::max(worst, err);
    if (!(err <= 8.0 * 0x1p-24)) {
      FAIL_CHECK("words " << a << ' ' << b << ": z0 " << z0 << " vs " << static_cast<double>(e0) << ", z1 " << z1
                          << " vs " << static_cast<double>(e1));
    }
  };
  for (int i = 0; i < kSamples; ++i) checkPair(rng.nextU32(), rng.nextU32());
  // The extremes: u at its smallest and at 1, the angle at quadrant boundaries.
  for (std::uint32_t a : {0u, 255u, 256u, 0xFFFFFF00u, 0xFFFFFFFFu})
    for (std::uint32_t k : {0u, 1u, (1u << 21) - 1, 1u << 21, (1u << 22), (3u << 21), (1u << 24) - 1})
      checkPair(a, k << 8);
  WARN("float Box-Muller: worst error " << worst / 0x1p-24 << " ulp of max(1, r)");
}

TEST_CASE("Double normals are within 8 ulp of the radius of libm Box-Muller", "[simd][normal][accuracy]") {
  // Same bound in double: 8·2^-53·max(1, r); the oracle runs in long double (64-bit mantissa).
  recdiff::Rng rng(recdiff::test::seed());
  const int kSamples = 200000;
  double worst = 0.0;
  auto checkPair = [&](std::uint64_t a, std::uint64_t b) {
    double u, phi, q, z0, z1;
    recdiff::simd::detail::boxMullerInputs(a, b, u, phi, q);
    recdiff::simd::detail::boxMullerReduced(u, phi, q, z0, z1);
    long double r;
    const long double e0 = oracle(a >> 11, 53, b >> 11, false, &r);
    const long double e1 = oracle(a >> 11, 53, b >> 11, true, &r);
    const double scale = std::max(1.0, static_cast<double>(r));
    const double err = static_cast<double>(std::max(std::fabs(z0 - e0), std::fabs(z1 - e1))) / scale;
    worst = std::max(worst, err);
    if (!(err <= 8.0 * 0x1p-53)) {
      FAIL_CHECK("words " << a << ' ' << b << ": z0 " << z0 << " vs " << static_cast<double>(e0) << ", z1 " << z1
                          << " vs " << static_cast<double>(e1));
    }
  };
  for (int i = 0; i < kSamples; ++i) checkPair(rng.nextU64(), rng.nextU64());
  for (std::uint64_t a : {0ull, 2047ull, 2048ull, ~0ull - 2047ull, ~0ull})
    for (std::uint64_t k : {0ull, 1ull, (1ull << 50) - 1, 1ull << 50, 1ull << 51, 3ull << 50, (1ull << 53) - 1})
      checkPair(a, k << 11);
  WARN("double Box-Muller: worst error " << worst / 0x1p-53 << " ulp of max(1, r)");
}

TEMPLATE_TEST_CASE("Rng fillNormal is the addressed draw in storage order", "[simd][normal][rng]", float, double) {
  const std::uint64_t seed = recdiff::test::seed();
  recdiff::Rng rng(seed, 3);
  recdiff::RowMatrix<TestType> m(37, 91);
  const std::uint64_t before = rng.position();
  rng.fillNormal(m);
  CHECK(rng.position() - before == recdiff::random::normalBlocks<TestType>(37 * 91));
  std::vector<TestType> reference(37 * 91);
  recdiff::random::normalFillReference<TestType>(seed, 3, before, reference.data(), 37 * 91);
  CHECK(recdiff::test::firstBitDifference(m.data(), reference.data(), reference.size()) == -1);

  // Column-major storage order, and a strided block (filled through a temporary in its storage order).
  Eigen::Matrix<TestType, Eigen::Dynamic, Eigen::Dynamic> col(13, 5);
  const std::uint64_t colStart = rng.position();
  rng.fillNormal(col);
  CHECK(col(1, 0) == recdiff::simd::scalar::normalAt<TestType>({seed, 3, colStart}, 1));
  CHECK(col(0, 1) == recdiff::simd::scalar::normalAt<TestType>({seed, 3, colStart}, 13));
  recdiff::RowMatrix<TestType> big = recdiff::RowMatrix<TestType>::Zero(6, 10);
  const std::uint64_t blockStart = rng.position();
  rng.fillNormal(big.block(1, 2, 3, 4));
  CHECK(big(1, 2) == recdiff::simd::scalar::normalAt<TestType>({seed, 3, blockStart}, 0));
  CHECK(big(2, 2) == recdiff::simd::scalar::normalAt<TestType>({seed, 3, blockStart}, 4));
  CHECK(big(0, 0) == TestType(0));
  CHECK(big(4, 2) == TestType(0));
}

TEST_CASE("Rng normal draws are finite and reproducible", "[simd][normal][rng]") {
  recdiff::Rng a(recdiff::test::seed()), b(recdiff::test::seed());
  double sum = 0.0;
  for (int i = 0; i < 20000; ++i) {
    const double z = a.normal();
    REQUIRE(z == b.normal());
    REQUIRE(std::isfinite(z));
    sum += z;
  }
  CHECK(std::fabs(sum / 20000.0) < 5.0 / std::sqrt(20000.0));
}

TEST_CASE("The simd backend matches the compile flags", "[simd]") {
  const std::string backend = recdiff::simd::kBackend;
#if RECDIFF_NO_SIMD
  CHECK(backend == "scalar");
#elif defined(__AVX512F__) && __has_include(<xsimd/xsimd.hpp>)
  CHECK(backend == "avx512");
  CHECK(recdiff::simd::kWidth<float> == 16);
#endif
  WARN("simd backend: " << backend << ", float width " << recdiff::simd::kWidth<float>);
}

TEST_CASE("The normal draw has pinned values on every backend", "[simd][normal]") {
  // Computed once; the same bits must come out of the scalar, AVX2 and AVX-512 builds, with or without FMA
  // contraction (-ffp-contract) and at any optimisation level.
  const NoiseAddress at{20261125, 0, 0};
  const std::uint64_t index[] = {0, 1, 17, 63, 64, 1000};
  const float expectedFloat[] = {-0x1.842472p+0f, -0x1.2b716ep+0f, -0x1.52839ep+1f,
                                 -0x1.c27a7cp-8f, -0x1.34f66p-2f,  0x1.db30fep+0f};
  const double expectedDouble[] = {0x1.defbdab574b61p-1, -0x1.5aa1d397b9d04p-3, 0x1.b5fa7b67ee53ap-1,
                                   0x1.ba10067c32e13p-2, -0x1.945a0b026e62cp-2, -0x1.6a43fd1e0ab57p+0};
  std::vector<float> f(1001);
  std::vector<double> d(1001);
  recdiff::simd::normalFill<float>(at, 0, f.data(), 1001);
  recdiff::simd::normalFill<double>(at, 0, d.data(), 1001);
  for (int k = 0; k < 6; ++k) {
    INFO("element " << index[k]);
    CHECK(recdiff::simd::scalar::normalAt<float>(at, index[k]) == expectedFloat[k]);
    CHECK(recdiff::simd::scalar::normalAt<double>(at, index[k]) == expectedDouble[k]);
    CHECK(f[index[k]] == expectedFloat[k]);
    CHECK(d[index[k]] == expectedDouble[k]);
  }
}
