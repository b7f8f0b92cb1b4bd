// Requesting bf16 products on a CPU without AVX512-BF16 fails with a clear error. Emulated by capping oneDNN's
// ISA at plain AVX-512 (dnnl::set_max_cpu_isa, which must run before oneDNN generates any code: this executable
// holds this one test case only). In a build without oneDNN the error says so instead.
#include <recdiff/denoisers/diffrec_mlp.hpp>
#include <recdiff/nn/gemm.hpp>

#include "support/catch.hpp"

using recdiff::RowMatrix;
using recdiff::nn::Accumulate;
using recdiff::nn::GemmPrecision;

TEST_CASE("bf16 GEMM on a CPU without AVX512-BF16 throws a clear error", "[nn][gemm][bf16]") {
#if defined(RECDIFF_HAS_DNNL) && RECDIFF_HAS_DNNL
  REQUIRE(dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx512_core) == dnnl::status::success);
  const char* expected = "no AVX512-BF16";
#else
  const char* expected = "built without oneDNN";
#endif
  CHECK_FALSE(recdiff::nn::bf16GemmAvailable());
  CHECK_THAT(recdiff::nn::bf16GemmUnavailableReason(), Catch::Contains(expected));
  const RowMatrix<float> a = RowMatrix<float>::Ones(3, 4), b = RowMatrix<float>::Ones(4, 5);
  RowMatrix<float> c(3, 5);
  CHECK_THROWS_AS(recdiff::nn::gemm(c, a, b, Accumulate::kNo, GemmPrecision::kBf16), std::runtime_error);
  CHECK_THROWS_WITH(recdiff::nn::gemm(c, a, b, Accumulate::kNo, GemmPrecision::kBf16),
                    Catch::Contains("nn::gemm(): GemmPrecision::kBf16 requested for a [3x4]·[4x5] product") &&
                        Catch::Contains(expected));
  // Float products still work, and a model asking for bf16 training is refused at construction.
  recdiff::nn::gemm(c, a, b, Accumulate::kNo, GemmPrecision::kFloat);
  CHECK((c.array() == 4.0f).all());
  recdiff::Rng rng(1);
  CHECK_THROWS_WITH(
      recdiff::DiffRecMlp<float>({.items = 5, .dims = {4}, .timeEmbeddingSize = 2,
                                  .trainingPrecision = GemmPrecision::kBf16},
                                 rng),
      Catch::Contains("DiffRecMlp: trainingPrecision kBf16 is unavailable") && Catch::Contains(expected));
}
