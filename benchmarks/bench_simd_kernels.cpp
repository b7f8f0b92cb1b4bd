// Benchmarks of the SIMD core (simd/kernels.hpp) with their baselines, in one binary:
//   normal fill            vs std::normal_distribution<float> + std::mt19937, and the scalar spec;
//   fused forward noising  at [400 × 2810] and [5949 × 2810] vs the unfused Eigen expression with the noise
//                          drawn separately (Rng::fillNormal), and vs a plain copy of x0 into xt (the memory
//                          bound of reading x0 and writing xt);
//   fused reverse step     vs the unfused Eigen expression;
//   fused AdamW            vs the Eigen-expression version, and the scalar spec.
// The first argument of every benchmark is the OpenMP thread count (1 = one core).
//
//   cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DRECDIFF_NATIVE=ON -DRECDIFF_BUILD_BENCHMARKS=ON
//         -DRECDIFF_BUILD_TESTS=OFF -DRECDIFF_BUILD_EXAMPLES=OFF
//   cmake --build build/bench --target bench_simd_kernels -j2 && build/bench/benchmarks/bench_simd_kernels

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <recdiff/random.hpp>
#include <recdiff/simd/kernels.hpp>
#include <recdiff/simd/scalar.hpp>

#if RECDIFF_HAS_OPENMP
#include <omp.h>
#endif

namespace {

using recdiff::ArrayX;
using recdiff::Index;
using recdiff::RowMatrix;

void setThreads(const benchmark::State& state) {
#if RECDIFF_HAS_OPENMP
  omp_set_num_threads(static_cast<int>(state.range(0)));
#else
  (void)state;
#endif
}

constexpr Index kFillSize = 1 << 20;

void BM_NormalFill_Recdiff(benchmark::State& state) {
  setThreads(state);
  recdiff::Rng rng(1);
  std::vector<float> out(kFillSize);
  Eigen::Map<Eigen::ArrayXf> view(out.data(), kFillSize);
  for (auto _ : state) {
    rng.fillNormal(view);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kFillSize);
}
BENCHMARK(BM_NormalFill_Recdiff)->Arg(1)->Arg(2)->UseRealTime();

void BM_NormalFill_RecdiffDouble(benchmark::State& state) {
  setThreads(state);
  recdiff::Rng rng(1);
  std::vector<double> out(kFillSize);
  Eigen::Map<Eigen::ArrayXd> view(out.data(), kFillSize);
  for (auto _ : state) {
    rng.fillNormal(view);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kFillSize);
}
BENCHMARK(BM_NormalFill_RecdiffDouble)->Arg(1)->UseRealTime();

void BM_NormalFill_ScalarSpec(benchmark::State& state) {
  setThreads(state);
  std::vector<float> out(kFillSize);
  std::uint64_t block = 0;
  for (auto _ : state) {
    recdiff::simd::scalar::normalFill<float>({1, 0, block}, 0, out.data(), kFillSize);
    block += recdiff::random::normalBlocks<float>(kFillSize);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kFillSize);
}
BENCHMARK(BM_NormalFill_ScalarSpec)->Arg(1)->UseRealTime();

void BM_NormalFill_StdMt19937(benchmark::State& state) {
  std::mt19937 engine(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> out(kFillSize);
  for (auto _ : state) {
    for (float& x : out) x = normal(engine);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kFillSize);
}
BENCHMARK(BM_NormalFill_StdMt19937)->Arg(1)->UseRealTime();

// ---- forward noising ------------------------------------------------------------------------------------

struct NoisingData {
  RowMatrix<float> x0, xt, eps;
  ArrayX<float> a, b;
  NoisingData(Index rows, Index cols) : x0(rows, cols), xt(rows, cols), eps(rows, cols), a(rows), b(rows) {
    recdiff::Rng rng(7);
    rng.fillUniform(x0);
    rng.fillUniform(a, 0.5, 1.0);
    rng.fillUniform(b, 0.0, 0.5);
    xt.setZero();
    eps.setZero();
  }
  double bytesX0AndXt() const { return 2.0 * static_cast<double>(x0.size()) * sizeof(float); }
};

void noisingArgs(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2}) {
    b->Args({threads, 400, 2810});
    b->Args({threads, 5949, 2810});
  }
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

void BM_ForwardNoise_Fused(benchmark::State& state) {
  setThreads(state);
  NoisingData d(state.range(1), state.range(2));
  recdiff::Rng rng(3);
  for (auto _ : state) {
    const auto at = rng.reserveNoise<float>(static_cast<std::uint64_t>(d.x0.size()));
    recdiff::simd::forwardNoise<float>(at, d.x0, d.a, d.b, d.xt);
    benchmark::DoNotOptimize(d.xt.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * d.bytesX0AndXt()));
}
BENCHMARK(BM_ForwardNoise_Fused)->Apply(noisingArgs);

void BM_ForwardNoise_FusedWritingEps(benchmark::State& state) {
  setThreads(state);
  NoisingData d(state.range(1), state.range(2));
  recdiff::Rng rng(3);
  for (auto _ : state) {
    const auto at = rng.reserveNoise<float>(static_cast<std::uint64_t>(d.x0.size()));
    recdiff::simd::forwardNoise<float>(at, d.x0, d.a, d.b, d.xt, d.eps);
    benchmark::DoNotOptimize(d.xt.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * d.bytesX0AndXt()));
}
BENCHMARK(BM_ForwardNoise_FusedWritingEps)->Apply(noisingArgs);

void BM_ForwardNoise_EigenUnfused(benchmark::State& state) {
  setThreads(state);
  NoisingData d(state.range(1), state.range(2));
  recdiff::Rng rng(3);
  for (auto _ : state) {
    rng.fillNormal(d.eps);  // separately drawn noise (the same fast generator)
    d.xt = (d.x0.array().colwise() * d.a + d.eps.array().colwise() * d.b).matrix();
    benchmark::DoNotOptimize(d.xt.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * d.bytesX0AndXt()));
}
BENCHMARK(BM_ForwardNoise_EigenUnfused)->Apply(noisingArgs);

void BM_ForwardNoise_EigenStdNormal(benchmark::State& state) {
  setThreads(state);
  NoisingData d(state.range(1), state.range(2));
  std::mt19937 engine(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto _ : state) {
    for (Index i = 0; i < d.eps.size(); ++i) d.eps.data()[i] = normal(engine);
    d.xt = (d.x0.array().colwise() * d.a + d.eps.array().colwise() * d.b).matrix();
    benchmark::DoNotOptimize(d.xt.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * d.bytesX0AndXt()));
}
BENCHMARK(BM_ForwardNoise_EigenStdNormal)->Args({1, 400, 2810})->Unit(benchmark::kMillisecond)->UseRealTime();

// The memory bound: read x0 and write xt once, nothing else (bytes/s here = the machine's copy bandwidth).
void BM_CopyBound(benchmark::State& state) {
  setThreads(state);
  NoisingData d(state.range(1), state.range(2));
  const auto n = static_cast<std::size_t>(d.x0.size());
  const Index rows = d.x0.rows(), cols = d.x0.cols();
  for (auto _ : state) {
#if RECDIFF_HAS_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (Index r = 0; r < rows; ++r)
      std::memcpy(d.xt.data() + r * cols, d.x0.data() + r * cols, static_cast<std::size_t>(cols) * sizeof(float));
    benchmark::DoNotOptimize(d.xt.data());
    benchmark::ClobberMemory();
  }
  (void)n;
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * d.bytesX0AndXt()));
}
BENCHMARK(BM_CopyBound)->Apply(noisingArgs);

// ---- reverse step ---------------------------------------------------------------------------------------

void BM_ReverseStep_Fused(benchmark::State& state) {
  setThreads(state);
  NoisingData d(state.range(1), state.range(2));
  recdiff::Rng rng(3);
  const ArrayX<float> sigma = d.b * 0.5f;
  for (auto _ : state) {
    const auto at = rng.reserveNoise<float>(static_cast<std::uint64_t>(d.x0.size()));
    recdiff::simd::reverseStep<float>(at, d.x0, d.xt, d.a, d.b, sigma, d.eps);
    benchmark::DoNotOptimize(d.eps.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * 1.5 * d.bytesX0AndXt()));
}
BENCHMARK(BM_ReverseStep_Fused)->Apply(noisingArgs);

void BM_ReverseStep_EigenUnfused(benchmark::State& state) {
  setThreads(state);
  NoisingData d(state.range(1), state.range(2));
  recdiff::Rng rng(3);
  const ArrayX<float> sigma = d.b * 0.5f;
  RowMatrix<float> out(d.x0.rows(), d.x0.cols());
  for (auto _ : state) {
    rng.fillNormal(d.eps);
    out = (d.x0.array().colwise() * d.a + d.xt.array().colwise() * d.b + d.eps.array().colwise() * sigma).matrix();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * 1.5 * d.bytesX0AndXt()));
}
BENCHMARK(BM_ReverseStep_EigenUnfused)->Apply(noisingArgs);

// ---- AdamW ----------------------------------------------------------------------------------------------

// The DiffRec MLP on ML-1M: [2810 -> 1000 -> 2810] plus a time embedding, about 5.6 M parameters.
constexpr Index kParams = 5'630'000;

struct AdamData {
  Eigen::ArrayXf p, g, m, v;
  AdamData() : p(kParams), g(kParams), m(kParams), v(kParams) {
    recdiff::Rng rng(5);
    rng.fillNormal(p);
    rng.fillNormal(g, 0.0, 0.01);
    m.setZero();
    v.setZero();
  }
};

const recdiff::simd::AdamParams kAdamW{.lr = 1e-3, .weightDecay = 0.01, .decoupledWeightDecay = true, .step = 10};

void BM_AdamW_Fused(benchmark::State& state) {
  setThreads(state);
  AdamData d;
  for (auto _ : state) {
    recdiff::simd::adamUpdate(d.p.data(), d.g.data(), d.m.data(), d.v.data(), kParams, kAdamW);
    benchmark::DoNotOptimize(d.p.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kParams * 7 * static_cast<std::int64_t>(sizeof(float)));
}
BENCHMARK(BM_AdamW_Fused)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AdamW_EigenExpressions(benchmark::State& state) {
  setThreads(state);
  AdamData d;
  const double bc1 = 1.0 - std::pow(kAdamW.beta1, 10.0), bc2 = 1.0 - std::pow(kAdamW.beta2, 10.0);
  const float b1 = static_cast<float>(kAdamW.beta1), b2 = static_cast<float>(kAdamW.beta2);
  const float decay = static_cast<float>(1.0 - kAdamW.lr * kAdamW.weightDecay);
  const float step = static_cast<float>(kAdamW.lr / bc1), sqrtBc2 = static_cast<float>(std::sqrt(bc2));
  const float eps = static_cast<float>(kAdamW.eps);
  for (auto _ : state) {
    d.p *= decay;
    d.m = b1 * d.m + (1.0f - b1) * d.g;
    d.v = b2 * d.v + (1.0f - b2) * d.g.square();
    d.p -= step * d.m / (d.v.sqrt() / sqrtBc2 + eps);
    benchmark::DoNotOptimize(d.p.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kParams * 7 * static_cast<std::int64_t>(sizeof(float)));
}
BENCHMARK(BM_AdamW_EigenExpressions)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same four expressions on chunks of 32768 values (so each chunk stays in L2 between the statements), the
// way optim::AdamWUpdate applies them.
void BM_AdamW_EigenExpressionsChunked(benchmark::State& state) {
  setThreads(state);
  AdamData d;
  const double bc1 = 1.0 - std::pow(kAdamW.beta1, 10.0), bc2 = 1.0 - std::pow(kAdamW.beta2, 10.0);
  const float b1 = static_cast<float>(kAdamW.beta1), b2 = static_cast<float>(kAdamW.beta2);
  const float decay = static_cast<float>(1.0 - kAdamW.lr * kAdamW.weightDecay);
  const float step = static_cast<float>(kAdamW.lr / bc1), sqrtBc2 = static_cast<float>(std::sqrt(bc2));
  const float eps = static_cast<float>(kAdamW.eps);
  constexpr Index kChunk = 1 << 15;
  const Index chunks = (kParams + kChunk - 1) / kChunk;
  for (auto _ : state) {
#if RECDIFF_HAS_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (Index c = 0; c < chunks; ++c) {
      const Index at = c * kChunk, len = std::min(kChunk, kParams - at);
      auto p = d.p.segment(at, len);
      auto m = d.m.segment(at, len);
      auto v = d.v.segment(at, len);
      const auto g = d.g.segment(at, len);
      p *= decay;
      m = b1 * m + (1.0f - b1) * g;
      v = b2 * v + (1.0f - b2) * g.square();
      p -= step * m / (v.sqrt() / sqrtBc2 + eps);
    }
    benchmark::DoNotOptimize(d.p.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kParams * 7 * static_cast<std::int64_t>(sizeof(float)));
}
BENCHMARK(BM_AdamW_EigenExpressionsChunked)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AdamW_ScalarSpec(benchmark::State& state) {
  setThreads(state);
  AdamData d;
  for (auto _ : state) {
    recdiff::simd::scalar::adamUpdate(d.p.data(), d.g.data(), d.m.data(), d.v.data(), kParams, kAdamW);
    benchmark::DoNotOptimize(d.p.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * kParams * 7 * static_cast<std::int64_t>(sizeof(float)));
}
BENCHMARK(BM_AdamW_ScalarSpec)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("recdiff.simd.backend", recdiff::simd::kBackend);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
