// Tests for include/recdiff/sampling/folded_diffrec.hpp: the noiseless reverse loop in hidden space
// equals DdpmSampler's step-by-step loop over DiffRecMlp (x0 and eps prediction, 2- and 4-layer stacks,
// respaced steps, partial start, tiles), does not depend on the thread count, and refuses --norm.
#include <recdiff/sampling/folded_diffrec.hpp>
#include <recdiff/sampling.hpp>

#include <vector>

#include "support/catch.hpp"
#include "support/test_env.hpp"

#if RECDIFF_HAS_OPENMP
#include <omp.h>
#endif

using recdiff::Index;
using recdiff::RowMatrix;

namespace {

template <class Param, class Scalar>
using Diffusion = recdiff::GaussianDiffusion<recdiff::CosineSchedule, Param, recdiff::FixedSmallVariance, Scalar>;

// Max |a - b| / max(1, max |b|).
template <class A, class B>
double scaledError(const A& a, const B& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  const double scale = std::max(1.0, static_cast<double>(b.cwiseAbs().maxCoeff()));
  return static_cast<double>((a - b).cwiseAbs().maxCoeff()) / scale;
}

// Interaction-like input: 0/1 with about 20% ones, plus small Gaussian noise (a noised start).
template <class Scalar>
RowMatrix<Scalar> input(Index rows, Index items, recdiff::Rng& rng) {
  RowMatrix<Scalar> x(rows, items), noise(rows, items);
  rng.fillNormal(noise);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < items; ++j) x(i, j) = (noise(i, j) > Scalar(0.85) ? Scalar(1) : Scalar(0)) + Scalar(0.05) * noise(i, j);
  return x;
}

template <class Param, class Scalar>
void compareWithStepwise(const std::vector<Index>& dims, const Diffusion<Param, Scalar>& diffusion, Index fromStep,
                         Index rows, double tolerance) {
  recdiff::Rng rng(recdiff::test::seed());
  const Index items = 37;
  recdiff::DiffRecMlp<Scalar> model({.items = items, .dims = dims, .timeEmbeddingSize = 6}, rng);
  model.setTraining(false);
  const RowMatrix<Scalar> x0 = input<Scalar>(rows, items, rng);

  RowMatrix<Scalar> stepwise = x0;
  recdiff::Rng unused(7);
  recdiff::DdpmSampler<Diffusion<Param, Scalar>>(diffusion, {.addNoise = false}).run(model, recdiff::NoCondition{}, stepwise, unused, fromStep);

  RowMatrix<Scalar> folded = x0;
  recdiff::DiffRecFoldedReverse<Diffusion<Param, Scalar>>(model, diffusion).run(folded, fromStep);
  INFO("dims " << dims.size() << " layers, fromStep " << fromStep << ", rows " << rows);
  CHECK(scaledError(folded, stepwise) < tolerance);
  // The loop must have moved x: a folded result equal to the input would pass a lazy comparison.
  CHECK(scaledError(folded, x0) > 1e-3);
}

}  // namespace

TEST_CASE("The folded DiffRec reverse loop equals the step-by-step loop (x0 prediction)", "[sampling][diffrec_folded]") {
  const Diffusion<recdiff::PredictX0, double> d(recdiff::CosineSchedule{}, 12);
  for (const auto& dims : std::vector<std::vector<Index>>{{9}, {5, 11}, {4, 6, 8}}) {
    compareWithStepwise(dims, d, 11, 5, 1e-12);
    compareWithStepwise(dims, d, 4, 3, 1e-12);
    compareWithStepwise(dims, d, 0, 2, 1e-12);
  }
  // Several tiles, the last one partial.
  compareWithStepwise({5, 11}, d, 11, 2 * recdiff::DiffRecFoldedReverse<Diffusion<recdiff::PredictX0, double>>::kTileRows + 7,
                      1e-12);
}

TEST_CASE("The folded DiffRec reverse loop equals the step-by-step loop (eps prediction)", "[sampling][diffrec_folded]") {
  const Diffusion<recdiff::PredictEpsilon, double> d(recdiff::CosineSchedule{}, 12);
  for (const auto& dims : std::vector<std::vector<Index>>{{9}, {5, 11}}) {
    compareWithStepwise(dims, d, 11, 5, 1e-10);
    compareWithStepwise(dims, d, 3, 4, 1e-10);
  }
}

TEST_CASE("The folded DiffRec reverse loop follows a respaced diffusion's timestep map", "[sampling][diffrec_folded]") {
  const Diffusion<recdiff::PredictX0, double> full(recdiff::CosineSchedule{}, 40);
  const auto fast = full.respaced("ddim8");
  REQUIRE(fast.timestepMap()(1) != 1);
  compareWithStepwise({5, 11}, fast, fast.steps() - 1, 6, 1e-12);
}

TEST_CASE("The folded DiffRec reverse loop in float stays close to the double loop", "[sampling][diffrec_folded]") {
  // Same model in float and double: float rounding only (relative to the output scale).
  recdiff::Rng rng(recdiff::test::seed());
  const Index items = 300, rows = 70;
  recdiff::DiffRecMlp<double> md({.items = items, .dims = {20, 60}, .timeEmbeddingSize = 10}, rng);
  recdiff::Rng rng2(recdiff::test::seed());
  recdiff::DiffRecMlp<float> mf({.items = items, .dims = {20, 60}, .timeEmbeddingSize = 10}, rng2);
  mf.parameters().values() = md.parameters().values().cast<float>();
  md.setTraining(false);
  mf.setTraining(false);
  const RowMatrix<double> x0 = input<double>(rows, items, rng);
  const Diffusion<recdiff::PredictX0, double> dd(recdiff::CosineSchedule{}, 40);
  const Diffusion<recdiff::PredictX0, float> df(recdiff::CosineSchedule{}, 40);
  RowMatrix<double> expected = x0;
  recdiff::Rng unused(3);
  recdiff::DdpmSampler<Diffusion<recdiff::PredictX0, double>>(dd, {.addNoise = false}).run(md, recdiff::NoCondition{}, expected, unused);
  RowMatrix<float> folded = x0.cast<float>();
  recdiff::DiffRecFoldedReverse<Diffusion<recdiff::PredictX0, float>>(mf, df).run(folded, 39);
  CHECK(scaledError(folded.cast<double>(), expected) < 1e-4);
}

#if RECDIFF_HAS_OPENMP
TEST_CASE("The folded DiffRec reverse loop gives the same bits on 1 and 2 threads", "[sampling][diffrec_folded]") {
  recdiff::Rng rng(recdiff::test::seed());
  const Index items = 200, rows = 3 * 64 + 5;
  recdiff::DiffRecMlp<float> model({.items = items, .dims = {30, 50}, .timeEmbeddingSize = 10}, rng);
  model.setTraining(false);
  const Diffusion<recdiff::PredictX0, float> d(recdiff::CosineSchedule{}, 20);
  const recdiff::DiffRecFoldedReverse<Diffusion<recdiff::PredictX0, float>> folded(model, d);
  const RowMatrix<float> x0 = input<float>(rows, items, rng);
  const int before = omp_get_max_threads();
  RowMatrix<float> one = x0, two = x0;
  omp_set_num_threads(1);
  folded.run(one, 19);
  omp_set_num_threads(2);
  folded.run(two, 19);
  omp_set_num_threads(before);
  CHECK(one == two);
}
#endif

TEST_CASE("The folded DiffRec reverse loop refuses what it cannot fold", "[sampling][diffrec_folded]") {
  recdiff::Rng rng(recdiff::test::seed());
  const Diffusion<recdiff::PredictX0, double> d(recdiff::CosineSchedule{}, 5);
  recdiff::DiffRecMlp<double> normalized({.items = 10, .dims = {4}, .normalizeInput = true}, rng);
  using Folded = recdiff::DiffRecFoldedReverse<Diffusion<recdiff::PredictX0, double>>;
  CHECK_THROWS_WITH(Folded(normalized, d), Catch::Contains("normalisation"));
  recdiff::DiffRecMlp<double> model({.items = 10, .dims = {4}}, rng);
  const Folded folded(model, d);
  RowMatrix<double> wrong(2, 9);
  CHECK_THROWS_WITH(folded.run(wrong, 4), Catch::Contains("9 columns, expected 10"));
  RowMatrix<double> x(2, 10);
  CHECK_THROWS_WITH(folded.run(x, 5), Catch::Contains("fromStep = 5"));
}
