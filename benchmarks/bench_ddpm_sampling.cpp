// One reverse step (pSample) at DiffRec's shapes in float: [400 × 2810] and [5949 × 2810]; DiffRec's
// inference step (x0 prediction, posterior mean, no noise) and a DDPM step with fresh noise.
#include <benchmark/benchmark.h>

#include <recdiff/diffusion.hpp>

namespace {

template <class Param, class Variance>
using Diffusion = recdiff::GaussianDiffusion<recdiff::FixedFirstBeta<recdiff::LinearVarianceSchedule>, Param, Variance, float>;

template <class Param, class Variance>
void BM_PSample(benchmark::State& state) {
  const recdiff::Index rows = state.range(0), cols = state.range(1), steps = 40;
  const bool addNoise = state.range(2) != 0;
  const Diffusion<Param, Variance> diffusion(recdiff::diffRecSchedule(), steps);
  recdiff::Rng rng(7);
  recdiff::RowMatrix<float> xt(rows, cols), modelOut(rows, cols), out(rows, cols);
  rng.fillNormal(xt);
  rng.fillNormal(modelOut);
  const Eigen::ArrayXi t = Eigen::ArrayXi::Constant(rows, 20);
  for (auto _ : state) {
    diffusion.pSample(xt, t, modelOut, rng, out, addNoise);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(addNoise ? "with noise" : "posterior mean");
  state.SetItemsProcessed(state.iterations() * rows * cols);
}

}  // namespace

BENCHMARK_TEMPLATE(BM_PSample, recdiff::PredictX0, recdiff::NoNoiseVariance)
    ->Args({400, 2810, 0})->Args({5949, 2810, 0})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_PSample, recdiff::PredictX0, recdiff::FixedSmallVariance)
    ->Args({400, 2810, 1})->Args({5949, 2810, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_PSample, recdiff::PredictEpsilon, recdiff::FixedSmallVariance)
    ->Args({400, 2810, 1})->Args({5949, 2810, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
