// DiffRecMlp with trainingPrecision = kBf16: training passes use bf16 products (close to, but not equal to,
// float), evaluation mode stays float bit for bit, and kFloat set explicitly changes nothing. The bf16 gradients
// are compared with the float model's, whose gradients diffrec_mlp_test.cpp checks by finite differences (a
// central difference of the bf16 forward itself would measure its rounding steps, not a derivative).
#include <cmath>

#include <recdiff/denoisers/diffrec_mlp.hpp>

#include "support/catch.hpp"
#include "support/test_env.hpp"

using recdiff::DiffRecMlp;
using recdiff::Index;
using recdiff::RowMatrix;
using recdiff::nn::GemmPrecision;

namespace {

struct Pass {
  RowMatrix<float> out;
  Eigen::VectorXf grads;
};

Pass trainingPass(DiffRecMlp<float>& m, const RowMatrix<float>& x, const Eigen::ArrayXi& t,
                  const RowMatrix<float>& dOut) {
  Pass p;
  m.setTraining(true);
  m.forward(x, t, recdiff::NoCondition{}, p.out);
  m.parameters().zeroGrad();
  m.backward(dOut, nullptr);
  p.grads = m.parameters().grads();
  return p;
}

}  // namespace

TEST_CASE("DiffRecMlp trainingPrecision: kBf16 trains in bf16, evaluates in float; kFloat is unchanged",
          "[denoisers][diffrec_mlp][bf16]") {
  const recdiff::DiffRecMlpOptions base{.items = 301, .dims = {40, 120}, .timeEmbeddingSize = 10};
  if (!recdiff::nn::bf16GemmAvailable()) {
    auto o = base;
    o.trainingPrecision = GemmPrecision::kBf16;
    recdiff::Rng rng(1);
    REQUIRE_THROWS_WITH(DiffRecMlp<float>(o, rng), Catch::Contains("trainingPrecision kBf16 is unavailable"));
    WARN("bf16 GEMM unavailable here: " << recdiff::nn::bf16GemmUnavailableReason());
    return;
  }
  auto bf = base, fl = base;
  bf.trainingPrecision = GemmPrecision::kBf16;
  fl.trainingPrecision = GemmPrecision::kFloat;
  recdiff::Rng r1(recdiff::test::seed()), r2(recdiff::test::seed()), r3(recdiff::test::seed());
  DiffRecMlp<float> reference(base, r1), explicitFloat(fl, r2), bf16(bf, r3);  // same weights, same dropout
  recdiff::Rng data(recdiff::test::seed() + 5);
  RowMatrix<float> x(37, 301), dOut(37, 301);
  data.fillUniform(x, 0.0, 1.0);
  x = (x.array() < 0.1f).cast<float>();
  data.fillNormal(dOut, 0.0, 1.0);
  Eigen::ArrayXi t(37);
  for (Index i = 0; i < 37; ++i) t(i) = static_cast<int>(i % 40);

  const Pass ref = trainingPass(reference, x, t, dOut);
  const Pass exf = trainingPass(explicitFloat, x, t, dOut);
  const Pass low = trainingPass(bf16, x, t, dOut);
  CHECK((exf.out.array() == ref.out.array()).all());
  CHECK((exf.grads.array() == ref.grads.array()).all());

  // bf16 training pass: different from float (really bf16) but close. Per layer the product error is at most
  // ~2^-7 of |W||h| (nn/gemm.hpp); through 5 products and tanh (1-Lipschitz) a few 2^-7 of the output scale.
  const float outScale = ref.out.cwiseAbs().maxCoeff();
  const float outError = (low.out - ref.out).cwiseAbs().maxCoeff();
  INFO("output error " << outError << " of scale " << outScale);
  CHECK(outError > 0.0f);
  CHECK(outError <= 5 * std::ldexp(1.0f, -7) * outScale);
  const double cosine = low.grads.cast<double>().dot(ref.grads.cast<double>()) /
                        (low.grads.cast<double>().norm() * ref.grads.cast<double>().norm());
  const double relative = (low.grads - ref.grads).norm() / ref.grads.norm();
  INFO("gradient cosine " << cosine << ", relative difference " << relative);
  CHECK(relative > 0.0);
  CHECK(relative <= 5 * std::ldexp(1.0, -7));
  CHECK(cosine >= 0.999);

  // Evaluation mode: float products, bit-identical to the float model with the same weights.
  RowMatrix<float> evalRef, evalLow;
  bf16.parameters().values() = reference.parameters().values();
  reference.predict(x, t, evalRef);
  bf16.predict(x, t, evalLow);
  CHECK((evalLow.array() == evalRef.array()).all());
  CHECK(bf16.training());  // predict() restored training mode
}

TEST_CASE("DiffRecMlp<double> refuses trainingPrecision kBf16", "[denoisers][diffrec_mlp][bf16]") {
  recdiff::Rng rng(1);
  REQUIRE_THROWS_WITH(DiffRecMlp<double>({.items = 5, .dims = {4}, .timeEmbeddingSize = 2,
                                          .trainingPrecision = GemmPrecision::kBf16},
                                         rng),
                      Catch::Contains("needs DiffRecMlp<float>"));
}
