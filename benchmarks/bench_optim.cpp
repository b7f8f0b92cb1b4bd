// Optimizer steps over a flat buffer of 2 M float parameters (about the size of DiffRec's [1000] model on
// ml-1m_clean: 2820·1000 + 1000·2810 ≈ 5.6 M; [200, 600]: ≈ 3.8 M).
//   bench_optim --benchmark_counters_tabular=true
// Counters: GFLOPS counts 15 floating-point operations per parameter for Adam/AdamW (moments, bias-corrected
// denominator, update, decay) and 3 for SGD; bytes/s counts the parameter, gradient and moment traffic.
#include <benchmark/benchmark.h>

#include <recdiff/optim/optimizer.hpp>
#include <recdiff/random.hpp>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {
void setThreads(int threads) {
#if defined(_OPENMP)
  omp_set_num_threads(threads);
#endif
  (void)threads;
}

template <class Opt>
void runSteps(benchmark::State& state, Opt& opt, double flopsPerParameter, double bytesPerParameter) {
  const recdiff::Index n = state.range(0);
  setThreads(static_cast<int>(state.range(1)));
  recdiff::nn::ParameterBuffer<float> params(n);
  recdiff::Rng rng(3);
  rng.fillNormal(params.values(), 0.0, 0.05);
  rng.fillNormal(params.grads(), 0.0, 0.01);
  opt.step(params);  // sizes the moment buffers outside the timed loop
  for (auto _ : state) {
    opt.step(params);
    benchmark::DoNotOptimize(params.values().data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPS"] = benchmark::Counter(flopsPerParameter * static_cast<double>(n) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(bytesPerParameter * static_cast<double>(n)));
  state.SetItemsProcessed(state.iterations() * n);
}

void BM_AdamWStep(benchmark::State& state) {
  recdiff::optim::AdamW opt({.learningRate = 1e-3, .weightDecay = 0.01});
  runSteps(state, opt, 15.0, 7.0 * sizeof(float));  // read p, g, m, v; write p, m, v
}
void BM_AdamStep(benchmark::State& state) {
  recdiff::optim::Adam opt({.learningRate = 1e-3});
  runSteps(state, opt, 14.0, 7.0 * sizeof(float));
}
void BM_SgdMomentumStep(benchmark::State& state) {
  recdiff::optim::Sgd opt({.learningRate = 1e-2, .momentum = 0.9});
  runSteps(state, opt, 3.0, 5.0 * sizeof(float));  // read p, g, b; write p, b
}
}  // namespace

BENCHMARK(BM_AdamWStep)->ArgNames({"params", "threads"})->Args({2'000'000, 1})->Args({2'000'000, 2})->UseRealTime();
BENCHMARK(BM_AdamStep)->ArgNames({"params", "threads"})->Args({2'000'000, 1})->Args({2'000'000, 2})->UseRealTime();
BENCHMARK(BM_SgdMomentumStep)->ArgNames({"params", "threads"})->Args({2'000'000, 1})->UseRealTime();

BENCHMARK_MAIN();
