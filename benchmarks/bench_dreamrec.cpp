// DreamRec at the reference configuration on ML-1M's shapes (3,706 items, H 64, history 10, mlp1, T 500, exp):
//   BM_DreamRecTrainStep     one training step (T-enc + denoiser forward and backward, AdamW) on a batch of 256
//                            full histories; items/s = training samples/s
//   BM_DreamRecGuidedSample  the guided reverse process (w 2, 500 steps) for a batch of users, then scoring
//                            against the item table; items/s = users/s. Arg 0: the fast path
//                            (DdpmSampler with the GuidedTiled path), arg 1: the generic DdpmSampler with the guidance hook
//                            (two denoiser passes per step), for the gain of the precomputed terms.
// Threads follow OMP_NUM_THREADS. Eigen's own GEMM threading is off (Eigen::setNbThreads(1)), as in
// examples/dreamrec_movielens: DreamRec's products are small (≤ 256 × 192 × 128), Eigen's threads spin-wait for
// each other at every depth block, and a step spent 14× its CPU time when a core was busy elsewhere; the threads
// come from the library's own splits (inference tiles, encoder rows, AdamW chunks, dropout chunks).
#include <benchmark/benchmark.h>

#include <recdiff/models/dreamrec.hpp>
#include <recdiff/sampling/ddpm_sampler.hpp>

namespace {

constexpr recdiff::Index kItems = 3706;

recdiff::DreamRec<float>::Histories randomHistories(recdiff::Index rows, recdiff::Index len, recdiff::Rng& rng) {
  recdiff::DreamRec<float>::Histories h(rows, len);
  for (recdiff::Index i = 0; i < h.size(); ++i) h.data()[i] = static_cast<int>(rng.uniformIndex(kItems)) + 1;
  return h;
}

void BM_DreamRecTrainStep(benchmark::State& state) {
  const recdiff::Index batch = state.range(0);
  recdiff::DreamRecOptions o;
  o.batchSize = batch;
  recdiff::DreamRec<float> model(o, kItems, 1);
  recdiff::Rng rng(3);
  const auto history = randomHistories(batch, o.maxLength, rng);
  const Eigen::ArrayXi lengths = Eigen::ArrayXi::Constant(batch, static_cast<int>(o.maxLength));
  Eigen::ArrayXi targets(batch);
  for (recdiff::Index i = 0; i < batch; ++i) targets(i) = static_cast<int>(rng.uniformIndex(kItems)) + 1;
  model.encoder().setRng(rng.fork(1));
  for (auto _ : state) {
    const recdiff::ScopedThreadLimit threads(o.trainingThreads);  // as DreamRec::trainEpoch runs a step
    const float loss = model.step(history, lengths, targets, rng);
    model.optimizer().step(model.parameters());
    benchmark::DoNotOptimize(loss);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_DreamRecGuidedSample(benchmark::State& state) {
  const recdiff::Index users = state.range(0);
  const bool generic = state.range(1) != 0;
  recdiff::DreamRecOptions o;
  recdiff::DreamRec<float> model(o, kItems, 1);
  recdiff::Rng rng(5);
  const auto history = randomHistories(users, o.maxLength, rng);
  const Eigen::ArrayXi lengths = Eigen::ArrayXi::Constant(users, static_cast<int>(o.maxLength));
  recdiff::RowMatrix<float> h, x, scores;
  for (auto _ : state) {
    if (generic) {
      model.encode(history, lengths, h);
      x = recdiff::DdpmSampler<recdiff::DreamRec<float>::Diffusion>(model.diffusion(), {.guidance = o.guidance})
              .sampleFromNoise(model.denoiser(), h, users, o.hidden, rng);
      scores.noalias() = x * model.encoder().itemEmbedding().weight().transpose();
    } else {
      model.scores(history, lengths, scores, rng);
    }
    benchmark::DoNotOptimize(scores.data());
  }
  state.SetLabel(generic ? "DdpmSampler + guidance hook" : "DdpmSampler + GuidedTiled");
  state.SetItemsProcessed(state.iterations() * users);
}

}  // namespace

BENCHMARK(BM_DreamRecTrainStep)->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DreamRecGuidedSample)->Args({512, 0})->Args({6040, 0})->Args({512, 1})->Unit(benchmark::kMillisecond)->UseRealTime();
int main(int argc, char** argv) {
  Eigen::setNbThreads(1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
