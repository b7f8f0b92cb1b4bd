// Metric computation for 5949 users (DiffRec's ml-1m_clean): Precision/Recall/NDCG/MRR/HR at 10, 20, 50, 100
// from top-100 lists against held-out sets (~10 items per user), and single-label HR/NDCG at 5, 10, 20
// under full ranking of 2810 items — users per second. Synthetic data, fixed seed.
#include <vector>

#include <benchmark/benchmark.h>
#include <recdiff/data/interactions.hpp>
#include <recdiff/metrics/ranking.hpp>
#include <recdiff/random.hpp>

#if RECDIFF_HAS_OPENMP
#include <omp.h>
#endif

namespace rm = recdiff::metrics;
using recdiff::Index;

namespace {
constexpr Index kUsers = 5949, kItems = 2810;

recdiff::data::Interactions randomSets(Index perUser, recdiff::Rng& rng) {
  std::vector<int> u, i;
  for (Index a = 0; a < kUsers; ++a)
    for (Index k = 0; k < perUser; ++k) {
      u.push_back(static_cast<int>(a));
      i.push_back(static_cast<int>(rng.uniformIndex(kItems)));
    }
  return recdiff::data::Interactions::fromPairs(kUsers, kItems, u, i);
}
}  // namespace

static void BM_SetMetrics(benchmark::State& state) {
  recdiff::Rng rng(11);
  const auto truth = randomSets(10, rng);
  rm::IdMatrix ranked(kUsers, 100);
  for (Index r = 0; r < kUsers; ++r)
    for (Index j = 0; j < 100; ++j) ranked(r, j) = static_cast<int>(rng.uniformIndex(kItems));
  const std::vector<Index> ks{10, 20, 50, 100};
  for (auto _ : state) {
    const auto m = rm::evaluateSets(ranked, truth.matrix(), ks);
    benchmark::DoNotOptimize(m.recall.data());
  }
  state.SetItemsProcessed(state.iterations() * kUsers);
}
BENCHMARK(BM_SetMetrics)->Unit(benchmark::kMillisecond);

static void BM_SingleLabelMetrics(benchmark::State& state) {
#if RECDIFF_HAS_OPENMP
  omp_set_num_threads(static_cast<int>(state.range(0)));
#endif
  recdiff::Rng rng(13);
  recdiff::RowMatrix<float> scores(kUsers, kItems);
  rng.fillNormal(scores);
  const auto history = randomSets(68, rng);
  std::vector<int> labels(kUsers);
  for (auto& l : labels) l = static_cast<int>(rng.uniformIndex(kItems));
  const std::vector<Index> ks{5, 10, 20};
  for (auto _ : state) {
    const auto m = rm::evaluateLabels(scores, labels, ks, {.mask = {.exclude = {&history.matrix()}}});
    benchmark::DoNotOptimize(m.ndcg.data());
  }
  state.SetItemsProcessed(state.iterations() * kUsers);
}
BENCHMARK(BM_SingleLabelMetrics)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
