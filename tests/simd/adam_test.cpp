// The fused Adam / AdamW update: against its scalar specification (bit for bit, every tail, misaligned
// pointers, 1 and 2 threads) and against the textbook formulas of torch.optim.Adam / AdamW in double.

#include <recdiff/random.hpp>
#include <recdiff/simd/kernels.hpp>
#include <recdiff/simd/scalar.hpp>

#include <cmath>
#include <vector>

#include "simd_test_support.hpp"
#include "support/catch.hpp"
#include "support/test_env.hpp"

using recdiff::Index;
using recdiff::simd::AdamParams;

namespace {

template <class T>
struct AdamState {
  std::vector<T> param, grad, m, v;
};

template <class T>
AdamState<T> randomState(recdiff::Rng& rng, std::size_t n) {
  AdamState<T> s{std::vector<T>(n), std::vector<T>(n), std::vector<T>(n), std::vector<T>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    s.param[i] = static_cast<T>(rng.normal());
    s.grad[i] = static_cast<T>(0.1 * rng.normal());
    s.m[i] = static_cast<T>(0.01 * rng.normal());
    s.v[i] = static_cast<T>(1e-3 * rng.uniform());
  }
  return s;
}

std::vector<AdamParams> configurations() {
  return {AdamParams{},
          AdamParams{.lr = 3e-3, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weightDecay = 0.1, .step = 7},
          AdamParams{.lr = 1e-2, .weightDecay = 0.05, .decoupledWeightDecay = true, .step = 1000}};
}

}  // namespace

TEMPLATE_TEST_CASE("Fused Adam equals its scalar reference", "[simd][adam]", float, double) {
  recdiff::Rng rng(recdiff::test::seed());
  std::vector<long> sizes = recdiff::test::tailSizes<TestType>(1);
  sizes.push_back(200003);  // above the threading threshold
  for (int threads : {1, 2}) {
    recdiff::test::ThreadCount scope(threads);
    for (const AdamParams& params : configurations()) {
      for (long n : sizes) {
        const auto count = static_cast<std::size_t>(n);
        const AdamState<TestType> start = randomState<TestType>(rng, count);
        AdamState<TestType> ref = start;
        recdiff::simd::scalar::adamUpdate(ref.param.data(), ref.grad.data(), ref.m.data(), ref.v.data(), n, params);
        const std::size_t misalign = static_cast<std::size_t>(n % 2);
        recdiff::test::OffsetBuffer<TestType> p(count, misalign), g(count, misalign), m(count, 1 - misalign),
            v(count, misalign);
        for (std::size_t i = 0; i < count; ++i) {
          p[i] = start.param[i];
          g[i] = start.grad[i];
          m[i] = start.m[i];
          v[i] = start.v[i];
        }
        recdiff::simd::adamUpdate(p.data(), g.data(), m.data(), v.data(), n, params);
        INFO("threads " << threads << " n " << n << " step " << params.step << " decoupled "
                        << params.decoupledWeightDecay);
        REQUIRE(recdiff::test::firstBitDifference(p.data(), ref.param.data(), count) == -1);
        REQUIRE(recdiff::test::firstBitDifference(m.data(), ref.m.data(), count) == -1);
        REQUIRE(recdiff::test::firstBitDifference(v.data(), ref.v.data(), count) == -1);
        REQUIRE(recdiff::test::firstBitDifference(g.data(), start.grad.data(), count) == -1);
      }
    }
  }
}

TEST_CASE("Fused Adam follows the PyTorch formulas", "[simd][adam]") {
  // Ten steps of Adam (L2) and AdamW (decoupled) in double against the formulas written out directly.
  recdiff::Rng rng(recdiff::test::seed());
  const std::size_t n = 257;
  for (bool decoupled : {false, true}) {
    AdamState<double> s = randomState<double>(rng, n);
    std::vector<double> p = s.param, m(n, 0.0), v(n, 0.0);
    s.m.assign(n, 0.0);
    s.v.assign(n, 0.0);
    const double lr = 2e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.02;
    for (int t = 1; t <= 10; ++t) {
      for (std::size_t i = 0; i < n; ++i) s.grad[i] = 0.1 * rng.normal();
      recdiff::simd::adamUpdate(s.param.data(), s.grad.data(), s.m.data(), s.v.data(), static_cast<Index>(n),
                                {.lr = lr, .beta1 = b1, .beta2 = b2, .eps = eps, .weightDecay = wd,
                                 .decoupledWeightDecay = decoupled, .step = t});
      for (std::size_t i = 0; i < n; ++i) {
        double g = s.grad[i];
        if (decoupled) p[i] *= 1.0 - lr * wd;
        else g += wd * p[i];
        m[i] = b1 * m[i] + (1.0 - b1) * g;
        v[i] = b2 * v[i] + (1.0 - b2) * g * g;
        const double mHat = m[i] / (1.0 - std::pow(b1, t));
        const double denom = std::sqrt(v[i]) / std::sqrt(1.0 - std::pow(b2, t)) + eps;
        p[i] -= lr * (m[i] / denom) / (1.0 - std::pow(b1, t));
        (void)mHat;
      }
    }
    double worst = 0.0;
    for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(s.param[i] - p[i]));
    INFO("decoupled " << decoupled);
    CHECK(worst < 1e-14);  // ten steps of O(1e-3) updates, each exact to a few ulp of 1
  }
}

TEST_CASE("The first Adam step moves each parameter by lr against the gradient sign", "[simd][adam]") {
  // m̂ = g and v̂ = g² after one step, so the update is lr·g/(|g| + eps) ≈ lr·sign(g).
  std::vector<float> p = {1.0f, -2.0f, 0.5f, 3.0f}, g = {0.3f, -4.0f, 1e-3f, -0.02f}, m(4, 0.0f), v(4, 0.0f);
  recdiff::simd::adamUpdate(p.data(), g.data(), m.data(), v.data(), 4, {.lr = 0.01, .eps = 1e-12});
  CHECK(p[0] == Approx(0.99f).epsilon(1e-6));
  CHECK(p[1] == Approx(-1.99f).epsilon(1e-6));
  CHECK(p[2] == Approx(0.49f).epsilon(1e-6));
  CHECK(p[3] == Approx(3.01f).epsilon(1e-6));
  CHECK_THROWS_AS(recdiff::simd::adamUpdate(p.data(), g.data(), m.data(), v.data(), 4, {.step = 0}),
                  std::invalid_argument);
}
