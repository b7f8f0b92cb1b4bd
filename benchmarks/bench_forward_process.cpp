// qSample at DiffRec's batch shapes in float: [400 × 2810] (a training batch of ML-1M clean) and
// [5949 × 2810] (every user at once), with given noise and with noise drawn from the Rng.
#include <benchmark/benchmark.h>

#include <recdiff/diffusion.hpp>

namespace {

using Diffusion = recdiff::GaussianDiffusion<recdiff::FixedFirstBeta<recdiff::LinearVarianceSchedule>, recdiff::PredictX0,
                                             recdiff::FixedSmallVariance, float>;

struct Batch {
  recdiff::RowMatrix<float> x0, noise, xt;
  Eigen::ArrayXi t;
  Batch(recdiff::Index rows, recdiff::Index cols, recdiff::Index steps, recdiff::Rng& rng)
      : x0(rows, cols), noise(rows, cols), xt(rows, cols), t(rows) {
    x0.setZero();
    for (recdiff::Index i = 0; i < rows; ++i) {
      for (recdiff::Index j = 0; j < cols; ++j) x0(i, j) = rng.uniform() < 0.02 ? 1.0f : 0.0f;  // implicit feedback
      t(i) = static_cast<int>(rng.uniformIndex(steps));
    }
    rng.fillNormal(noise);
  }
};

void BM_QSample(benchmark::State& state) {
  const recdiff::Index rows = state.range(0), cols = state.range(1), steps = 40;
  const Diffusion diffusion(recdiff::diffRecSchedule(), steps);
  recdiff::Rng rng(7);
  Batch b(rows, cols, steps, rng);
  for (auto _ : state) {
    diffusion.qSample(b.x0, b.t, b.noise, b.xt);
    benchmark::DoNotOptimize(b.xt.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * rows * cols);
}

void BM_QSampleDrawingNoise(benchmark::State& state) {
  const recdiff::Index rows = state.range(0), cols = state.range(1), steps = 40;
  const Diffusion diffusion(recdiff::diffRecSchedule(), steps);
  recdiff::Rng rng(7);
  Batch b(rows, cols, steps, rng);
  for (auto _ : state) {
    diffusion.qSample(b.x0, b.t, rng, b.xt, &b.noise);
    benchmark::DoNotOptimize(b.xt.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * rows * cols);
}

}  // namespace

BENCHMARK(BM_QSample)->Args({400, 2810})->Args({5949, 2810})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_QSampleDrawingNoise)->Args({400, 2810})->Args({5949, 2810})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
