// Baseline fit and scoring times at MovieLens-1M scale (DiffRec's ml-1m_clean: 5,949 users × 2,810 items,
// 403,277 training interactions).
//
// Synthetic data of the same shape and density (seeded Rng, Zipf-like item popularity) is always used; when
// RECDIFF_TEST_DATA names the data mirror, the real ml-1m_clean train split is benchmarked as well.
// Threads: OMP_NUM_THREADS (e.g. OMP_NUM_THREADS=2 bench_baselines --benchmark_filter=EaseFit).

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <recdiff/baselines/ease.hpp>
#include <recdiff/baselines/item_knn.hpp>
#include <recdiff/baselines/rp3beta.hpp>
#include <recdiff/data/diffrec_splits.hpp>
#include <recdiff/random.hpp>

namespace {

using recdiff::Index;
using recdiff::baselines::InteractionMatrix;

/// users × items, about `interactions` non-zeros, item i drawn with weight 1 / (i + 20)^0.9.
InteractionMatrix syntheticInteractions(Index users, Index items, double interactions) {
  recdiff::Rng rng(20261125);
  Eigen::ArrayXd weight(items);
  for (Index i = 0; i < items; ++i) weight(i) = std::pow(static_cast<double>(i) + 20.0, -0.9);
  weight *= interactions / (weight.sum() * static_cast<double>(users));
  std::vector<Eigen::Triplet<float, int>> triplets;
  for (Index u = 0; u < users; ++u)
    for (Index i = 0; i < items; ++i)
      if (rng.uniform() < std::min(1.0, weight(i))) triplets.emplace_back(static_cast<int>(u), static_cast<int>(i), 1.0f);
  InteractionMatrix x(users, items);
  x.setFromTriplets(triplets.begin(), triplets.end());
  x.makeCompressed();
  return x;
}

const InteractionMatrix& synthetic() {
  static const InteractionMatrix x = syntheticInteractions(5949, 2810, 403277.0);
  return x;
}

template <class Model>
void fitBenchmark(benchmark::State& state, const InteractionMatrix& x, Model prototype) {
  for (auto _ : state) {
    Model model = prototype;
    model.fit(x);
    benchmark::DoNotOptimize(model.weights().data());
    benchmark::ClobberMemory();
  }
  state.counters["items"] = static_cast<double>(x.cols());
  state.counters["nnz"] = static_cast<double>(x.nonZeros());
}

template <class Scalar>
void BM_EaseFit(benchmark::State& state) {
  fitBenchmark(state, synthetic(), recdiff::baselines::EASE<Scalar>({.lambda = 1000.0}));
}
BENCHMARK_TEMPLATE(BM_EaseFit, float)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_EaseFit, double)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_EaseGram(benchmark::State& state) {
  for (auto _ : state) {
    auto g = recdiff::baselines::EASE<float>::gram(synthetic());
    benchmark::DoNotOptimize(g.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * synthetic().nonZeros());
}
BENCHMARK(BM_EaseGram)->Unit(benchmark::kMillisecond)->UseRealTime();

/// Scores every user in batches of 1024 (no ranking): users per second.
void BM_EaseScoreAllUsers(benchmark::State& state) {
  const InteractionMatrix& x = synthetic();
  recdiff::baselines::EASE<float> ease({.lambda = 1000.0});
  ease.fit(x);
  recdiff::RowMatrix<float> scores;
  for (auto _ : state) {
    for (Index first = 0; first < x.rows(); first += 1024) {
      ease.score(x, first, std::min<Index>(1024, x.rows() - first), scores);
      benchmark::DoNotOptimize(scores.data());
      benchmark::ClobberMemory();
    }
  }
  state.SetItemsProcessed(state.iterations() * x.rows());
}
BENCHMARK(BM_EaseScoreAllUsers)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ItemKnnFit(benchmark::State& state) {
  fitBenchmark(state, synthetic(), recdiff::baselines::ItemKNN<float>({.neighbours = 100, .shrink = 10.0}));
}
BENCHMARK(BM_ItemKnnFit)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Rp3betaFit(benchmark::State& state) {
  fitBenchmark(state, synthetic(), recdiff::baselines::RP3beta<float>({.alpha = 0.75, .beta = 0.6, .neighbours = 500}));
}
BENCHMARK(BM_Rp3betaFit)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // The real ml-1m_clean train split, when the data mirror is available.
  static InteractionMatrix real;
  if (const char* root = std::getenv("RECDIFF_TEST_DATA"); root != nullptr && *root != '\0') {
    const std::filesystem::path folder = std::filesystem::path(root) / "diffrec" / "ml-1m_clean";
    if (std::filesystem::exists(folder / "train_list.npy")) {
      real = recdiff::data::loadDiffRecSplits(folder).train.matrix();
      benchmark::RegisterBenchmark("BM_EaseFit_ml1m_clean<float>", [](benchmark::State& state) {
        fitBenchmark(state, real, recdiff::baselines::EASE<float>({.lambda = 1000.0}));
      })->Unit(benchmark::kMillisecond)->UseRealTime();
      benchmark::RegisterBenchmark("BM_EaseFit_ml1m_clean<double>", [](benchmark::State& state) {
        fitBenchmark(state, real, recdiff::baselines::EASE<double>({.lambda = 1000.0}));
      })->Unit(benchmark::kMillisecond)->UseRealTime();
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
