// nn::gemm(..., GemmPrecision): kFloat is the default product bit for bit; kBf16 stays within the bf16 rounding
// bound on odd shapes, edge tiles, transposes, strided blocks and accumulation, and is really bf16.
//
// The bound (docs/bf16.md). Let u = 2^-8 (unit roundoff of bf16's 8-bit significand, round to nearest even)
// and v = 2^-24 (fp32). Each operand is rounded once, a' = a(1 + α), b' = b(1 + β), |α|, |β| ≤ u; a bf16 product
// is exact in fp32 (8 + 8 ≤ 24 bits), so the only other error is the fp32 summation of k products (+ the old C
// when accumulating), whatever the order: ≤ γ_n Σ|terms| with γ_n = n·v / (1 − n·v), n = k (+1). Per element:
//   (1) |C − (C₀ + A'B')|  ≤ γ_n · (|C₀| + |A'||B'|)                  (A', B' = the bf16-rounded operands)
//   (2) |C − (C₀ + AB)|    ≤ (2u + u²)·(|A||B|) + γ_n·(1 + u)²·(|C₀| + |A||B|)
//                          ≈ (2^-7 + 2^-16 + n·2^-24)·(|A||B|)
// (1) checks that exactly RNE-rounded operands were multiplied; (2) is the user-facing bound. vdpbf16ps flushes
// denormals; the test data has none.
#include <cmath>
#include <cstdint>
#include <string>

#include <recdiff/nn/gemm.hpp>
#include <recdiff/nn/linear.hpp>
#include <recdiff/random.hpp>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "support/catch.hpp"
#include "support/test_env.hpp"

using recdiff::Index;
using recdiff::RowMatrix;
using recdiff::nn::Accumulate;
using recdiff::nn::GemmPrecision;
using Dmat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

RowMatrix<float> randomMatrix(Index rows, Index cols, recdiff::Rng& rng, double scale = 1.0) {
  RowMatrix<float> m(rows, cols);
  rng.fillNormal(m, 0.0, scale);
  return m;
}

template <class X>
Dmat roundedToBf16(const Eigen::MatrixBase<X>& x) {
  Dmat r(x.rows(), x.cols());
  for (Index i = 0; i < x.rows(); ++i)
    for (Index j = 0; j < x.cols(); ++j)
      r(i, j) = recdiff::nn::detail::bf16ToFloat(recdiff::nn::detail::floatToBf16(x(i, j)));
  return r;
}

double gamma(Index n) {
  const double v = std::ldexp(1.0, -24);
  return static_cast<double>(n) * v / (1.0 - static_cast<double>(n) * v);
}

/// Checks C against bounds (1) and (2) above for C = C0 + op(A)·op(B) (accumulate) or op(A)·op(B).
/// Returns the largest |C − (C0 + AB)| / (|A||B|) over the elements (to show the result is really bf16).
template <class A, class B>
double checkBf16Product(const RowMatrix<float>& c, const RowMatrix<float>& c0, const A& a, const B& b,
                        bool accumulate) {
  const Dmat ad = a.template cast<double>(), bd = b.template cast<double>();
  const Dmat ar = roundedToBf16(a), br = roundedToBf16(b);
  const Dmat c0d = accumulate ? Dmat(c0.cast<double>()) : Dmat::Zero(c.rows(), c.cols());
  const Dmat exact = c0d + ad * bd;
  const Dmat exactRounded = c0d + ar * br;
  const Dmat absExact = ad.cwiseAbs() * bd.cwiseAbs();
  const Dmat absRounded = ar.cwiseAbs() * br.cwiseAbs();
  const Index n = a.cols() + (accumulate ? 1 : 0);
  const double u = std::ldexp(1.0, -8);
  double worstRatio = 0.0;
  int failures1 = 0, failures2 = 0;
  for (Index i = 0; i < c.rows(); ++i) {
    for (Index j = 0; j < c.cols(); ++j) {
      const double got = c(i, j);
      const double bound1 = gamma(n) * (std::abs(c0d(i, j)) + absRounded(i, j));
      const double bound2 = (2 * u + u * u) * absExact(i, j) +
                            gamma(n) * (1 + u) * (1 + u) * (std::abs(c0d(i, j)) + absExact(i, j));
      if (!(std::abs(got - exactRounded(i, j)) <= bound1)) ++failures1;
      if (!(std::abs(got - exact(i, j)) <= bound2)) ++failures2;
      if (absExact(i, j) > 0) worstRatio = std::max(worstRatio, std::abs(got - exact(i, j)) / absExact(i, j));
    }
  }
  INFO("shape [" << a.rows() << "x" << a.cols() << "]·[" << b.rows() << "x" << b.cols() << "], accumulate "
                 << accumulate);
  CHECK(failures1 == 0);
  CHECK(failures2 == 0);
  return worstRatio;
}

}  // namespace

TEST_CASE("gemm with GemmPrecision::kFloat is the default product, bit for bit", "[nn][gemm][bf16]") {
  recdiff::Rng rng(recdiff::test::seed());
  for (const auto& [m, k, n] : {std::tuple<Index, Index, Index>{1, 1, 1}, {7, 13, 5}, {64, 300, 129}}) {
    const auto a = randomMatrix(m, k, rng), bt = randomMatrix(n, k, rng);
    const auto c0 = randomMatrix(m, n, rng);
    RowMatrix<float> expected = c0, got = c0;
    recdiff::nn::gemm(expected, a, bt.transpose(), Accumulate::kYes);
    recdiff::nn::gemm(got, a, bt.transpose(), Accumulate::kYes, GemmPrecision::kFloat);
    CHECK((got.array() == expected.array()).all());
    recdiff::nn::gemm(expected, a, bt.transpose());
    recdiff::nn::gemm(got, a, bt.transpose(), Accumulate::kNo, GemmPrecision::kFloat);
    CHECK((got.array() == expected.array()).all());
  }
}

TEST_CASE("bf16 rounding is round-to-nearest-even", "[nn][gemm][bf16]") {
  using recdiff::nn::detail::bf16ToFloat;
  using recdiff::nn::detail::floatToBf16;
  CHECK(bf16ToFloat(floatToBf16(1.0f)) == 1.0f);
  CHECK(bf16ToFloat(floatToBf16(1.0f + std::ldexp(1.0f, -8))) == 1.0f);  // tie → even (1.0)
  CHECK(bf16ToFloat(floatToBf16(1.0f + 3 * std::ldexp(1.0f, -8))) == 1.0f + std::ldexp(1.0f, -6));  // tie → even
  CHECK(bf16ToFloat(floatToBf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20))) ==
        1.0f + std::ldexp(1.0f, -7));  // above the tie → up
  CHECK(bf16ToFloat(floatToBf16(-2.5f)) == -2.5f);
  CHECK(std::isinf(bf16ToFloat(floatToBf16(std::numeric_limits<float>::infinity()))));
  CHECK(std::isnan(bf16ToFloat(floatToBf16(std::numeric_limits<float>::quiet_NaN()))));
  // The vectorised conversion (32 lanes at a time) and the scalar tail agree on 100 values.
  recdiff::Rng rng(recdiff::test::seed());
  const auto x = randomMatrix(1, 100, rng);
  std::vector<std::uint16_t> v(100);
  recdiff::nn::detail::floatToBf16(x.data(), v.data(), 100);
  for (Index i = 0; i < 100; ++i) CHECK(v[static_cast<std::size_t>(i)] == floatToBf16(x(0, i)));
}

TEST_CASE("gemm kBf16 stays within the bf16 bound: odd shapes, edge tiles, transposes, accumulate",
          "[nn][gemm][bf16]") {
  if (!recdiff::nn::bf16GemmAvailable()) {
    const RowMatrix<float> a = RowMatrix<float>::Ones(3, 4), b = RowMatrix<float>::Ones(4, 5);
    RowMatrix<float> c(3, 5);
    REQUIRE_THROWS_WITH(recdiff::nn::gemm(c, a, b, Accumulate::kNo, GemmPrecision::kBf16),
                        Catch::Contains("kBf16") && Catch::Contains("[3x4]·[4x5]") &&
                            Catch::Contains(recdiff::nn::bf16GemmUnavailableReason()));
    WARN("bf16 GEMM unavailable here (" << recdiff::nn::bf16GemmUnavailableReason() << "): accuracy not tested");
    return;
  }
  recdiff::Rng rng(recdiff::test::seed());
  double worst = 0.0;
  // Shapes around the micro-kernel and blocking edges: 1, odd K (bf16 pairs), 16/32/64 ± 1, DiffRec-like.
  const std::tuple<Index, Index, Index> shapes[] = {{1, 1, 1},    {1, 7, 1},     {2, 1, 3},     {5, 3, 7},
                                                    {17, 33, 9},  {31, 65, 47},  {64, 64, 64},  {65, 129, 33},
                                                    {129, 257, 67}, {400, 301, 61}, {33, 2821, 17}};
  for (const auto& [m, k, n] : shapes) {
    for (int variant = 0; variant < 8; ++variant) {
      const bool aT = (variant & 1) != 0, bT = (variant & 2) != 0, acc = (variant & 4) != 0;
      // Stored layouts: A [m×k] or [k×m] (used transposed), B [k×n] or [n×k]; entries of mixed magnitude.
      const auto as = aT ? randomMatrix(k, m, rng) : randomMatrix(m, k, rng);
      const auto bs = bT ? randomMatrix(n, k, rng, 0.05) : randomMatrix(k, n, rng, 0.05);
      const auto c0 = randomMatrix(m, n, rng, 3.0);
      RowMatrix<float> c = c0;
      const auto mode = acc ? Accumulate::kYes : Accumulate::kNo;
      if (aT && bT) recdiff::nn::gemm(c, as.transpose(), bs.transpose(), mode, GemmPrecision::kBf16);
      else if (aT) recdiff::nn::gemm(c, as.transpose(), bs, mode, GemmPrecision::kBf16);
      else if (bT) recdiff::nn::gemm(c, as, bs.transpose(), mode, GemmPrecision::kBf16);
      else recdiff::nn::gemm(c, as, bs, mode, GemmPrecision::kBf16);
      const RowMatrix<float> a = aT ? RowMatrix<float>(as.transpose()) : as;
      const RowMatrix<float> b = bT ? RowMatrix<float>(bs.transpose()) : bs;
      const double ratio = checkBf16Product(c, c0, a, b, acc);
      if (k >= 64) worst = std::max(worst, ratio);
    }
  }
  // Really bf16: somewhere the error exceeds anything fp32 arithmetic could make (k·2^-24 relative).
  CHECK(worst > 3000 * std::ldexp(1.0, -24));
}

TEST_CASE("gemm kBf16 on blocks, maps, strided destinations and expressions, at 1 and 2 threads",
          "[nn][gemm][bf16]") {
  if (!recdiff::nn::bf16GemmAvailable()) {
    WARN("bf16 GEMM unavailable here: " << recdiff::nn::bf16GemmUnavailableReason());
    return;
  }
  recdiff::Rng rng(recdiff::test::seed() + 1);
  const auto big = randomMatrix(300, 500, rng);
  const auto w = randomMatrix(90, 500, rng, 0.05);  // like a Linear weight [out × in]
#if defined(_OPENMP)
  const int savedThreads = omp_get_max_threads();
#endif
  for (const int threads : {1, 2}) {
#if defined(_OPENMP)
    omp_set_num_threads(threads);
#endif
    INFO("threads " << threads);
    // A = a block with an outer stride (rows 7.., columns 11..), B = the left columns of W, transposed
    // (as DiffRecMlp's input-gradient product uses first.weight().leftCols(items)).
    const auto aBlock = big.block(7, 11, 250, 420);
    const auto bBlock = w.leftCols(420).transpose();
    RowMatrix<float> canvas = randomMatrix(260, 120, rng);
    const RowMatrix<float> before = canvas;
    recdiff::nn::gemm(canvas.block(3, 5, 250, 90), aBlock, bBlock, Accumulate::kYes, GemmPrecision::kBf16);
    // Outside the destination block nothing changed.
    RowMatrix<float> outside = canvas;
    outside.block(3, 5, 250, 90) = before.block(3, 5, 250, 90);
    CHECK((outside.array() == before.array()).all());
    checkBf16Product(RowMatrix<float>(canvas.block(3, 5, 250, 90)), RowMatrix<float>(before.block(3, 5, 250, 90)),
                     RowMatrix<float>(aBlock), RowMatrix<float>(bBlock), true);
    // A map and an expression without direct access (evaluated first).
    const Eigen::Map<const RowMatrix<float>> aMap(big.data(), 60, 500);
    RowMatrix<float> c(60, 90);
    recdiff::nn::gemm(c, 2.0f * aMap, w.transpose(), Accumulate::kNo, GemmPrecision::kBf16);
    checkBf16Product(c, c, RowMatrix<float>(2.0f * aMap), RowMatrix<float>(w.transpose()), false);
    // A column-major destination (the transpose of a row-major matrix): C = Bᵀ Aᵀ written through Cᵀ.
    RowMatrix<float> ct(90, 60);
    recdiff::nn::gemm(ct.transpose(), aMap, w.transpose(), Accumulate::kNo, GemmPrecision::kBf16);
    checkBf16Product(RowMatrix<float>(ct.transpose()), c, RowMatrix<float>(aMap), RowMatrix<float>(w.transpose()),
                     false);
  }
#if defined(_OPENMP)
  omp_set_num_threads(savedThreads);
#endif
}

TEST_CASE("gemm kBf16 with an empty inner dimension writes zeros or leaves the destination", "[nn][gemm][bf16]") {
  if (!recdiff::nn::bf16GemmAvailable()) {
    WARN("bf16 GEMM unavailable here: " << recdiff::nn::bf16GemmUnavailableReason());
    return;
  }
  const RowMatrix<float> a(3, 0), b(0, 4);
  RowMatrix<float> c = RowMatrix<float>::Constant(3, 4, 2.5f);
  recdiff::nn::gemm(c, a, b, Accumulate::kYes, GemmPrecision::kBf16);
  CHECK((c.array() == 2.5f).all());
  recdiff::nn::gemm(c, a, b, Accumulate::kNo, GemmPrecision::kBf16);
  CHECK((c.array() == 0.0f).all());
}

TEST_CASE("kBf16 on double operands or a double Linear is refused with a clear message", "[nn][gemm][bf16]") {
  const Dmat a = Dmat::Ones(2, 3), b = Dmat::Ones(3, 2);
  Dmat c(2, 2);
  REQUIRE_THROWS_WITH(recdiff::nn::gemm(c, a, b, Accumulate::kNo, GemmPrecision::kBf16),
                      Catch::Contains("kBf16 needs float"));
  recdiff::nn::Linear<double> layer(3, 2);
  REQUIRE_THROWS_WITH(layer.setPrecision(GemmPrecision::kBf16), Catch::Contains("Linear::setPrecision()"));
  recdiff::nn::Linear<float> floatLayer(3, 2);
  floatLayer.setPrecision(GemmPrecision::kBf16);
  CHECK(floatLayer.precision() == GemmPrecision::kBf16);
}

TEST_CASE("gemm kBf16 reuses its cached primitives correctly: new data, interleaved modes, eviction",
          "[nn][gemm][bf16]") {
  if (!recdiff::nn::bf16GemmAvailable()) {
    WARN("bf16 GEMM unavailable here (" << recdiff::nn::bf16GemmUnavailableReason() << "): not tested");
    return;
  }
  recdiff::Rng rng(recdiff::test::seed());
  // The same shape with new operands and destinations each round, accumulate and overwrite interleaved, and
  // between rounds 40 other shapes (more than the per-thread cache holds) so that entries are evicted and rebuilt.
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    for (const bool accumulate : {false, true, false}) {
      const RowMatrix<float> a = randomMatrix(37, 65, rng), b = randomMatrix(65, 23, rng);
      const RowMatrix<float> c0 = randomMatrix(37, 23, rng);
      RowMatrix<float> c = c0;
      recdiff::nn::gemm(c, a, b, accumulate ? Accumulate::kYes : Accumulate::kNo, GemmPrecision::kBf16);
      checkBf16Product(c, c0, a, b, accumulate);
      // The same shape, transposed operand: another layout, another primitive.
      const RowMatrix<float> at = a.transpose();
      RowMatrix<float> d = c0;
      recdiff::nn::gemm(d, at.transpose(), b, accumulate ? Accumulate::kYes : Accumulate::kNo, GemmPrecision::kBf16);
      checkBf16Product(d, c0, at.transpose(), b, accumulate);
    }
    for (Index k = 1; k <= 40; ++k) {
      const RowMatrix<float> a = randomMatrix(3, k, rng), b = randomMatrix(k, 2, rng);
      RowMatrix<float> c(3, 2);
      recdiff::nn::gemm(c, a, b, Accumulate::kNo, GemmPrecision::kBf16);
      checkBf16Product(c, c, a, b, false);
    }
  }
}
