// Loading speed of the data layer: MovieLens 100K (u.data + u.item), the ML-1M partial ratings file, and
// DiffRec's .npy splits, in rows per second. Reads the mirror from RECDIFF_TEST_DATA (skips when unset).
#include <cstdlib>
#include <filesystem>
#include <optional>

#include <benchmark/benchmark.h>
#include <recdiff/data/diffrec_splits.hpp>
#include <recdiff/data/movielens.hpp>

namespace rd = recdiff::data;

namespace {
std::optional<std::filesystem::path> dataRoot() {
  const char* env = std::getenv("RECDIFF_TEST_DATA");
  if (env == nullptr || *env == '\0') return std::nullopt;
  return std::filesystem::path(env);
}
}  // namespace

/// Whole load of a MovieLens folder: read, parse, dense ids, chronological order, CSR, titles.
static void BM_LoadMovieLens(benchmark::State& state, const char* folder) {
  const auto root = dataRoot();
  if (!root) {
    state.SkipWithError("set RECDIFF_TEST_DATA to the data mirror");
    return;
  }
  const auto path = *root / "movielens" / folder;
  Eigen::Index rows = 0;
  for (auto _ : state) {
    const auto x = rd::loadMovieLens(path);
    rows = x.nnz();
    benchmark::DoNotOptimize(x.matrix().valuePtr());
  }
  state.SetItemsProcessed(state.iterations() * rows);
  state.counters["rows"] = static_cast<double>(rows);
}
BENCHMARK_CAPTURE(BM_LoadMovieLens, ml_100k, "ml-100k")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LoadMovieLens, ml_1m_partial, "ml-1m")->Unit(benchmark::kMillisecond);

/// Parsing only (the file already in memory), to separate parsing from building and from the disk.
static void BM_ParseMl1mPartial(benchmark::State& state) {
  const auto root = dataRoot();
  if (!root) {
    state.SkipWithError("set RECDIFF_TEST_DATA to the data mirror");
    return;
  }
  const auto path = (*root / "movielens" / "ml-1m" / "ratings.partial-users0001-2999.dat").string();
  const std::string text = rd::detail::readFile(path);
  Eigen::Index rows = 0;
  for (auto _ : state) {
    const auto raw = rd::parseMovieLensDatRatings(text, path);
    rows = raw.size();
    benchmark::DoNotOptimize(raw.users.data());
  }
  state.SetItemsProcessed(state.iterations() * rows);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_ParseMl1mPartial)->Unit(benchmark::kMillisecond);

/// The three DiffRec ml-1m_clean .npy splits (571,531 rows).
static void BM_LoadDiffRecSplits(benchmark::State& state) {
  const auto root = dataRoot();
  if (!root) {
    state.SkipWithError("set RECDIFF_TEST_DATA to the data mirror");
    return;
  }
  const auto folder = *root / "diffrec" / "ml-1m_clean";
  Eigen::Index rows = 0;
  for (auto _ : state) {
    const auto s = rd::loadDiffRecSplits(folder);
    rows = s.train.nnz() + s.valid.nnz() + s.test.nnz();
    benchmark::DoNotOptimize(s.train.matrix().valuePtr());
  }
  state.SetItemsProcessed(state.iterations() * rows);
}
BENCHMARK(BM_LoadDiffRecSplits)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
