#ifndef RECDIFF_DATA_SYNTHETIC_HPP
#define RECDIFF_DATA_SYNTHETIC_HPP

/// \file synthetic.hpp
/// Synthetic MovieLens releases: files in GroupLens' own formats (ML-10M's `ratings.dat` / `movies.dat`,
/// ML-20M/25M/32M's `ratings.csv` / `movies.csv`) with the published user, movie and rating counts, written
/// deterministically from a seed, so that the real loaders (movielens.hpp) parse them and loading speed,
/// memory and model cost can be measured at those scales on a machine without the releases. Nothing generated
/// is GroupLens data; the real releases come from scripts/fetch-movielens.sh.
///
/// The model, fitted to the MovieLens 1M ratings of users 1–2999 (the test mirror's file; 487,650 ratings,
/// 3,615 movies; docs/scaling.md has the fit):
/// - user activity: n_u = c · Q(q_u), q_u uniform, Q ML-1M's quantile function of ratings per user relative to
///   its mean, piecewise log-linear through 19 knots (kUserKnots); c is set so that the counts add up to the
///   release's rating count exactly; every user has at least 20 ratings (as in every release) and at most all
///   movies;
/// - movie popularity: a movie at relative popularity rank x draws with weight W(x), piecewise log-linear
///   through 20 knots (kItemKnots) calibrated so that the generated counts follow ML-1M's rank-frequency curve;
///   ranks are a seeded permutation of the movies; a user's movies are drawn by weight without replacement;
/// - star ratings from ML-1M's histogram (1–5: 5.6%, 11.0%, 26.1%, 35.0%, 22.3%); releases with half stars
///   (10M and later) move a quarter of them half a star down (not fitted: ML-1M has whole stars only);
/// - timestamps: each user starts at a uniform time in the release's span and rates in the order the movies
///   were drawn, 45 s apart on average, with a 20-day break before 3% of the ratings (chosen by hand: ML-1M's
///   median user rates everything on one day, its mean span is 90 days);
/// - movie ids: a seeded sorted sample of [1, maxMovieId] (GroupLens' ids have gaps); titles
///   "Synthetic Movie <id> (<year>)", every 10th with a comma (quoted in CSV), every 37th with a quote.
///
/// Every user's draws come from Rng(seed, kStream).fork(user), so the files do not depend on the thread count.
///
/// Usage:
///   const auto spec = recdiff::data::syntheticRelease("ml-20m");        // 138,493 × 27,278, 20,000,263 ratings
///   recdiff::data::writeSyntheticMovieLens(spec, "/tmp/ml-20m-synthetic", {.seed = 1});
///   const auto folder = recdiff::data::ensureSyntheticMovieLens("ml-20m", 1);  // cached, generated once
///   auto x = recdiff::data::loadMovieLens(folder, {.minRating = 4.0});

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <unistd.h>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "synthetic_model.hpp"

namespace recdiff::data {

/// The releases GroupLens publishes that this machine does not have, with the user, movie and rating counts of
/// their READMEs (ML-10M: the 69,878 users of ratings.dat — its README's 71,567 include users who only tagged)
/// and the last day of their rating periods; the largest movie ids are approximately GroupLens'.
inline const std::vector<SyntheticRelease>& syntheticReleases() {
  static const std::vector<SyntheticRelease> releases = {
      {"ml-10m", 69878, 10681, 10000054, 65133, 789652009, 1231131736, false, true},
      {"ml-20m", 138493, 27278, 20000263, 131262, 789652009, 1427784002, true, true},
      {"ml-25m", 162541, 62423, 25000095, 209171, 789652009, 1574327703, true, true},
      {"ml-32m", 200948, 87585, 32000204, 292757, 789652009, 1697164143, true, true},
  };
  return releases;
}

/// The release called `name` (ml-10m, ml-20m, ml-25m, ml-32m); std::invalid_argument naming the choices.
inline const SyntheticRelease& syntheticRelease(std::string_view name) {
  std::string names;
  for (const auto& r : syntheticReleases()) {
    if (r.name == name) return r;
    names += (names.empty() ? "" : ", ") + r.name;
  }
  throw std::invalid_argument(recdiff::detail::concat("unknown synthetic release '", name, "' (choose one of ", names, ")"));
}

/// How writeSyntheticMovieLens() runs.
struct SyntheticOptions {
  std::uint64_t seed = 1;
  Index usersPerBlock = 4096;  ///< users generated in parallel, then written in order
};

/// Writes the release into `folder` (created; files there of the same names are replaced): ratings.csv +
/// movies.csv, or ratings.dat + movies.dat, and README.txt saying what generated them.
inline void writeSyntheticMovieLens(const SyntheticRelease& release, const std::filesystem::path& folder,
                                    const SyntheticOptions& options = {}) {
  RECDIFF_REQUIRE(release.users > 0 && release.movies > 0, "writeSyntheticMovieLens(", release.name,
                  "): users and movies must be positive, got ", release.users, " and ", release.movies);
  RECDIFF_REQUIRE(release.maxMovieId >= release.movies, "writeSyntheticMovieLens(", release.name, "): maxMovieId ",
                  release.maxMovieId, " < movies ", release.movies);
  const Index lo = std::min<Index>(20, release.movies);
  RECDIFF_REQUIRE(release.ratings >= release.users * lo && release.ratings <= release.users * release.movies,
                  "writeSyntheticMovieLens(", release.name, "): ", release.ratings, " ratings cannot be spread over ",
                  release.users, " users with ", lo, " to ", release.movies, " each");
  RECDIFF_REQUIRE(release.lastTimestamp > release.firstTimestamp, "writeSyntheticMovieLens(", release.name,
                  "): lastTimestamp must be after firstTimestamp");
  RECDIFF_REQUIRE(options.usersPerBlock > 0, "writeSyntheticMovieLens(): usersPerBlock must be positive");
  std::filesystem::create_directories(folder);
  const Rng base(options.seed, detail::kSyntheticStream);

  // Movie ids: a sorted sample of [1, maxMovieId] (selection sampling, in order).
  std::vector<std::int64_t> movieIds;
  movieIds.reserve(static_cast<std::size_t>(release.movies));
  {
    Rng rng = base.fork(0x1D5);
    Index need = release.movies;
    for (Index id = 1, left = release.maxMovieId; need > 0; ++id, --left)
      if (rng.uniformIndex(left) < need) { movieIds.push_back(id); --need; }
  }
  // Popularity: movie m has rank rank[m] of a seeded permutation and weight W(rank / movies).
  const std::vector<Index> rank = detail::permutation(release.movies, base.fork(0x9A4C));
  std::vector<double> weights(static_cast<std::size_t>(release.movies));
  for (std::size_t m = 0; m < weights.size(); ++m)
    weights[m] = detail::knotCurve(detail::kItemKnots, (static_cast<double>(rank[m]) + 0.5) / static_cast<double>(release.movies));
  const detail::AliasTable popularity(weights);
  const std::vector<Index> activity = detail::userActivity(release, base);

  const std::string ext = release.csv ? ".csv" : ".dat";
  {
    detail::TextFile movies(folder / ("movies" + ext));
    movies.write(detail::moviesText(release, movieIds, base));
    movies.close();
  }
  detail::TextFile ratings(folder / ("ratings" + ext));
  if (release.csv) ratings.write("userId,movieId,rating,timestamp\n");
  std::vector<std::string> lines(static_cast<std::size_t>(options.usersPerBlock));
  for (Index first = 0; first < release.users; first += options.usersPerBlock) {
    const Index count = std::min(options.usersPerBlock, release.users - first);
    parallelForWithState(count, true, LoopSchedule::dynamic(16), [] { return detail::UserLines{}; },
                         [&](detail::UserLines& state, Index k) {
                           auto& out = lines[static_cast<std::size_t>(k)];
                           out.clear();
                           const Index user = first + k;
                           detail::appendUser(out, state, user + 1, activity[static_cast<std::size_t>(user)], release,
                                              popularity, weights, movieIds, base);
                         });
    for (Index k = 0; k < count; ++k) ratings.write(lines[static_cast<std::size_t>(k)]);
  }
  ratings.close();
  detail::TextFile readme(folder / "README.txt");
  readme.write(recdiff::detail::concat("Synthetic ", release.name, " written by recdiff (include/recdiff/data/synthetic.hpp), seed ",
                              options.seed, ": ", release.users, " users, ", release.movies, " movies, ", release.ratings,
                              " ratings.\nNot GroupLens data: generated from a model fitted to MovieLens 1M; see "
                              "docs/scaling.md.\n"));
  readme.close();
}

/// The cache root for generated data: $RECDIFF_CACHE_DIR, else $XDG_CACHE_HOME/recdiff, else ~/.cache/recdiff.
inline std::filesystem::path defaultCacheDir() {
  if (const char* d = std::getenv("RECDIFF_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::filesystem::path(d) / "recdiff";
  if (const char* d = std::getenv("HOME"); d && *d) return std::filesystem::path(d) / ".cache" / "recdiff";
  throw std::runtime_error("no cache folder: set RECDIFF_CACHE_DIR (HOME is not set either)");
}

/// The folder of release `name` generated with `seed` under `cacheDir`/synthetic/, generated first when absent.
/// The folder appears whole or not at all: it is written under a temporary name and renamed; a concurrent
/// generator that finishes first wins and this one's copy is removed.
inline std::filesystem::path ensureSyntheticMovieLens(const SyntheticRelease& release, std::uint64_t seed,
                                                      const std::filesystem::path& cacheDir = defaultCacheDir()) {
  RECDIFF_REQUIRE(!release.name.empty(), "ensureSyntheticMovieLens(): the release needs a name (its cache folder)");
  const auto folder = cacheDir / "synthetic" / (release.name + "-seed" + std::to_string(seed));
  if (std::filesystem::is_directory(folder)) return folder;
  const auto temp = std::filesystem::path(folder.string() + ".tmp-" + std::to_string(::getpid()));
  std::filesystem::remove_all(temp);
  try {
    writeSyntheticMovieLens(release, temp, {.seed = seed});
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(temp, ignored);
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(temp, folder, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove_all(temp, ignored);
    if (!std::filesystem::is_directory(folder))
      throw std::runtime_error(recdiff::detail::concat("cannot move ", temp.string(), " to ", folder.string(), ": ", ec.message()));
  }
  return folder;
}

/// ensureSyntheticMovieLens() of the published release called `name` (ml-10m, ml-20m, ml-25m, ml-32m).
inline std::filesystem::path ensureSyntheticMovieLens(std::string_view name, std::uint64_t seed,
                                                      const std::filesystem::path& cacheDir = defaultCacheDir()) {
  return ensureSyntheticMovieLens(syntheticRelease(name), seed, cacheDir);
}

}  // namespace recdiff::data

#endif  // RECDIFF_DATA_SYNTHETIC_HPP
