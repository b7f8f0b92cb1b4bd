// synthetic_movielens: writes a synthetic MovieLens release (data/synthetic.hpp) in GroupLens' file format, with
// the published counts of ML-10M, ML-20M, ML-25M or ML-32M, deterministically from a seed. Not GroupLens data.
//
//   synthetic_movielens --release ml-20m                       # into the cache (generated once), prints the folder
//   synthetic_movielens --release ml-32m --out /data/ml-32m-synthetic --seed 2
//   synthetic_movielens --users 5000 --movies 2000 --ratings 400000 --out /tmp/custom   # any other shape
//
// The example binaries take `--synthetic ml-20m` for the cached copy. Errors print one line and exit 1.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <recdiff/data/synthetic.hpp>

#include "common/cli.hpp"

int main(int argc, char** argv) {
  namespace rd = recdiff::data;
  CLI::App app{"Write a synthetic MovieLens release (GroupLens' file format, published counts; not GroupLens data)."};
  std::string release, out, cache;
  std::uint64_t seed = 1;
  int threads = 0;
  std::optional<recdiff::Index> users, movies, ratings;
  bool dat = false;
  app.add_option("--release", release, "ml-10m | ml-20m | ml-25m | ml-32m (the published counts)");
  app.add_option("--out", out, "folder to write (default: <cache>/synthetic/<release>-seed<seed>, generated once)");
  app.add_option("--cache", cache, "cache root (default: $RECDIFF_CACHE_DIR, $XDG_CACHE_HOME/recdiff or ~/.cache/recdiff)");
  app.add_option("--seed", seed, "seed of every random number")->capture_default_str();
  app.add_option("--threads", threads, "OpenMP threads (0: all cores; the files do not depend on it)")->capture_default_str();
  app.add_option("--users", users, "custom shape: users (with --movies, --ratings and --out)")->check(CLI::PositiveNumber);
  app.add_option("--movies", movies, "custom shape: movies")->check(CLI::PositiveNumber);
  app.add_option("--ratings", ratings, "custom shape: ratings")->check(CLI::PositiveNumber);
  app.add_flag("--dat", dat, "custom shape: ML-10M's ratings.dat / movies.dat instead of CSV");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "synthetic_movielens: " << e.what() << " (see --help)\n";
    return 1;
  }
  if (!recdiff::examples::setThreads(threads, "synthetic_movielens")) return 1;
  try {
    const bool custom = users || movies || ratings;
    RECDIFF_REQUIRE(custom != !release.empty(), "synthetic_movielens: give --release NAME or a custom shape "
                    "(--users, --movies, --ratings), not both");
    const auto start = std::chrono::steady_clock::now();
    std::filesystem::path folder;
    if (custom) {
      RECDIFF_REQUIRE(users && movies && ratings && !out.empty(),
                      "synthetic_movielens: a custom shape needs --users, --movies, --ratings and --out");
      const rd::SyntheticRelease spec{.name = "custom", .users = *users, .movies = *movies, .ratings = *ratings,
                                      .maxMovieId = *movies, .csv = !dat, .halfStars = true};
      folder = out;
      rd::writeSyntheticMovieLens(spec, folder, {.seed = seed});
    } else if (!out.empty()) {
      folder = out;
      rd::writeSyntheticMovieLens(rd::syntheticRelease(release), folder, {.seed = seed});
    } else {
      folder = rd::ensureSyntheticMovieLens(release, seed, cache.empty() ? rd::defaultCacheDir() : std::filesystem::path(cache));
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::uintmax_t bytes = 0;
    for (const auto& e : std::filesystem::directory_iterator(folder))
      if (e.is_regular_file()) bytes += e.file_size();
    std::cerr << "synthetic_movielens: " << folder.string() << ": " << bytes / (1024 * 1024) << " MiB in "
              << seconds << " s on " << threads << " threads\n";
    std::cout << folder.string() << '\n';
  } catch (const std::exception& e) {
    std::cerr << "synthetic_movielens: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
