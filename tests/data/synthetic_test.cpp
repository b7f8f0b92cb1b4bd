// Synthetic MovieLens releases (data/synthetic.hpp): small generated releases parse with the loaders of the real
// files, have the requested counts exactly, follow the fitted shape, do not depend on blocking or threads, and
// every corruption the real files get is reported the same way.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <recdiff/data/movielens.hpp>
#include <recdiff/data/synthetic.hpp>

#if RECDIFF_HAS_OPENMP
#include <omp.h>
#endif

#include "support/catch.hpp"
#include "data_errors.hpp"
#include "temp_files.hpp"

namespace rd = recdiff::data;
using recdiff::DataError;
using recdiff::Index;

namespace {

rd::SyntheticRelease small(bool csv) {
  return {.name = csv ? "tiny-csv" : "tiny-dat", .users = 60, .movies = 80, .ratings = 3000, .maxMovieId = 500,
          .firstTimestamp = 789652009, .lastTimestamp = 1427784002, .csv = csv, .halfStars = true};
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace

TEST_CASE("Synthetic releases parse with the real loaders and have the requested counts", "[data][synthetic]") {
  for (const bool csv : {true, false}) {
    INFO((csv ? "csv" : "dat"));
    recdiff::test::TempDir dir;
    const rd::SyntheticRelease spec = small(csv);
    rd::writeSyntheticMovieLens(spec, dir.path(), {.seed = 7});
    const auto files = rd::detectMovieLens(dir.path());
    REQUIRE(files);
    CHECK(files->release == (csv ? rd::MovieLensRelease::Csv : rd::MovieLensRelease::Ml10m));
    const rd::RawInteractions raw = rd::readMovieLens(dir.path());
    REQUIRE(raw.size() == spec.ratings);
    std::map<std::int64_t, Index> perUser;
    std::set<std::pair<std::int64_t, std::int64_t>> pairs;
    std::set<float> ratingValues;
    for (Index k = 0; k < raw.size(); ++k) {
      const auto u = raw.users[static_cast<std::size_t>(k)], i = raw.items[static_cast<std::size_t>(k)];
      ++perUser[u];
      pairs.emplace(u, i);
      CHECK((i >= 1 && i <= spec.maxMovieId));
      ratingValues.insert(raw.ratings[static_cast<std::size_t>(k)]);
      const auto t = raw.timestamps[static_cast<std::size_t>(k)];
      CHECK((t >= spec.firstTimestamp && t <= spec.lastTimestamp));
    }
    CHECK(static_cast<Index>(pairs.size()) == spec.ratings);  // no user rates a movie twice
    REQUIRE(static_cast<Index>(perUser.size()) == spec.users);
    CHECK(perUser.begin()->first == 1);
    CHECK(perUser.rbegin()->first == spec.users);
    for (const auto& [u, n] : perUser) CHECK(n >= 20);
    // Half stars 0.5 … 5.0, each star value present.
    for (const float r : ratingValues) CHECK((r >= 0.5f && r <= 5.0f && std::floor(2 * r) == 2 * r));
    CHECK(ratingValues.count(3.5f) == 1);
    CHECK(ratingValues.count(5.0f) == 1);
    // Every movie of the movies file has a title; quoted titles with commas and quotes decode.
    CHECK(static_cast<Index>(raw.titles.size()) == spec.movies);
    Index commas = 0, quotes = 0;
    for (const auto& [id, title] : raw.titles) {
      CHECK(title.find("Synthetic") == 0);
      commas += title.find(", The ") != std::string::npos;
      quotes += title.find("\"Quoted\"") != std::string::npos;
    }
    CHECK(commas == spec.movies / 10);
    CHECK(quotes > 0);
    // GroupLens' order: by user, then by movie id.
    for (Index k = 1; k < raw.size(); ++k) {
      const auto a = std::make_pair(raw.users[static_cast<std::size_t>(k - 1)], raw.items[static_cast<std::size_t>(k - 1)]);
      const auto b = std::make_pair(raw.users[static_cast<std::size_t>(k)], raw.items[static_cast<std::size_t>(k)]);
      REQUIRE(a < b);
    }
    // The interactions build like a real release's (implicit feedback at rating ≥ 4).
    const rd::Interactions x = rd::loadMovieLens(dir.path(), {.minRating = 4.0});
    CHECK(x.users() <= spec.users);
    CHECK(x.nnz() > spec.ratings / 3);
  }
}

TEST_CASE("Synthetic files depend on the seed only, not on blocking or threads", "[data][synthetic]") {
  const rd::SyntheticRelease spec = small(true);
  recdiff::test::TempDir a, b, c;
  rd::writeSyntheticMovieLens(spec, a.path(), {.seed = 3});
#if RECDIFF_HAS_OPENMP
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  rd::writeSyntheticMovieLens(spec, b.path(), {.seed = 3, .usersPerBlock = 7});
#if RECDIFF_HAS_OPENMP
  omp_set_num_threads(before);
#endif
  rd::writeSyntheticMovieLens(spec, c.path(), {.seed = 4});
  CHECK(slurp(a.path() / "ratings.csv") == slurp(b.path() / "ratings.csv"));
  CHECK(slurp(a.path() / "movies.csv") == slurp(b.path() / "movies.csv"));
  CHECK(slurp(a.path() / "ratings.csv") != slurp(c.path() / "ratings.csv"));
}

TEST_CASE("Synthetic popularity and activity follow the ML-1M fit", "[data][synthetic]") {
  // ML-1M's users 1-2999: the top 10% of movies hold 43.9% of the ratings; the median user has 0.547 of the
  // mean user's ratings (exp of the 0.5 knot). A release of ML-1M's own shape must land near both.
  const rd::SyntheticRelease spec{.name = "ml-1m-shape", .users = 2999, .movies = 3615, .ratings = 487650,
                                  .maxMovieId = 3952, .csv = false, .halfStars = false};
  recdiff::test::TempDir dir;
  rd::writeSyntheticMovieLens(spec, dir.path(), {.seed = 1});
  const rd::RawInteractions raw = rd::readMovieLens(dir.path());
  std::map<std::int64_t, Index> perItem, perUser;
  for (Index k = 0; k < raw.size(); ++k) {
    ++perItem[raw.items[static_cast<std::size_t>(k)]];
    ++perUser[raw.users[static_cast<std::size_t>(k)]];
    CHECK(std::floor(raw.ratings[static_cast<std::size_t>(k)]) == raw.ratings[static_cast<std::size_t>(k)]);
  }
  std::vector<Index> items, users;
  for (const auto& [id, n] : perItem) items.push_back(n);
  for (const auto& [id, n] : perUser) users.push_back(n);
  std::sort(items.rbegin(), items.rend());
  std::sort(users.begin(), users.end());
  Index top = 0;
  for (Index k = 0; k < spec.movies / 10 && k < static_cast<Index>(items.size()); ++k) top += items[static_cast<std::size_t>(k)];
  const double topShare = static_cast<double>(top) / static_cast<double>(spec.ratings);
  const double medianRatio = static_cast<double>(users[users.size() / 2]) / (static_cast<double>(spec.ratings) / spec.users);
  INFO("top-10% share " << topShare << ", median/mean activity " << medianRatio);
  CHECK(std::abs(topShare - 0.439) < 0.04);
  CHECK(std::abs(medianRatio - 0.547) < 0.05);
}

TEST_CASE("Heavy users draw without replacement through exponential keys", "[data][synthetic]") {
  // 30 movies, 25 ratings per user on average: 4·n > movies for most users.
  const rd::SyntheticRelease spec{.name = "heavy", .users = 10, .movies = 30, .ratings = 250, .maxMovieId = 30};
  recdiff::test::TempDir dir;
  rd::writeSyntheticMovieLens(spec, dir.path(), {.seed = 2});
  const rd::RawInteractions raw = rd::readMovieLens(dir.path());
  std::set<std::pair<std::int64_t, std::int64_t>> pairs;
  for (Index k = 0; k < raw.size(); ++k)
    pairs.emplace(raw.users[static_cast<std::size_t>(k)], raw.items[static_cast<std::size_t>(k)]);
  CHECK(raw.size() == 250);
  CHECK(pairs.size() == 250);
  CHECK(raw.titles.size() == 30);  // maxMovieId == movies: every id 1 … 30
}

TEST_CASE("Impossible synthetic releases are refused up front", "[data][synthetic]") {
  recdiff::test::TempDir dir;
  rd::SyntheticRelease spec = small(true);
  spec.ratings = spec.users * 19;
  CHECK_THROWS_WITH(rd::writeSyntheticMovieLens(spec, dir.path()),
                    Catch::Contains("1140 ratings cannot be spread over 60 users with 20 to 80 each"));
  spec = small(true);
  spec.maxMovieId = 79;
  CHECK_THROWS_WITH(rd::writeSyntheticMovieLens(spec, dir.path()), Catch::Contains("maxMovieId 79 < movies 80"));
  CHECK_THROWS_WITH(rd::syntheticRelease("ml-2m"),
                    Catch::Contains("unknown synthetic release 'ml-2m' (choose one of ml-10m, ml-20m, ml-25m, ml-32m)"));
  const auto& m20 = rd::syntheticRelease("ml-20m");
  CHECK(m20.users == 138493);
  CHECK(m20.movies == 27278);
  CHECK(m20.ratings == 20000263);
  CHECK(rd::syntheticRelease("ml-32m").ratings == 32000204);
}

TEST_CASE("The synthetic cache generates once and never leaves a half-written folder", "[data][synthetic]") {
  recdiff::test::TempDir cache;
  const rd::SyntheticRelease spec = small(true);
  const auto folder = rd::ensureSyntheticMovieLens(spec, 5, cache.path());
  CHECK(folder == cache.path() / "synthetic" / "tiny-csv-seed5");
  const auto stamp = std::filesystem::last_write_time(folder / "ratings.csv");
  const std::string first = slurp(folder / "ratings.csv");
  CHECK(rd::ensureSyntheticMovieLens(spec, 5, cache.path()) == folder);
  CHECK(std::filesystem::last_write_time(folder / "ratings.csv") == stamp);
  for (const auto& e : std::filesystem::directory_iterator(cache.path() / "synthetic"))
    CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
  // A failed generation (an impossible release) leaves nothing behind.
  rd::SyntheticRelease bad = spec;
  bad.name = "bad";
  bad.ratings = 1;
  CHECK_THROWS(rd::ensureSyntheticMovieLens(bad, 5, cache.path()));
  CHECK(std::distance(std::filesystem::directory_iterator(cache.path() / "synthetic"), {}) == 1);
  CHECK(slurp(folder / "ratings.csv") == first);
}

TEST_CASE("Corrupted synthetic files fail like corrupted GroupLens files", "[data][synthetic][malformed]") {
  recdiff::test::TempDir dir;
  rd::writeSyntheticMovieLens(small(true), dir.path(), {.seed = 9});
  const auto ratings = dir.path() / "ratings.csv";
  const auto movies = dir.path() / "movies.csv";
  const std::string goodRatings = slurp(ratings), goodMovies = slurp(movies);
  const auto lineCount = [](const std::string& s) { return static_cast<long>(std::count(s.begin(), s.end(), '\n')); };
  const auto load = [&] { (void)rd::readMovieLens(dir.path()); };

  // Truncated mid-line (a download cut short): the last line has too few fields.
  const std::size_t cut = goodRatings.rfind(',', goodRatings.size() - 2);
  spit(ratings, goodRatings.substr(0, cut));
  recdiff::test::requireDataError(load, lineCount(goodRatings), "expected 4 fields", ratings.string());
  // A non-numeric rating on line 5.
  {
    std::istringstream in(goodRatings);
    std::string text, line;
    for (long k = 1; std::getline(in, line); ++k) {
      if (k == 5) line = line.substr(0, line.find(',', line.find(',') + 1)) + ",four,1";
      text += line + "\n";
    }
    spit(ratings, text);
    recdiff::test::requireDataError(load, 5, "non-numeric rating 'four'", ratings.string());
  }
  // A header from another file, and an empty ratings file.
  spit(ratings, "user,item,rating,ts\n" + goodRatings.substr(goodRatings.find('\n') + 1));
  recdiff::test::requireDataError(load, 1, "expected the header", ratings.string());
  spit(ratings, "userId,movieId,rating,timestamp\n");
  recdiff::test::requireDataError(load, 0, "no data lines", ratings.string());
  spit(ratings, goodRatings);
  // An unterminated quote in a title.
  const std::size_t q = goodMovies.find('"');
  REQUIRE(q != std::string::npos);
  const std::size_t end = goodMovies.find('\n', q);
  spit(movies, goodMovies.substr(0, q) + "\"Open quote" + goodMovies.substr(end));
  recdiff::test::requireDataError(load, lineCount(goodMovies.substr(0, q)) + 1, "unterminated quoted field", movies.string());
  spit(movies, goodMovies);
  CHECK(rd::readMovieLens(dir.path()).size() == small(true).ratings);

  // The .dat family: a line with three fields.
  recdiff::test::TempDir dat;
  rd::writeSyntheticMovieLens(small(false), dat.path(), {.seed = 9});
  const auto datRatings = dat.path() / "ratings.dat";
  const std::string goodDat = slurp(datRatings);
  spit(datRatings, goodDat.substr(0, goodDat.find('\n') + 1) + "1::2::3\n" + goodDat.substr(goodDat.find('\n') + 1));
  recdiff::test::requireDataError([&] { (void)rd::readMovieLens(dat.path()); }, 2, "got 3", datRatings.string());
}
