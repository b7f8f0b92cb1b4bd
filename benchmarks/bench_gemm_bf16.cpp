// bf16 × bf16 → fp32 GEMM (oneDNN's matmul, AVX512-BF16 `vdpbf16ps`) against Eigen float (nn::gemm) on the five
// GEMMs of a DiffRec ml-1m_clean training step (batch 400; MLP 2820 → 600 → 200 → 600 → 2810), in the same run.
//   OMP_NUM_THREADS=1 bench_gemm_bf16 --benchmark_counters_tabular=true
// Args: shape (0..4, see kShapes), threads. Counters: GFLOPS = 2·M·K·N per product. With 1 thread the time is the
// process CPU time; with 2 it is wall time (repeat and take the best; say the load average). Under load, run with
// --benchmark_enable_random_interleaving=true --benchmark_repetitions=5 so both sides see the same load.
// Variants: Eigen float (the baseline, nn::gemm exactly as the layers call it); oneDNN bf16 including the
// conversion of both float operands to bf16 every call ("end to end": the weights change every step and the
// activations are new every batch); nn::gemm(..., GemmPrecision::kBf16), the library's path (the same plus the
// primitive lookup per call); oneDNN bf16 GEMM alone (operands already bf16); oneDNN f32 (reference).
// The bf16 variants are skipped (SkipWithError) when the build has no oneDNN (RECDIFF_HAS_DNNL, found by the
// top-level CMakeLists) or the CPU has no avx512_bf16.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include <recdiff/nn/gemm.hpp>
#include <recdiff/parallel.hpp>
#include <recdiff/random.hpp>

#if defined(_OPENMP)
#include <omp.h>
#endif

#if defined(RECDIFF_HAS_DNNL) && RECDIFF_HAS_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#define BF16_BENCH_DNNL 1
#else
#define BF16_BENCH_DNNL 0
#endif

namespace {

using recdiff::Index;
using Matrix = recdiff::RowMatrix<float>;

void setThreads(int threads) {
  Eigen::setNbThreads(threads);
#if defined(_OPENMP)
  omp_set_num_threads(threads);
#endif
}

/// One product dst[M×N] (+)= op(A)·op(B) as DiffRecMlp computes it. A is stored [M×K] row-major, or (aT) [K×M]
/// row-major and used transposed; B is stored [K×N] row-major, or (bT) [N×K] row-major and used transposed.
struct Shape {
  const char* name;
  Index m, k, n;
  bool aT, bT, accumulate;
};
// clang-format off
constexpr Shape kShapes[] = {
  {"fwd in_layer0  y=x·W1ᵀ",   400, 2820,  600, false, true,  false},  // [400×2820]·[2820×600]
  {"fwd out_layer1 y=h·W4ᵀ",   400,  600, 2810, false, true,  false},  // [400×600]·[600×2810]
  {"dW1 += dy1ᵀ·x",            600,  400, 2820, true,  false, true },  // = ([2820×400]·[400×600])ᵀ
  {"dW4 += dy4ᵀ·h3",          2810,  400,  600, true,  false, true },  // = ([600×400]·[400×2810])ᵀ
  {"dh3 = dy4·W4",             400, 2810,  600, false, false, false},  // [400×2810]·[2810×600]
};
// clang-format on

struct Operands {
  Matrix a, b, c;  // a, b in their stored layout; c = dst [M×N]
  explicit Operands(const Shape& s) {
    recdiff::Rng rng(11);
    a.resize(s.aT ? s.k : s.m, s.aT ? s.m : s.k);
    b.resize(s.bT ? s.n : s.k, s.bT ? s.k : s.n);
    c.resize(s.m, s.n);
    rng.fillNormal(a, 0.0, 1.0);
    rng.fillNormal(b, 0.0, 0.05);
    c.setZero();
  }
};

const Shape& shapeOf(const benchmark::State& state) { return kShapes[state.range(0)]; }

void setCounters(benchmark::State& state, const Shape& s) {
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * double(s.m) * double(s.k) * double(s.n) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(s.name);
}

void BM_EigenFloat(benchmark::State& state) {
  const Shape& s = shapeOf(state);
  setThreads(static_cast<int>(state.range(1)));
  Operands o(s);
  const auto mode = s.accumulate ? recdiff::nn::Accumulate::kYes : recdiff::nn::Accumulate::kNo;
  for (auto _ : state) {
    if (s.aT && s.bT) recdiff::nn::gemm(o.c, o.a.transpose(), o.b.transpose(), mode);
    else if (s.aT) recdiff::nn::gemm(o.c, o.a.transpose(), o.b, mode);
    else if (s.bT) recdiff::nn::gemm(o.c, o.a, o.b.transpose(), mode);
    else recdiff::nn::gemm(o.c, o.a, o.b, mode);
    benchmark::DoNotOptimize(o.c.data());
    benchmark::ClobberMemory();
  }
  setCounters(state, s);
}

#if BF16_BENCH_DNNL

/// float → bf16 (round to nearest even) with the library's converter, split over the threads when large.
void toBf16(const float* src, std::uint16_t* dst, Index n) {
  const int threads = recdiff::availableThreads();
  if (threads > 1 && n >= 65536) {
    recdiff::parallelFor(threads, true, [&](Index p) {
      const Index begin = n * p / threads, end = n * (p + 1) / threads;
      recdiff::nn::detail::floatToBf16(src + begin, dst + begin, end - begin);
    });
  } else {
    recdiff::nn::detail::floatToBf16(src, dst, n);
  }
}

bool cpuHasBf16() { return recdiff::nn::bf16GemmAvailable(); }

/// The matmul primitive for a shape, with operand memories in the given data type.
struct DnnlGemm {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul prim;
  dnnl::memory a, b, c;

  DnnlGemm(const Shape& s, dnnl::memory::data_type dt, float* cData) {
    using dims = dnnl::memory::dims;
    // A logical [M×K]: stored row-major [M×K] → strides {K, 1}; stored [K×M] → strides {1, M}.
    const dnnl::memory::desc ad({s.m, s.k}, dt, s.aT ? dims{1, s.m} : dims{s.k, 1});
    const dnnl::memory::desc bd({s.k, s.n}, dt, s.bT ? dims{1, s.k} : dims{s.n, 1});
    const dnnl::memory::desc cd({s.m, s.n}, dnnl::memory::data_type::f32, dims{s.n, 1});
    dnnl::primitive_attr attr;
    if (s.accumulate) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);
      attr.set_post_ops(ops);
    }
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, cd), attr, engine);
    prim = dnnl::matmul(pd);
    a = dnnl::memory(ad, engine);
    b = dnnl::memory(bd, engine);
    c = dnnl::memory(cd, engine, cData);
  }
  void run() {
    prim.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    stream.wait();
  }
};

/// Arg convert: 1 = convert both float operands to bf16 inside the timed loop, 0 = GEMM alone.
void BM_DnnlBf16(benchmark::State& state, bool convert) {
  if (!cpuHasBf16()) {
    state.SkipWithError("oneDNN reports no avx512_core_bf16 on this CPU");
    return;
  }
  const Shape& s = shapeOf(state);
  setThreads(static_cast<int>(state.range(1)));
  Operands o(s);
  DnnlGemm g(s, dnnl::memory::data_type::bf16, o.c.data());
  auto* a16 = static_cast<std::uint16_t*>(g.a.get_data_handle());
  auto* b16 = static_cast<std::uint16_t*>(g.b.get_data_handle());
  toBf16(o.a.data(), a16, o.a.size());
  toBf16(o.b.data(), b16, o.b.size());
  for (auto _ : state) {
    if (convert) {
      toBf16(o.a.data(), a16, o.a.size());
      toBf16(o.b.data(), b16, o.b.size());
    }
    g.run();
    benchmark::DoNotOptimize(o.c.data());
    benchmark::ClobberMemory();
  }
  setCounters(state, s);
}
void BM_DnnlBf16WithConversion(benchmark::State& state) { BM_DnnlBf16(state, true); }

/// What the library ships: nn::gemm(..., GemmPrecision::kBf16) on the float operands (conversion, oneDNN
/// primitive lookup in its cache, matmul), exactly as nn::Linear calls it.
void BM_NnGemmBf16(benchmark::State& state) {
  if (!cpuHasBf16()) {
    state.SkipWithError(recdiff::nn::bf16GemmUnavailableReason().c_str());
    return;
  }
  const Shape& s = shapeOf(state);
  setThreads(static_cast<int>(state.range(1)));
  Operands o(s);
  const auto mode = s.accumulate ? recdiff::nn::Accumulate::kYes : recdiff::nn::Accumulate::kNo;
  constexpr auto bf16 = recdiff::nn::GemmPrecision::kBf16;
  for (auto _ : state) {
    if (s.aT && s.bT) recdiff::nn::gemm(o.c, o.a.transpose(), o.b.transpose(), mode, bf16);
    else if (s.aT) recdiff::nn::gemm(o.c, o.a.transpose(), o.b, mode, bf16);
    else if (s.bT) recdiff::nn::gemm(o.c, o.a, o.b.transpose(), mode, bf16);
    else recdiff::nn::gemm(o.c, o.a, o.b, mode, bf16);
    benchmark::DoNotOptimize(o.c.data());
    benchmark::ClobberMemory();
  }
  setCounters(state, s);
}
void BM_DnnlBf16GemmOnly(benchmark::State& state) { BM_DnnlBf16(state, false); }

void BM_DnnlF32(benchmark::State& state) {
  const Shape& s = shapeOf(state);
  setThreads(static_cast<int>(state.range(1)));
  Operands o(s);
  DnnlGemm g(s, dnnl::memory::data_type::f32, o.c.data());
  std::memcpy(g.a.get_data_handle(), o.a.data(), sizeof(float) * std::size_t(o.a.size()));
  std::memcpy(g.b.get_data_handle(), o.b.data(), sizeof(float) * std::size_t(o.b.size()));
  for (auto _ : state) {
    g.run();
    benchmark::DoNotOptimize(o.c.data());
    benchmark::ClobberMemory();
  }
  setCounters(state, s);
}

#else  // no oneDNN in this build

void skipNoDnnl(benchmark::State& state) { state.SkipWithError(recdiff::nn::bf16GemmUnavailableReason().c_str()); }
void BM_DnnlBf16WithConversion(benchmark::State& state) { skipNoDnnl(state); }
void BM_NnGemmBf16(benchmark::State& state) { skipNoDnnl(state); }
void BM_DnnlBf16GemmOnly(benchmark::State& state) { skipNoDnnl(state); }
void BM_DnnlF32(benchmark::State& state) { skipNoDnnl(state); }

#endif

// 1 thread: the rate is per second of process CPU time. 2 threads: per second of wall time (repeat and take
// the best; say the load average).
void oneThread(benchmark::internal::Benchmark* b) {
  b->ArgNames({"shape", "threads"})->MeasureProcessCPUTime()->Unit(benchmark::kMillisecond);
  for (int shape = 0; shape < 5; ++shape) b->Args({shape, 1});
}
void twoThreads(benchmark::internal::Benchmark* b) {
  b->ArgNames({"shape", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
  for (int shape = 0; shape < 5; ++shape) b->Args({shape, 2});
}

}  // namespace

BENCHMARK(BM_EigenFloat)->Apply(oneThread);
BENCHMARK(BM_DnnlBf16WithConversion)->Apply(oneThread);
BENCHMARK(BM_NnGemmBf16)->Apply(oneThread);
BENCHMARK(BM_DnnlBf16GemmOnly)->Apply(oneThread);
BENCHMARK(BM_DnnlF32)->Apply(oneThread);
BENCHMARK(BM_EigenFloat)->Apply(twoThreads);
BENCHMARK(BM_DnnlBf16WithConversion)->Apply(twoThreads);
BENCHMARK(BM_NnGemmBf16)->Apply(twoThreads);
BENCHMARK(BM_DnnlBf16GemmOnly)->Apply(twoThreads);
BENCHMARK(BM_DnnlF32)->Apply(twoThreads);

BENCHMARK_MAIN();
