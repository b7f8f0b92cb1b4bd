// Masked top-20 over [5949 × 2810] float scores (DiffRec's ml-1m_clean shape) with each user's history
// excluded through the CSR: the heap selection of topK() against std::partial_sort per row
// (topKReference()), in users per second. The history is synthetic (68 random items per user, the
// ml-1m_clean train density) so the benchmark needs no data; threads = the benchmark argument.
#include <vector>

#include <benchmark/benchmark.h>
#include <recdiff/data/interactions.hpp>
#include <recdiff/metrics/topk.hpp>
#include <recdiff/random.hpp>

#if RECDIFF_HAS_OPENMP
#include <omp.h>
#endif

namespace rm = recdiff::metrics;
using recdiff::Index;

namespace {
constexpr Index kUsers = 5949, kItems = 2810, kPerUser = 68;

struct Fixture {
  recdiff::RowMatrix<float> scores;
  recdiff::data::Interactions history;
  Fixture() : scores(kUsers, kItems) {
    recdiff::Rng rng(7);
    rng.fillNormal(scores);
    std::vector<int> u, i;
    for (Index a = 0; a < kUsers; ++a)
      for (Index k = 0; k < kPerUser; ++k) {
        u.push_back(static_cast<int>(a));
        i.push_back(static_cast<int>(rng.uniformIndex(kItems)));
      }
    history = recdiff::data::Interactions::fromPairs(kUsers, kItems, u, i);
  }
};
const Fixture& fixture() {
  static const Fixture f;
  return f;
}
void setThreads(benchmark::State& state) {
#if RECDIFF_HAS_OPENMP
  omp_set_num_threads(static_cast<int>(state.range(0)));
#else
  if (state.range(0) != 1) state.SkipWithError("built without OpenMP");
#endif
}
}  // namespace

static void BM_TopKMasked(benchmark::State& state) {
  setThreads(state);
  const auto& f = fixture();
  rm::TopK<float> top;
  for (auto _ : state) {
    rm::topK(f.scores, 20, top, {.exclude = {&f.history.matrix()}});
    benchmark::DoNotOptimize(top.ids.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kUsers);
}
BENCHMARK(BM_TopKMasked)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

static void BM_TopKPartialSort(benchmark::State& state) {
  const auto& f = fixture();
  rm::TopK<float> top;
  for (auto _ : state) {
    rm::topKReference(f.scores, 20, top, {.exclude = {&f.history.matrix()}});
    benchmark::DoNotOptimize(top.ids.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kUsers);
}
BENCHMARK(BM_TopKPartialSort)->Unit(benchmark::kMillisecond)->UseRealTime();

/// The unmasked top-100 (DiffuRec-style full ranking, largest K of DiffRec's evaluation).
static void BM_TopK100(benchmark::State& state) {
  setThreads(state);
  const auto& f = fixture();
  rm::TopK<float> top;
  for (auto _ : state) {
    rm::topK(f.scores, 100, top, {.exclude = {&f.history.matrix()}});
    benchmark::DoNotOptimize(top.ids.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kUsers);
}
BENCHMARK(BM_TopK100)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
