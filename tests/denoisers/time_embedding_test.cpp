#include <cmath>

#include <recdiff/denoisers/time_embedding.hpp>

#include "support/catch.hpp"
#include "support/golden.hpp"

using recdiff::Index;
using recdiff::RowMatrix;

TEST_CASE("Sinusoidal embedding reproduces DiffRec timestep_embedding golden values",
          "[denoisers][time_embedding][golden]") {
  const auto golden = recdiff::test::loadGolden("timestep_embedding.json");
  REQUIRE(!golden.at("cases").empty());
  const auto& caseList = golden.at("cases");
  for (std::size_t caseIndex = 0; caseIndex < caseList.size(); ++caseIndex) {
    const auto& c = caseList[caseIndex];
    DYNAMIC_SECTION("case " << caseIndex) {  // one section per case: every failing case is reported
      const auto ts = c.at("timesteps").get<std::vector<int>>();
      const Eigen::ArrayXi t = Eigen::Map<const Eigen::ArrayXi>(ts.data(), static_cast<Index>(ts.size()));
      const auto dim = c.at("dim").get<Index>();
      const RowMatrix<double> expected = recdiff::test::goldenMatrix(c.at("embedding"));
      INFO("dim " << dim << ", " << ts.size() << " timesteps");
      RowMatrix<double> got;
      recdiff::sinusoidalTimestepEmbedding(t, dim, got, recdiff::diffRecTimeEmbedding());
      REQUIRE(got.rows() == expected.rows());
      REQUIRE(got.cols() == expected.cols());
      // The reference works in float32: it rounds the result (2^-24) and the argument t·f (a few ulps of it).
      for (Index r = 0; r < got.rows(); ++r)
        for (Index j = 0; j < dim; ++j) {
          const double arg = static_cast<double>(t(r));
          CHECK(std::abs(got(r, j) - expected(r, j)) <= 2.4e-7 + 1.2e-7 * arg);
        }
      if (dim % 2 == 1) CHECK(got.col(dim - 1).isZero(0.0));
    }
  }
}

TEMPLATE_TEST_CASE("Sinusoidal embedding layouts match hand-computed values", "[denoisers][time_embedding]", float,
                   double) {
  using S = TestType;
  Eigen::ArrayXi t(2);
  t << 0, 3;
  SECTION("cos then sin with divisor dim over 2") {
    RowMatrix<S> e;
    recdiff::sinusoidalTimestepEmbedding(t, 4, e, recdiff::diffRecTimeEmbedding());
    // h = 2: frequencies 1, 10000^(-1/2) = 0.01.
    RowMatrix<S> expected(2, 4);
    expected << 1, 1, 0, 0, std::cos(3.0), std::cos(0.03), std::sin(3.0), std::sin(0.03);
    CHECK(e.isApprox(expected));
  }
  SECTION("the DiffuRec rescale multiplies t by 1000 over steps") {
    RowMatrix<S> e, ref;
    recdiff::sinusoidalTimestepEmbedding(t, 6, e, recdiff::diffuRecTimeEmbedding(500));
    Eigen::ArrayXi t2 = t * 2;
    recdiff::sinusoidalTimestepEmbedding(t2, 6, ref, recdiff::diffRecTimeEmbedding());
    CHECK(e.isApprox(ref));
  }
  SECTION("sin then cos with divisor dim over 2 minus 1") {
    RowMatrix<S> e;
    recdiff::sinusoidalTimestepEmbedding(t, 6, e, recdiff::dreamRecTimeEmbedding());
    // h = 3, divisor 2: frequencies 1, 0.01, 0.0001.
    RowMatrix<S> expected(2, 6);
    expected << 0, 0, 0, 1, 1, 1, std::sin(3.0), std::sin(0.03), std::sin(0.0003), std::cos(3.0), std::cos(0.03),
        std::cos(0.0003);
    CHECK(e.isApprox(expected));
  }
  SECTION("invalid dimensions are rejected") {
    RowMatrix<S> e;
    CHECK_THROWS_AS(recdiff::sinusoidalTimestepEmbedding(t, 0, e), std::invalid_argument);
    CHECK_THROWS_AS(recdiff::sinusoidalTimestepEmbedding(t, 5, e, recdiff::dreamRecTimeEmbedding()),
                    std::invalid_argument);
  }
}
