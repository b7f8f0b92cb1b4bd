// Linear layers and the DiffRec MLP at DiffRec's shapes (ml-1m_clean: 2810 items, emb 10, batch 400), in float.
//   bench_nn_layers --benchmark_counters_tabular=true
// Counters: GFLOPS = achieved GEMM rate (2·batch·in·out per GEMM: forward, weight gradient, and the input
// gradient where it is computed). The last argument is the thread count (Eigen's OpenMP GEMM).
#include <benchmark/benchmark.h>

#include <vector>

#include <recdiff/denoisers/diffrec_mlp.hpp>
#include <recdiff/nn/dropout.hpp>
#include <recdiff/nn/linear.hpp>
#include <recdiff/random.hpp>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {
void setThreads(int threads) {
  Eigen::setNbThreads(threads);
#if defined(_OPENMP)
  omp_set_num_threads(threads);
#endif
}

template <class Scalar>
recdiff::RowMatrix<Scalar> randomMatrix(recdiff::Index rows, recdiff::Index cols, recdiff::Rng& rng) {
  recdiff::RowMatrix<Scalar> m(rows, cols);
  rng.fillNormal(m, 0.0, 0.1);
  return m;
}

// One Linear layer: forward + backward (weight and bias gradients + input gradient).
// Args: batch, in, out, threads.
template <class Scalar>
void BM_LinearForwardBackward(benchmark::State& state) {
  const recdiff::Index batch = state.range(0), in = state.range(1), out = state.range(2);
  setThreads(static_cast<int>(state.range(3)));
  recdiff::Rng rng(7);
  recdiff::nn::Linear<Scalar> layer(in, out);
  recdiff::nn::ParameterBuffer<Scalar> params(layer.parameterCount());
  recdiff::nn::ParameterBinder<Scalar>(params).bind(layer);
  rng.fillNormal(params.values(), 0.0, 0.05);
  const auto x = randomMatrix<Scalar>(batch, in, rng);
  const auto dy = randomMatrix<Scalar>(batch, out, rng);
  recdiff::RowMatrix<Scalar> y, dx;
  for (auto _ : state) {
    layer.forward(x, y);
    layer.backward(dy, dx);
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  const double flops = 3.0 * 2.0 * static_cast<double>(batch * in * out);
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetItemsProcessed(state.iterations() * batch);
}

// A DiffRec MLP training pass: forward (dropout on) + backward without the input gradient of the first layer,
// as the trainer runs it. Args: batch, items, threads; the hidden dims are the template's.
template <class Scalar, int Variant>
void BM_DiffRecMlpTrainPass(benchmark::State& state) {
  const recdiff::Index batch = state.range(0), items = state.range(1);
  setThreads(static_cast<int>(state.range(2)));
  recdiff::Rng rng(11);
  const std::vector<recdiff::Index> dims = Variant == 0 ? std::vector<recdiff::Index>{200, 600}
                                                         : std::vector<recdiff::Index>{1000};
  recdiff::DiffRecMlp<Scalar> model({.items = items, .dims = dims, .timeEmbeddingSize = 10}, rng);
  recdiff::RowMatrix<Scalar> xt(batch, items);
  rng.fillUniform(xt);
  Eigen::ArrayXi t(batch);
  for (recdiff::Index i = 0; i < batch; ++i) t(i) = static_cast<int>(i % 40);
  const auto dOut = randomMatrix<Scalar>(batch, items, rng);
  recdiff::RowMatrix<Scalar> out;
  for (auto _ : state) {
    model.parameters().zeroGrad();
    model.forward(xt, t, recdiff::NoCondition{}, out);
    model.backward(dOut, nullptr);
    benchmark::DoNotOptimize(model.parameters().grads().data());
    benchmark::ClobberMemory();
  }
  // Forward GEMMs, weight-gradient GEMMs, input-gradient GEMMs of every layer but the first (whose
  // time-embedding columns are negligible).
  const double fwd = model.forwardFlops(batch);
  const double firstInput = 2.0 * static_cast<double>(batch) * static_cast<double>(model.layer(0).inputSize()) *
                            static_cast<double>(model.layer(0).outputSize());
  const double flops = 3.0 * fwd - firstInput;
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetItemsProcessed(state.iterations() * batch);
}
// Reference: one plain Eigen SGEMM y = x Wᵀ of the same shape (the ceiling the layers are measured against).
// Args: batch, in, out, threads.
template <class Scalar>
void BM_EigenGemmReference(benchmark::State& state) {
  const recdiff::Index batch = state.range(0), in = state.range(1), out = state.range(2);
  setThreads(static_cast<int>(state.range(3)));
  recdiff::Rng rng(7);
  const auto x = randomMatrix<Scalar>(batch, in, rng);
  const auto w = randomMatrix<Scalar>(out, in, rng);
  recdiff::RowMatrix<Scalar> y(batch, out);
  for (auto _ : state) {
    y.noalias() = x * w.transpose();
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * static_cast<double>(batch * in * out) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

// Inverted dropout forward (mask draw + multiply) on [batch × items]. Args: batch, items, threads.
template <class Scalar>
void BM_DropoutForward(benchmark::State& state) {
  const recdiff::Index batch = state.range(0), items = state.range(1);
  setThreads(static_cast<int>(state.range(2)));
  recdiff::Rng rng(5);
  recdiff::nn::Dropout<Scalar> drop(0.5, rng.fork(1));
  const auto x = randomMatrix<Scalar>(batch, items, rng);
  recdiff::RowMatrix<Scalar> y;
  for (auto _ : state) {
    drop.forward(x, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch * items);
}
}  // namespace

BENCHMARK_TEMPLATE(BM_EigenGemmReference, float)
    ->ArgNames({"batch", "in", "out", "threads"})
    ->Args({400, 2820, 600, 1})->Args({400, 2820, 600, 2})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_TEMPLATE(BM_DropoutForward, float)
    ->ArgNames({"batch", "items", "threads"})
    ->Args({400, 2810, 1})->Args({400, 2810, 2})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// DiffRec dims [200, 600]: [400 × 2820] → 600 → 200 → 600 → 2810, layer by layer.
BENCHMARK_TEMPLATE(BM_LinearForwardBackward, float)
    ->ArgNames({"batch", "in", "out", "threads"})
    ->Args({400, 2820, 600, 1})->Args({400, 2820, 600, 2})
    ->Args({400, 600, 200, 1})->Args({400, 600, 200, 2})
    ->Args({400, 200, 600, 1})->Args({400, 200, 600, 2})
    ->Args({400, 600, 2810, 1})->Args({400, 600, 2810, 2})
    // DiffRec dims [1000]: [400 × 2820] → 1000 → 2810.
    ->Args({400, 2820, 1000, 1})->Args({400, 2820, 1000, 2})
    ->Args({400, 1000, 2810, 1})->Args({400, 1000, 2810, 2})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_TEMPLATE(BM_DiffRecMlpTrainPass, float, 0)
    ->Name("BM_DiffRecMlpTrainPass<float>/dims[200,600]")
    ->ArgNames({"batch", "items", "threads"})
    ->Args({400, 2810, 1})->Args({400, 2810, 2})
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_DiffRecMlpTrainPass, float, 1)
    ->Name("BM_DiffRecMlpTrainPass<float>/dims[1000]")
    ->ArgNames({"batch", "items", "threads"})
    ->Args({400, 2810, 1})->Args({400, 2810, 2})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
