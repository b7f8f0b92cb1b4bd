// DiffuRec with bf16 products (trainingPrecision / inferencePrecision kBf16): a training pass and a reverse run
// are close to float (not equal: really bf16), kFloat set explicitly changes nothing, evaluation mode follows
// inferencePrecision only, bf16 training reduces the loss, and unavailable bf16 or a double model is a clear error.
// The bf16 gradients are compared with the float model's, whose gradients diffurec_approximator_test.cpp checks
// by finite differences (a central difference of the bf16 forward would measure its rounding steps).
//
// Tolerances: one bf16 product errs by at most (2^-7 + 2^-16 + k·2^-24·1.01)·(|A|·|B|) element-wise (nn/gemm.hpp,
// docs/bf16.md), ≈ 2^-7 relative to |A||B|. A pass through 2 blocks runs 4 products per block (Q/K/V, output
// projection, FFN in and out), the time MLP's 2 and the scores: 11 products in sequence. Each error enters the
// residual stream once and the LayerNorms rescale it with the signal, so the relative error of x̂0 and of the
// scores is bounded by about 11·2^-7 ≈ 0.086 when nothing amplifies it; the checks use that count times 2^-7
// (outputs, loss) and the same for the gradient's relative norm (the backward pass repeats the products).

#include <cmath>
#include <stdexcept>
#include <vector>

#include <recdiff/models/diffurec.hpp>

#include "support/catch.hpp"
#include "support/test_env.hpp"
#include "diffurec_toy.hpp"

namespace {

using recdiff::DiffuRecApproximator;
using recdiff::DiffuRecApproximatorOptions;
using recdiff::Index;
using recdiff::RowMatrix;
using recdiff::nn::GemmPrecision;

constexpr int kProducts = 11;  // see the file comment
const double kBound = kProducts * std::ldexp(1.0, -7);

DiffuRecApproximatorOptions smallOptions() {
  return {.items = 150, .hidden = 32, .blocks = 2, .heads = 4, .maxLength = 12, .steps = 8,
          .dropout = 0.1, .embeddingDropout = 0.2, .itemInitStd = 0.2};
}

using Gaussian = recdiff::GaussianDiffusion<recdiff::AnySchedule, recdiff::PredictX0, recdiff::FixedLargeVariance, float>;

struct Batch {
  DiffuRecApproximator<float>::Sequences seq;
  Eigen::ArrayXi targets, t;
  RowMatrix<float> noise, lambdaNoise;
};

Batch makeBatch(const DiffuRecApproximatorOptions& o, Index rows) {
  recdiff::Rng rng(recdiff::test::seed() + 11);
  Batch b;
  b.seq.setZero(rows, o.maxLength);
  for (Index r = 0; r < rows; ++r)
    for (Index j = r % 4; j < o.maxLength; ++j) b.seq(r, j) = 1 + static_cast<int>(rng.uniformIndex(o.items));
  b.targets.resize(rows);
  b.t.resize(rows);
  for (Index r = 0; r < rows; ++r) {
    b.targets(r) = 1 + static_cast<int>(rng.uniformIndex(o.items));
    b.t(r) = static_cast<int>(r % o.steps);
  }
  b.noise.resize(rows, o.hidden);
  b.lambdaNoise.resize(rows * o.maxLength, o.hidden);
  rng.fillNormal(b.noise);
  rng.fillNormal(b.lambdaNoise);
  return b;
}

struct Pass {
  float loss = 0.0f;
  RowMatrix<float> x0Hat;
  Eigen::VectorXf grads;
};

/// One training pass from fixed initial weights and dropout seeds.
Pass trainingPass(DiffuRecApproximator<float>& m, const Gaussian& diffusion, const Batch& b) {
  recdiff::Rng init(recdiff::test::seed());
  m.reset(init);
  m.setRng(recdiff::Rng(recdiff::test::seed() + 1));
  m.setTraining(true);
  m.parameters().zeroGrad();
  Pass p;
  p.loss = m.trainingLoss(diffusion, b.seq, b.targets, b.t, b.noise, &b.lambdaNoise);
  p.x0Hat = m.lastX0Hat();
  p.grads = m.parameters().grads();
  return p;
}

/// One reverse run in evaluation mode from fixed weights and noise.
RowMatrix<float> reverseRun(DiffuRecApproximator<float>& m, const Gaussian& diffusion, const Batch& b) {
  recdiff::Rng init(recdiff::test::seed());
  m.reset(init);
  m.setRng(recdiff::Rng(recdiff::test::seed() + 2));
  m.setTraining(false);
  recdiff::Rng noise(recdiff::test::seed() + 3);
  RowMatrix<float> out;
  recdiff::DdpmSampler(diffusion, recdiff::diffuRecReverseOptions()).sampleFromNoise(m, b.seq, b.seq.rows(), m.options().hidden, noise, out);
  return out;
}

double relativeDifference(const RowMatrix<float>& a, const RowMatrix<float>& ref) {
  return static_cast<double>((a - ref).norm() / ref.norm());
}

}  // namespace

TEST_CASE("DiffuRec bf16 products: close to float in training and inference; kFloat is unchanged",
          "[models][diffurec][bf16]") {
  const auto base = smallOptions();
  if (!recdiff::nn::bf16GemmAvailable()) {
    auto o = base;
    o.trainingPrecision = GemmPrecision::kBf16;
    REQUIRE_THROWS_WITH(DiffuRecApproximator<float>(o), Catch::Contains("bf16 precision is unavailable"));
    o = base;
    o.inferencePrecision = GemmPrecision::kBf16;
    REQUIRE_THROWS_WITH(DiffuRecApproximator<float>(o), Catch::Contains("bf16 precision is unavailable"));
    WARN("bf16 GEMM unavailable here: " << recdiff::nn::bf16GemmUnavailableReason());
    return;
  }
  const Gaussian diffusion(recdiff::makeSchedule("trunc_lin"), base.steps);
  const Batch batch = makeBatch(base, 24);
  auto fl = base, trainBf = base, inferBf = base;
  fl.trainingPrecision = GemmPrecision::kFloat;
  fl.inferencePrecision = GemmPrecision::kFloat;
  trainBf.trainingPrecision = GemmPrecision::kBf16;
  inferBf.inferencePrecision = GemmPrecision::kBf16;
  DiffuRecApproximator<float> reference(base), explicitFloat(fl), bf16Training(trainBf), bf16Inference(inferBf);

  SECTION("training pass") {
    const Pass ref = trainingPass(reference, diffusion, batch);
    const Pass exf = trainingPass(explicitFloat, diffusion, batch);
    const Pass low = trainingPass(bf16Training, diffusion, batch);
    const Pass infOnly = trainingPass(bf16Inference, diffusion, batch);  // training products stay float
    CHECK(exf.loss == ref.loss);
    CHECK((exf.x0Hat.array() == ref.x0Hat.array()).all());
    CHECK((exf.grads.array() == ref.grads.array()).all());
    CHECK((infOnly.grads.array() == ref.grads.array()).all());

    const double outError = relativeDifference(low.x0Hat, ref.x0Hat);
    const double lossError = std::abs(static_cast<double>(low.loss - ref.loss)) / static_cast<double>(ref.loss);
    const double gradError = static_cast<double>((low.grads - ref.grads).norm() / ref.grads.norm());
    const double cosine = low.grads.cast<double>().dot(ref.grads.cast<double>()) /
                          (low.grads.cast<double>().norm() * ref.grads.cast<double>().norm());
    INFO("x0-hat relative error " << outError << ", loss " << lossError << ", gradient " << gradError
                                  << ", gradient cosine " << cosine << "; bound " << kBound);
    CHECK(outError > 0.0);  // really bf16
    CHECK(outError <= kBound);
    CHECK(lossError <= kBound);
    CHECK(gradError > 0.0);
    CHECK(gradError <= kBound);
    CHECK(cosine >= 1.0 - kBound * kBound);
  }

  SECTION("reverse process") {
    const RowMatrix<float> ref = reverseRun(reference, diffusion, batch);
    CHECK((reverseRun(explicitFloat, diffusion, batch).array() == ref.array()).all());
    CHECK((reverseRun(bf16Training, diffusion, batch).array() == ref.array()).all());  // inference stays float
    const RowMatrix<float> low = reverseRun(bf16Inference, diffusion, batch);
    // 8 reverse steps: each x̂0 errs by the pass bound above, and the posterior mean mixes x̂0 and x_t with
    // coefficients that sum to ≤ 1, so the errors do not compound beyond the per-step bound.
    const double error = relativeDifference(low, ref);
    INFO("reverse-run relative error " << error << "; bound " << kBound);
    CHECK(error > 0.0);
    CHECK(error <= kBound);
  }
}

TEST_CASE("DiffuRec trains with bf16 products: the loss decreases", "[models][diffurec][bf16]") {
  if (!recdiff::nn::bf16GemmAvailable()) {
    WARN("bf16 GEMM unavailable here: " << recdiff::nn::bf16GemmUnavailableReason());
    return;
  }
  const auto full = recdiff::test::diffuRecCycleSequences();  // the model test's toy problem
  const auto split = recdiff::data::leaveLastOut(full);
  const auto samples = recdiff::data::prefixSamples(split.train);
  recdiff::DiffuRecOptions o = recdiff::test::tinyDiffuRecOptions();
  o.embeddingDropout = 0.3;  // this case was tuned with the default embedding dropout
  o.trainingPrecision = GemmPrecision::kBf16;
  o.inferencePrecision = GemmPrecision::kBf16;
  recdiff::DiffuRec<float> model(o, 12, recdiff::test::seed());
  recdiff::Rng rng(recdiff::test::seed());
  double first = 0.0, last = 0.0;
  for (int epoch = 1; epoch <= 40; ++epoch) {
    recdiff::Rng e = rng.fork(static_cast<std::uint64_t>(epoch));
    const auto r = model.trainEpoch(split.train, samples, e);
    REQUIRE(r.finite);
    if (epoch == 1) first = r.meanLoss;
    last = r.meanLoss;
  }
  INFO("mean loss, epoch 1: " << first << ", epoch 40: " << last);
  CHECK(last < 0.5 * first);  // the float model's criterion in diffurec_model_test.cpp
  const std::vector<Index> ks{5};
  recdiff::Rng evalRng(7);
  const auto after = model.evaluate(full, split.test, ks, evalRng);
  CHECK(after.at("hr@5") > 0.5);  // chance: 5 of 11 unmasked items at best
}

TEST_CASE("DiffuRec refuses bf16 products for a double model", "[models][diffurec][bf16]") {
  auto o = smallOptions();
  o.trainingPrecision = GemmPrecision::kBf16;
  REQUIRE_THROWS_WITH(DiffuRecApproximator<double>(o), Catch::Contains("needs DiffuRecApproximator<float>"));
  o = smallOptions();
  o.inferencePrecision = GemmPrecision::kBf16;
  REQUIRE_THROWS_WITH(DiffuRecApproximator<double>(o), Catch::Contains("needs DiffuRecApproximator<float>"));
}
