// Statistical tests of the normal generator, with fixed seeds (recdiff::test::seed()).
//
// Bounds are four standard errors of the statistic for n independent N(0, 1) draws, so a correct generator
// fails one of them with probability about 6e-5 for a seed picked at random (and never for a fixed seed):
//   mean            SE = sqrt(1/n)         variance        SE = sqrt(2/n)
//   skewness        SE = sqrt(6/n)         excess kurtosis SE = sqrt(24/n)
//   correlation     SE = sqrt(1/n)
//   Kolmogorov–Smirnov: sqrt(n)·D below 1.95, the 0.1 % critical value of the Kolmogorov distribution.
// Truncation of the tails (|z| <= 5.77 in float) biases the kurtosis by under 1e-5, far below its bound.
// Sizes: 10^7 draws for the moments, 10^6 for the KS test and for each correlation, in every build
// (the sanitizer build included).

#include <recdiff/random.hpp>
#include <recdiff/simd/kernels.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "simd_test_support.hpp"
#include "support/catch.hpp"
#include "support/test_env.hpp"

using recdiff::Index;

namespace {

constexpr double kStandardErrors = 4.0;

struct Moments {
  double mean, variance, skewness, excessKurtosis;
};

template <class T>
Moments moments(const std::vector<T>& x) {
  const double n = static_cast<double>(x.size());
  double sum = 0.0;
  for (T v : x) sum += static_cast<double>(v);
  const double mean = sum / n;
  double m2 = 0.0, m3 = 0.0, m4 = 0.0;
  for (T v : x) {
    const double d = static_cast<double>(v) - mean, d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return {mean, m2, m3 / std::pow(m2, 1.5), m4 / (m2 * m2) - 3.0};
}

template <class T>
double correlation(const T* x, const T* y, std::size_t n) {
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double a = static_cast<double>(x[i]), b = static_cast<double>(y[i]);
    sx += a;
    sy += b;
    sxx += a * a;
    syy += b * b;
    sxy += a * b;
  }
  const double dn = static_cast<double>(n);
  const double cov = sxy / dn - (sx / dn) * (sy / dn);
  return cov / std::sqrt((sxx / dn - (sx / dn) * (sx / dn)) * (syy / dn - (sy / dn) * (sy / dn)));
}

template <class T>
std::vector<T> draw(recdiff::Rng& rng, std::size_t n) {
  std::vector<T> x(n);
  Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> view(x.data(), static_cast<Index>(n));
  rng.fillNormal(view);
  return x;
}

}  // namespace

TEMPLATE_TEST_CASE("Normal draws have the moments of N(0 1) on 10^7 values", "[simd][normal][stats]", float,
                   double) {
  const std::size_t n = 10'000'000;
  const double dn = static_cast<double>(n);
  recdiff::Rng rng(recdiff::test::seed(), 11);
  recdiff::Rng copy = rng;
  std::vector<TestType> x;
  {
    recdiff::test::ThreadCount scope(1);
    x = draw<TestType>(rng, n);
  }
  const Moments m = moments(x);
  INFO("mean " << m.mean << " variance " << m.variance << " skewness " << m.skewness << " excess kurtosis "
               << m.excessKurtosis);
  CHECK(std::fabs(m.mean) < kStandardErrors * std::sqrt(1.0 / dn));
  CHECK(std::fabs(m.variance - 1.0) < kStandardErrors * std::sqrt(2.0 / dn));
  CHECK(std::fabs(m.skewness) < kStandardErrors * std::sqrt(6.0 / dn));
  CHECK(std::fabs(m.excessKurtosis) < kStandardErrors * std::sqrt(24.0 / dn));
  // The largest radius: sqrt(-2 ln 2^-24) = 5.768 (float), sqrt(-2 ln 2^-53) = 8.572 (double).
  const TestType limit = sizeof(TestType) == 4 ? TestType(5.77) : TestType(8.58);
  CHECK(*std::max_element(x.begin(), x.end()) <= limit);
  CHECK(*std::min_element(x.begin(), x.end()) >= -limit);

  // The same numbers at 2 threads (the draw above ran at 1).
  recdiff::test::ThreadCount scope(2);
  const std::vector<TestType> y = draw<TestType>(copy, n);
  CHECK(recdiff::test::firstBitDifference(x.data(), y.data(), n) == -1);
}

TEMPLATE_TEST_CASE("Normal draws pass a Kolmogorov-Smirnov test against N(0 1)", "[simd][normal][stats]", float,
                   double) {
  const std::size_t n = 1'000'000;
  recdiff::Rng rng(recdiff::test::seed(), 12);
  std::vector<TestType> x = draw<TestType>(rng, n);
  std::sort(x.begin(), x.end());
  double d = 0.0;
  const double dn = static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double cdf = 0.5 * std::erfc(-static_cast<double>(x[i]) / std::sqrt(2.0));
    d = std::max({d, cdf - static_cast<double>(i) / dn, static_cast<double>(i + 1) / dn - cdf});
  }
  INFO("sqrt(n) D = " << std::sqrt(dn) * d);
  CHECK(std::sqrt(dn) * d < 1.95);
}

TEMPLATE_TEST_CASE("Adjacent streams and neighbouring values are uncorrelated", "[simd][normal][stats]", float,
                   double) {
  const std::size_t n = 1'000'000;
  const double bound = kStandardErrors / std::sqrt(static_cast<double>(n));
  const std::uint64_t seed = recdiff::test::seed();
  for (std::uint64_t stream : {std::uint64_t{0}, std::uint64_t{41}}) {
    recdiff::Rng a(seed, stream), b(seed, stream + 1);
    const auto x = draw<TestType>(a, n), y = draw<TestType>(b, n);
    INFO("streams " << stream << " and " << stream + 1);
    CHECK(std::fabs(correlation(x.data(), y.data(), n)) < bound);
  }
  {
    recdiff::Rng root(seed);
    recdiff::Rng a = root.fork(5), b = root.fork(6);
    const auto x = draw<TestType>(a, n), y = draw<TestType>(b, n);
    INFO("forks 5 and 6");
    CHECK(std::fabs(correlation(x.data(), y.data(), n)) < bound);
  }
  {
    recdiff::Rng rng(seed, 9);
    const auto x = draw<TestType>(rng, n), y = draw<TestType>(rng, n);
    INFO("consecutive draws of one stream");
    CHECK(std::fabs(correlation(x.data(), y.data(), n)) < bound);
  }
  {
    // Lags 1 (neighbouring blocks), 16 (the two outputs of one Box–Muller pair), 32 (the other pair of the
    // same block, float) and 64 (the next group).
    recdiff::Rng rng(seed, 10);
    const auto x = draw<TestType>(rng, n + 64);
    for (std::size_t lag : {1, 16, 32, 64}) {
      INFO("lag " << lag);
      CHECK(std::fabs(correlation(x.data(), x.data() + lag, n)) < bound);
    }
  }
}
