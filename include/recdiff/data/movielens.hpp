#ifndef RECDIFF_DATA_MOVIELENS_HPP
#define RECDIFF_DATA_MOVIELENS_HPP

/// \file movielens.hpp
/// MovieLens releases (GroupLens; research use only, never redistributed — the repository holds no data):
///
/// | release                      | ratings                         | titles                         |
/// |------------------------------|---------------------------------|--------------------------------|
/// | 100K                         | u.data: user\titem\trating\tts  | u.item: 24 '|' fields, Latin-1 |
/// | 1M, 10M                      | ratings.dat: u::i::r::ts        | movies.dat: id::title::genres (1M Latin-1, 10M UTF-8 or Latin-1) |
/// | 20M, 25M, 32M, latest(-small)| ratings.csv with header         | movies.csv with header, quoted titles, UTF-8 |
///
/// The 1M folder may hold `ratings.partial-*.dat` instead of ratings.dat (the test mirror's file with the
/// ratings of users 1-2999); detectMovieLens() accepts it and says so in MovieLensFiles::partial.
/// Every loader returns RawInteractions (raw ids, ratings, timestamps, titles decoded to UTF-8); apply
/// buildInteractions() with the BuildOptions you want (DiffRec's ML-1M: minRating = 4).
///
/// Usage:
///   auto x = recdiff::data::loadMovieLens("data/ml-1m", {.minRating = 4.0});
///   std::cout << x.itemTitle(0) << '\n';

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "delimited.hpp"

namespace recdiff::data {

/// The MovieLens file families.
enum class MovieLensRelease {
  Ml100k,  ///< u.data / u.item
  Ml1m,    ///< ratings.dat / movies.dat (+ users.dat)
  Ml10m,   ///< ratings.dat / movies.dat without users.dat
  Csv,     ///< ratings.csv / movies.csv (20M, 25M, 32M, latest, latest-small)
};

/// The files detectMovieLens() found in a folder.
struct MovieLensFiles {
  MovieLensRelease release;
  std::filesystem::path ratings;
  std::optional<std::filesystem::path> titles;
  bool partial = false;  ///< the ratings file is a `ratings.partial-*.dat` excerpt
};

namespace detail {

inline void requireHeader(const LineReader& reader, std::string_view line, std::string_view expected) {
  if (line != expected) reader.fail(line, detail::concat("expected the header '", expected, "'"));
}

/// Ratings with exactly four fields user, item, rating, timestamp, split by `sep` (or CSV when `csvHeader`).
inline RawInteractions parseRatings4(std::string_view text, const std::string& source, std::string_view sep,
                                     std::string_view csvHeader = {}) {
  RawInteractions raw;
  raw.source = source;
  LineReader reader(text, source);
  std::string_view line;
  std::vector<std::string_view> fields;
  bool first = true;
  while (reader.next(line)) {
    if (first && !csvHeader.empty()) {
      requireHeader(reader, line, csvHeader);
      first = false;
      continue;
    }
    first = false;
    splitFields(line, sep, fields);
    if (fields.size() != 4)
      reader.fail(line, detail::concat("expected 4 fields (user, item, rating, timestamp) separated by '", excerpt(sep),
                                       "', got ", fields.size()));
    appendInteraction(raw, reader, line, fields);
  }
  if (raw.users.empty()) throw DataError(source, 0, "no data lines");
  return raw;
}

}  // namespace detail

/// MovieLens 100K `u.data` (tab separated, no header).
inline RawInteractions parseMovieLens100kRatings(std::string_view text, const std::string& source) {
  return detail::parseRatings4(text, source, "\t");
}
/// MovieLens 1M/10M `ratings.dat` ("::" separated, no header).
inline RawInteractions parseMovieLensDatRatings(std::string_view text, const std::string& source) {
  return detail::parseRatings4(text, source, "::");
}
/// MovieLens 20M/25M/32M/latest `ratings.csv` (header `userId,movieId,rating,timestamp`).
inline RawInteractions parseMovieLensCsvRatings(std::string_view text, const std::string& source) {
  return detail::parseRatings4(text, source, ",", "userId,movieId,rating,timestamp");
}

/// MovieLens 100K `u.item`: 24 '|' fields per line, the title is the second; Latin-1 decoded to UTF-8.
inline std::unordered_map<std::int64_t, std::string> parseMovieLens100kTitles(std::string_view text, const std::string& source,
                                                                              TextEncoding encoding = TextEncoding::Latin1) {
  std::unordered_map<std::int64_t, std::string> titles;
  detail::LineReader reader(text, source);
  std::string_view line;
  std::vector<std::string_view> fields;
  while (reader.next(line)) {
    detail::splitFields(line, "|", fields);
    if (fields.size() != 24) reader.fail(line, detail::concat("expected 24 fields separated by '|', got ", fields.size()));
    const auto id = detail::parseInt<std::int64_t>(reader, line, fields[0], "movie id", 0);
    if (!titles.emplace(id, detail::decodeText(reader, line, fields[1], encoding)).second)
      reader.fail(line, detail::concat("movie id ", id, " appears twice"));
  }
  if (titles.empty()) throw DataError(source, 0, "no data lines");
  return titles;
}

/// MovieLens 1M/10M `movies.dat`: `id::title::genres`.
inline std::unordered_map<std::int64_t, std::string> parseMovieLensDatTitles(std::string_view text, const std::string& source,
                                                                             TextEncoding encoding = TextEncoding::Latin1) {
  std::unordered_map<std::int64_t, std::string> titles;
  detail::LineReader reader(text, source);
  std::string_view line;
  std::vector<std::string_view> fields;
  while (reader.next(line)) {
    detail::splitFields(line, "::", fields);
    if (fields.size() != 3) reader.fail(line, detail::concat("expected 3 fields (id, title, genres) separated by '::', got ", fields.size()));
    const auto id = detail::parseInt<std::int64_t>(reader, line, fields[0], "movie id", 0);
    if (!titles.emplace(id, detail::decodeText(reader, line, fields[1], encoding)).second)
      reader.fail(line, detail::concat("movie id ", id, " appears twice"));
  }
  if (titles.empty()) throw DataError(source, 0, "no data lines");
  return titles;
}

/// MovieLens CSV `movies.csv`: header `movieId,title,genres`, RFC 4180 quoting.
inline std::unordered_map<std::int64_t, std::string> parseMovieLensCsvTitles(std::string_view text, const std::string& source,
                                                                             TextEncoding encoding = TextEncoding::Auto) {
  std::unordered_map<std::int64_t, std::string> titles;
  detail::LineReader reader(text, source);
  std::string_view line;
  std::vector<std::string> fields;
  bool first = true;
  while (reader.next(line)) {
    if (first) {
      detail::requireHeader(reader, line, "movieId,title,genres");
      first = false;
      continue;
    }
    detail::splitCsv(reader, line, ',', fields);
    if (fields.size() != 3) reader.fail(line, detail::concat("expected 3 fields (movieId, title, genres), got ", fields.size()));
    const auto id = detail::parseInt<std::int64_t>(reader, line, fields[0], "movie id", 0);
    if (!titles.emplace(id, detail::decodeText(reader, line, fields[1], encoding)).second)
      reader.fail(line, detail::concat("movie id ", id, " appears twice"));
  }
  if (titles.empty()) throw DataError(source, 0, "no data lines");
  return titles;
}

/// Finds the release in `folder` by its files; nullopt when none matches.
inline std::optional<MovieLensFiles> detectMovieLens(const std::filesystem::path& folder) {
  namespace fs = std::filesystem;
  auto has = [&](const char* name) { return fs::is_regular_file(folder / name); };
  if (has("u.data"))
    return MovieLensFiles{MovieLensRelease::Ml100k, folder / "u.data",
                          has("u.item") ? std::optional<fs::path>(folder / "u.item") : std::nullopt, false};
  if (has("ratings.csv"))
    return MovieLensFiles{MovieLensRelease::Csv, folder / "ratings.csv",
                          has("movies.csv") ? std::optional<fs::path>(folder / "movies.csv") : std::nullopt, false};
  const auto release = has("users.dat") ? MovieLensRelease::Ml1m : MovieLensRelease::Ml10m;
  const auto titles = has("movies.dat") ? std::optional<fs::path>(folder / "movies.dat") : std::nullopt;
  if (has("ratings.dat")) return MovieLensFiles{release, folder / "ratings.dat", titles, false};
  std::error_code ec;
  std::vector<fs::path> partial;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.starts_with("ratings.partial-") && name.ends_with(".dat")) partial.push_back(entry.path());
  }
  if (partial.size() == 1) return MovieLensFiles{release, partial.front(), titles, true};
  return std::nullopt;
}

/// Reads the ratings (and titles when present) of the MovieLens release found in `folder`.
/// DataError (line 0) when the folder holds no known release.
inline RawInteractions readMovieLens(const std::filesystem::path& folder) {
  const auto files = detectMovieLens(folder);
  if (!files)
    throw DataError(folder.string(), 0,
                    "no MovieLens release found (expected u.data, ratings.dat, ratings.partial-*.dat or ratings.csv)");
  const std::string ratingsPath = files->ratings.string();
  const std::string text = detail::readFile(ratingsPath);
  RawInteractions raw;
  switch (files->release) {
    case MovieLensRelease::Ml100k: raw = parseMovieLens100kRatings(text, ratingsPath); break;
    case MovieLensRelease::Ml1m:
    case MovieLensRelease::Ml10m: raw = parseMovieLensDatRatings(text, ratingsPath); break;
    case MovieLensRelease::Csv: raw = parseMovieLensCsvRatings(text, ratingsPath); break;
  }
  if (files->titles) {
    const std::string titlesPath = files->titles->string();
    const std::string titleText = detail::readFile(titlesPath);
    switch (files->release) {
      case MovieLensRelease::Ml100k: raw.titles = parseMovieLens100kTitles(titleText, titlesPath); break;
      case MovieLensRelease::Ml1m: raw.titles = parseMovieLensDatTitles(titleText, titlesPath, TextEncoding::Latin1); break;
      case MovieLensRelease::Ml10m: raw.titles = parseMovieLensDatTitles(titleText, titlesPath, TextEncoding::Auto); break;
      case MovieLensRelease::Csv: raw.titles = parseMovieLensCsvTitles(titleText, titlesPath); break;
    }
  }
  return raw;
}

/// readMovieLens + buildInteractions.
inline Interactions loadMovieLens(const std::filesystem::path& folder, const BuildOptions& options = {}) {
  return buildInteractions(readMovieLens(folder), options);
}

}  // namespace recdiff::data

#endif  // RECDIFF_DATA_MOVIELENS_HPP
