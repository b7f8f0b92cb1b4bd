// DiffuRec end to end on synthetic ML-1M-shaped data (3,706 items, histories of 50, batch 512): one training step
// (forward, cross-entropy over every item, backward, Adam) in samples/s, and one inference batch of 128 users (32
// reverse steps from N(0, I) + scoring against every item) in users/s, at the reference configuration (H 128, 4 blocks)
// and at H 64 / 2 blocks, 1 and 2 threads. GFLOP/s counts the GEMM FLOPs the implementation performs (the
// last block computes the last position only).
//
//   cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DRECDIFF_NATIVE=ON -DRECDIFF_BUILD_BENCHMARKS=ON
//   cmake --build build/bench --target bench_diffurec -j2 && build/bench/benchmarks/bench_diffurec
// The authors' figures on this machine (PyTorch CPU, 2 threads): 212 samples/s and 25 users/s (H 128, 4 blocks),
// 852 samples/s and 106 users/s (H 64, 2 blocks).
// Rates per wall second (samples/s, users/s, GFLOP/s) need a quiet machine; the "/cpu-s" counters divide by the
// CPU time of the whole process (every thread) over the timed loop, and "cpu/wall" is that CPU time over the
// wall time (≈ threads when they scale and do not wait; < 1 when other processes took the cores).
// Batches run as data-parallel tiles (DiffuRecOptions::trainingTile / inferenceTile, defaults 64 / 32 rows); the
// environment variables RECDIFF_BENCH_TRAINING_TILE and RECDIFF_BENCH_INFERENCE_TILE override them (0: no tiles,
// every product split over the threads instead, the code before tiles).

#include <benchmark/benchmark.h>

#include <ctime>
#include <cstdlib>

#include <string>

#include <Eigen/Core>

#include <recdiff/models/diffurec.hpp>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using recdiff::Index;

using Precision = recdiff::nn::GemmPrecision;

constexpr Index kItems = 3706, kLen = 50, kBatch = 512, kInferenceBatch = 128;

void setThreads(int threads) {
#if defined(_OPENMP)
  omp_set_num_threads(threads);
#endif
  Eigen::setNbThreads(threads);
}

/// Left-padded random histories: lengths uniform in [1, kLen], ids uniform in [1, kItems].
recdiff::data::IdMatrix randomHistories(Index rows, recdiff::Rng& rng) {
  recdiff::data::IdMatrix h = recdiff::data::IdMatrix::Zero(rows, kLen);
  for (Index r = 0; r < rows; ++r) {
    const Index len = 1 + rng.uniformIndex(kLen);
    for (Index j = kLen - len; j < kLen; ++j) h(r, j) = 1 + static_cast<int>(rng.uniformIndex(kItems));
  }
  return h;
}

double processCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double wallSeconds() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

/// Per-CPU-second counters of a timed loop that did `work` units and `flops` FLOPs.
void setCpuCounters(benchmark::State& state, const char* unit, double work, double flops, double cpu, double wall) {
  state.counters[std::string(unit) + "/cpu-s"] = work / cpu;
  state.counters["GFLOP/cpu-s"] = flops * 1e-9 / cpu;
  state.counters["cpu/wall"] = cpu / wall;
}

recdiff::DiffuRecOptions options(Index h, Index blocks, Precision precision = Precision::kFloat) {
  recdiff::DiffuRecOptions o;
  o.hidden = h;
  o.blocks = blocks;
  o.batchSize = kBatch;
  o.trainingPrecision = precision;
  o.inferencePrecision = precision;
  if (const char* t = std::getenv("RECDIFF_BENCH_TRAINING_TILE")) o.trainingTile = std::atol(t);
  if (const char* t = std::getenv("RECDIFF_BENCH_INFERENCE_TILE")) o.inferenceTile = std::atol(t);
  return o;
}

/// False (and the benchmark skipped with the reason) when bf16 products cannot run here.
bool precisionAvailable(benchmark::State& state, Precision precision) {
  if (precision == Precision::kFloat || recdiff::nn::bf16GemmAvailable()) return true;
  state.SkipWithError(("bf16 unavailable: " + recdiff::nn::bf16GemmUnavailableReason()).c_str());
  return false;
}

template <Precision kPrecision>
void BM_DiffuRecTrainStepAt(benchmark::State& state) {
  if (!precisionAvailable(state, kPrecision)) return;
  const Index h = state.range(0), blocks = state.range(1);
  setThreads(static_cast<int>(state.range(2)));
  recdiff::DiffuRec<float> model(options(h, blocks, kPrecision), kItems, 1);
  recdiff::Rng rng(7);
  const recdiff::data::IdMatrix history = randomHistories(kBatch, rng);
  Eigen::ArrayXi targets(kBatch);
  for (Index r = 0; r < kBatch; ++r) targets(r) = 1 + static_cast<int>(rng.uniformIndex(kItems));
  model.approximator().setTraining(true);
  model.approximator().setRng(rng.fork(1));
  model.step(history, targets, rng);  // warm-up: buffers are allocated on the first call
  const double cpu0 = processCpuSeconds(), wall0 = wallSeconds();
  for (auto _ : state) {
    const float loss = model.step(history, targets, rng);
    model.optimizer().step(model.approximator().parameters());
    benchmark::DoNotOptimize(loss);
  }
  const double cpu = processCpuSeconds() - cpu0, wall = wallSeconds() - wall0;
  const double flops = recdiff::diffuRecFlops(options(h, blocks, kPrecision), kItems).trainPerSample * static_cast<double>(kBatch);
  const auto iterations = static_cast<double>(state.iterations());
  setCpuCounters(state, "samples", iterations * static_cast<double>(kBatch), iterations * flops, cpu, wall);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
  state.counters["samples/s"] = benchmark::Counter(static_cast<double>(kBatch * state.iterations()), benchmark::Counter::kIsRate);
}

template <Precision kPrecision>
void BM_DiffuRecInferenceAt(benchmark::State& state) {
  if (!precisionAvailable(state, kPrecision)) return;
  const Index h = state.range(0), blocks = state.range(1);
  setThreads(static_cast<int>(state.range(2)));
  recdiff::DiffuRec<float> model(options(h, blocks, kPrecision), kItems, 1);
  recdiff::Rng rng(9);
  const recdiff::data::IdMatrix history = randomHistories(kInferenceBatch, rng);
  recdiff::RowMatrix<float> scores;
  model.scores(history, scores, rng);  // warm-up
  const double cpu0 = processCpuSeconds(), wall0 = wallSeconds();
  for (auto _ : state) {
    model.scores(history, scores, rng);
    benchmark::DoNotOptimize(scores.data());
  }
  const double cpu = processCpuSeconds() - cpu0, wall = wallSeconds() - wall0;
  const double flops = recdiff::diffuRecFlops(options(h, blocks, kPrecision), kItems).inferencePerUser * static_cast<double>(kInferenceBatch);
  const auto iterations = static_cast<double>(state.iterations());
  setCpuCounters(state, "users", iterations * static_cast<double>(kInferenceBatch), iterations * flops, cpu, wall);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
  state.counters["users/s"] = benchmark::Counter(static_cast<double>(kInferenceBatch * state.iterations()), benchmark::Counter::kIsRate);
}

// Float products (the names of the earlier measurements) and bf16 products (trainingPrecision and
// inferencePrecision kBf16; skipped where bf16 is unavailable).
void BM_DiffuRecTrainStep(benchmark::State& state) { BM_DiffuRecTrainStepAt<Precision::kFloat>(state); }
void BM_DiffuRecTrainStepBf16(benchmark::State& state) { BM_DiffuRecTrainStepAt<Precision::kBf16>(state); }
void BM_DiffuRecInference(benchmark::State& state) { BM_DiffuRecInferenceAt<Precision::kFloat>(state); }
void BM_DiffuRecInferenceBf16(benchmark::State& state) { BM_DiffuRecInferenceAt<Precision::kBf16>(state); }

}  // namespace

// Args: H, blocks, threads.
#define RECDIFF_DIFFUREC_ARGS \
  Args({128, 4, 1})->Args({128, 4, 2})->Args({64, 2, 1})->Args({64, 2, 2})->Unit(benchmark::kMillisecond)->UseRealTime()
BENCHMARK(BM_DiffuRecTrainStep)->RECDIFF_DIFFUREC_ARGS;
BENCHMARK(BM_DiffuRecTrainStepBf16)->RECDIFF_DIFFUREC_ARGS;
BENCHMARK(BM_DiffuRecInference)->RECDIFF_DIFFUREC_ARGS;
BENCHMARK(BM_DiffuRecInferenceBf16)->RECDIFF_DIFFUREC_ARGS;

BENCHMARK_MAIN();
