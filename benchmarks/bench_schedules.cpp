// Schedule and table construction at T = 1000: betas in double, then every DDPM table, then a full
// GaussianDiffusion<float> (tables + float coefficients).
#include <benchmark/benchmark.h>

#include <string>

#include <recdiff/diffusion.hpp>

namespace {

const char* const kNames[] = {"linear", "linear-var", "cosine", "sqrt", "trunc_cos", "trunc_lin", "pw_lin", "binomial", "exp"};

void BM_ScheduleBetas(benchmark::State& state) {
  const auto schedule = recdiff::makeSchedule(kNames[state.range(0)]);
  const recdiff::Index steps = state.range(1);
  for (auto _ : state) {
    Eigen::ArrayXd betas = schedule.betas(steps);
    benchmark::DoNotOptimize(betas.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(kNames[state.range(0)]);
  state.SetItemsProcessed(state.iterations() * steps);
}

void BM_ScheduleTables(benchmark::State& state) {
  const recdiff::Index steps = state.range(1);
  const Eigen::ArrayXd betas = recdiff::makeSchedule(kNames[state.range(0)]).betas(steps);
  for (auto _ : state) {
    auto tables = recdiff::ScheduleTables::fromBetas(betas);
    benchmark::DoNotOptimize(tables.snr.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(kNames[state.range(0)]);
  state.SetItemsProcessed(state.iterations() * steps);
}

void BM_GaussianDiffusionConstruction(benchmark::State& state) {
  const recdiff::Index steps = state.range(1);
  const auto schedule = recdiff::makeSchedule(kNames[state.range(0)]);
  for (auto _ : state) {
    recdiff::GaussianDiffusion<recdiff::AnySchedule> diffusion(schedule, steps);
    benchmark::DoNotOptimize(diffusion.sqrtAlphaBar().data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(kNames[state.range(0)]);
  state.SetItemsProcessed(state.iterations() * steps);
}

void allSchedules(benchmark::internal::Benchmark* b) {
  for (int i = 0; i < static_cast<int>(std::size(kNames)); ++i) b->Args({i, 1000});
}

}  // namespace

BENCHMARK(BM_ScheduleBetas)->Apply(allSchedules);
BENCHMARK(BM_ScheduleTables)->Args({2, 1000});
BENCHMARK(BM_GaussianDiffusionConstruction)->Args({1, 1000})->Args({2, 1000});
BENCHMARK_MAIN();
