// Transformer layers forward + backward at DiffuRec's shapes ([batch 512 × seqLen 50 × H 128], 4 heads), float,
// 1 and 2 threads, with achieved GFLOP/s (GEMM FLOPs: forward + backward = 3 × forward), and a whole
// DiffuRecApproximator training step (reference configuration) in samples/s.
//
//   cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DRECDIFF_NATIVE=ON -DRECDIFF_BUILD_BENCHMARKS=ON
//   cmake --build build/bench --target bench_attention -j2 && build/bench/benchmarks/bench_attention

#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <recdiff/denoisers/diffurec_approximator.hpp>
#include <recdiff/diffusion.hpp>
#include <recdiff/nn/feed_forward.hpp>
#include <recdiff/nn/multi_head_attention.hpp>
#include <recdiff/nn/transformer_block.hpp>
#include <recdiff/schedules.hpp>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using recdiff::Index;
using recdiff::RowMatrix;

void setThreads(int threads) {
#if defined(_OPENMP)
  omp_set_num_threads(threads);
#endif
  Eigen::setNbThreads(threads);
}

template <class Layer>
void bindAndReset(Layer& layer, recdiff::nn::ParameterBuffer<float>& params, recdiff::Rng& rng) {
  params.resize(layer.parameterCount());
  recdiff::nn::ParameterBinder<float>(params).bind(layer);
  layer.reset(rng);
}

// GEMM FLOPs of one forward pass.
double attentionFlops(double batch, double len, double h) {
  const double n = batch * len;
  return 2.0 * n * h * 3.0 * h + 2.0 * 2.0 * batch * len * len * h + 2.0 * n * h * h;
}
double feedForwardFlops(double batch, double len, double h, double hidden) { return 2.0 * 2.0 * batch * len * h * hidden; }

void report(benchmark::State& state, double flopsPerIteration, Index rows) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flopsPerIteration * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
  state.SetItemsProcessed(state.iterations() * rows);
}

void BM_Attention(benchmark::State& state) {
  const Index batch = state.range(0), len = state.range(1), h = state.range(2);
  setThreads(static_cast<int>(state.range(3)));
  recdiff::Rng rng(1);
  recdiff::nn::MultiHeadAttention<float> att({.dim = h, .heads = 4, .sequenceLength = len});
  recdiff::nn::ParameterBuffer<float> params;
  bindAndReset(att, params, rng);
  RowMatrix<float> x(batch * len, h), y, dx;
  rng.fillNormal(x);
  RowMatrix<float> dy = x;
  for (auto _ : state) {
    att.forward(x, y);
    att.backward(dy, dx);
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  report(state, 3.0 * attentionFlops(double(batch), double(len), double(h)), batch * len);
}

void BM_FeedForward(benchmark::State& state) {
  const Index batch = state.range(0), len = state.range(1), h = state.range(2);
  setThreads(static_cast<int>(state.range(3)));
  recdiff::Rng rng(1);
  recdiff::nn::FeedForward<float> ffn(h, 4 * h, recdiff::nn::FeedForwardActivation::kGeluTanh);
  recdiff::nn::ParameterBuffer<float> params;
  bindAndReset(ffn, params, rng);
  RowMatrix<float> x(batch * len, h), y, dx;
  rng.fillNormal(x);
  RowMatrix<float> dy = x;
  for (auto _ : state) {
    ffn.forward(x, y);
    ffn.backward(dy, dx);
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  report(state, 3.0 * feedForwardFlops(double(batch), double(len), double(h), 4.0 * double(h)), batch * len);
}

// Attention + feed-forward as one pre-LN block (DiffuRec's), dropout off.
void BM_TransformerBlock(benchmark::State& state) {
  const Index batch = state.range(0), len = state.range(1), h = state.range(2);
  setThreads(static_cast<int>(state.range(3)));
  recdiff::Rng rng(1);
  recdiff::nn::TransformerBlock<float> block({.dim = h, .heads = 4, .sequenceLength = len, .eps = 1e-12});
  recdiff::nn::ParameterBuffer<float> params;
  bindAndReset(block, params, rng);
  block.setTraining(false);
  RowMatrix<float> x(batch * len, h), y, dx;
  rng.fillNormal(x);
  RowMatrix<float> dy = x;
  for (auto _ : state) {
    block.forward(x, y);
    block.backward(dy, dx);
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  const double fwd = attentionFlops(double(batch), double(len), double(h)) +
                     feedForwardFlops(double(batch), double(len), double(h), 4.0 * double(h));
  report(state, 3.0 * fwd, batch * len);
}

// One DiffuRec training step (forward, CE over all items, backward; no optimizer) at the reference
// configuration with dropout on: items 3416 (ML-1M), H 128, 4 blocks, len 50. items/s = samples/s.
void BM_DiffuRecTrainingStep(benchmark::State& state) {
  const Index batch = state.range(0), h = state.range(1), blocks = state.range(2), len = 50, items = 3416;
  setThreads(static_cast<int>(state.range(3)));
  recdiff::Rng rng(1);
  recdiff::DiffuRecApproximator<float> model({.items = items, .hidden = h, .blocks = blocks, .maxLength = len, .steps = 32});
  model.reset(rng);
  model.setRng(rng.fork(1));
  const recdiff::GaussianDiffusion<recdiff::AnySchedule, recdiff::PredictX0, recdiff::FixedLargeVariance, float>
      diffusion(recdiff::makeSchedule("trunc_lin"), 32);
  recdiff::DiffuRecApproximator<float>::Sequences seq(batch, len);
  Eigen::ArrayXi targets(batch), t(batch);
  for (Index b = 0; b < batch; ++b) {
    const Index pad = rng.uniformIndex(len);  // left padding of random length, as the ML-1M prefixes
    for (Index i = 0; i < len; ++i) seq(b, i) = i < pad ? 0 : static_cast<int>(1 + rng.uniformIndex(items));
    targets(b) = static_cast<int>(1 + rng.uniformIndex(items));
    t(b) = static_cast<int>(rng.uniformIndex(32));
  }
  RowMatrix<float> noise(batch, h);
  rng.fillNormal(noise);
  for (auto _ : state) {
    model.parameters().zeroGrad();
    const float loss = model.trainingLoss(diffusion, seq, targets, t, noise);
    benchmark::DoNotOptimize(loss);
    benchmark::ClobberMemory();
  }
  const double perBlock = attentionFlops(double(batch), double(len), double(h)) +
                          feedForwardFlops(double(batch), double(len), double(h), 4.0 * double(h));
  const double scoring = 2.0 * double(batch) * double(h) * double(items + 1);
  report(state, 3.0 * (double(blocks) * perBlock + scoring), batch);
}

void shapes(benchmark::internal::Benchmark* b) {
  for (const int threads : {1, 2}) b->Args({512, 50, 128, threads});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

}  // namespace

BENCHMARK(BM_Attention)->Apply(shapes);
BENCHMARK(BM_FeedForward)->Apply(shapes);
BENCHMARK(BM_TransformerBlock)->Apply(shapes);
BENCHMARK(BM_DiffuRecTrainingStep)
    ->Args({512, 128, 4, 1})
    ->Args({512, 128, 4, 2})
    ->Args({512, 64, 2, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
