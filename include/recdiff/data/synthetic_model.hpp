#ifndef RECDIFF_DATA_SYNTHETIC_MODEL_HPP
#define RECDIFF_DATA_SYNTHETIC_MODEL_HPP

/// \file synthetic_model.hpp
/// The model behind synthetic.hpp's generated MovieLens releases: the release shape, the curves fitted to
/// MovieLens 1M, and the per-user text writer (synthetic.hpp's file comment describes the model).

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

#include "../error.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"

namespace recdiff::data {

/// The shape of a release to generate: the published counts of a GroupLens release, or any other.
struct SyntheticRelease {
  std::string name;            ///< e.g. "ml-20m"; names the cache folder
  Index users = 0;             ///< users, ids 1 … users (every one rates at least min(20, movies))
  Index movies = 0;            ///< movies listed in the movies file (each may or may not be rated)
  Index ratings = 0;           ///< ratings, exactly
  Index maxMovieId = 0;        ///< movie ids are a sample of [1, maxMovieId] (≥ movies)
  std::int64_t firstTimestamp = 789652009;   ///< 1995-01-09, the first rating of every release
  std::int64_t lastTimestamp = 1230768000;   ///< end of the rating period
  bool csv = true;             ///< ratings.csv / movies.csv (20M and later); false: ratings.dat / movies.dat (10M)
  bool halfStars = true;       ///< ratings in half stars 0.5 … 5.0 (10M and later)
};

namespace detail {

using recdiff::detail::concat;  // as text_parsing.hpp declares it: data/ headers call detail::concat

inline constexpr std::uint64_t kSyntheticStream = 0x5E7D;

/// (position, log of the value relative to ML-1M's mean) knots of a piecewise log-linear curve.
struct Knot {
  double at;
  double logRelative;
};

/// ML-1M (users 1–2999): quantile q of ratings per user → log(count / mean count); mean 162.6.
inline constexpr std::array<Knot, 19> kUserKnots = {{
    {0, -2.0956},   {0.01, -2.0956}, {0.02, -2.0468}, {0.05, -1.9558}, {0.1, -1.7955}, {0.15, -1.6573},
    {0.2, -1.4804}, {0.3, -1.1995},  {0.4, -0.9017},  {0.5, -0.6027},  {0.6, -0.2955}, {0.7, 0.0326},
    {0.8, 0.4116},  {0.9, 0.9076},   {0.95, 1.2294},  {0.98, 1.5617},  {0.99, 1.7111}, {0.995, 1.8403},
    {1, 2.4316},
}};

/// Movie weights by relative popularity rank x, log relative to the mean weight: ML-1M's (users 1–2999)
/// rank-frequency curve log(ratings / mean ratings) (mean 134.9 ratings per movie), calibrated so that the
/// generator reproduces it: drawing without replacement flattens the head (a user rates a movie once), so the
/// weights went through 8 fixed-point steps w_k += target_k − realized_k on an ML-1M-shaped release (2,999 ×
/// 3,615, seed 11; x ≥ 0.98 fixed at the fitted tail). The generated top 10% of movies then hold 43.8% of the
/// ratings (ML-1M: 43.9%; uncalibrated: 38.6%).
inline constexpr std::array<Knot, 20> kItemKnots = {{
    {0, 4.4590},    {0.0005, 2.8546}, {0.002, 2.9255}, {0.005, 2.5677}, {0.01, 2.1487}, {0.02, 1.8935},
    {0.05, 1.4213}, {0.1, 0.9564},    {0.15, 0.6685},  {0.2, 0.3577},   {0.3, -0.1180}, {0.4, -0.5205},
    {0.5, -0.9610}, {0.6, -1.4309},   {0.7, -2.0069},  {0.8, -2.4830},  {0.9, -3.2954}, {0.95, -4.2117},
    {0.98, -4.9045}, {1, -4.9045},
}};

/// ML-1M's share of 1 … 5 stars.
inline constexpr std::array<double, 5> kStarShares = {0.0563, 0.1104, 0.2609, 0.3498, 0.2226};

template <std::size_t N>
double knotCurve(const std::array<Knot, N>& knots, double at) {
  at = std::clamp(at, 0.0, 1.0);
  std::size_t k = 1;
  while (k + 1 < N && knots[k].at < at) ++k;
  const Knot& a = knots[k - 1];
  const Knot& b = knots[k];
  const double f = b.at > a.at ? (at - a.at) / (b.at - a.at) : 0.0;
  return std::exp(a.logRelative + f * (b.logRelative - a.logRelative));
}

/// Walker/Vose alias table: draw i with probability weights[i] / sum in O(1).
class AliasTable {
 public:
  explicit AliasTable(const std::vector<double>& weights) : prob_(weights.size()), alias_(weights.size()) {
    const auto n = static_cast<Index>(weights.size());
    double sum = 0.0;
    for (double w : weights) sum += w;
    std::vector<double> scaled(weights.size());
    std::vector<Index> small, large;
    for (Index i = 0; i < n; ++i) {
      scaled[static_cast<std::size_t>(i)] = weights[static_cast<std::size_t>(i)] * static_cast<double>(n) / sum;
      (scaled[static_cast<std::size_t>(i)] < 1.0 ? small : large).push_back(i);
    }
    while (!small.empty() && !large.empty()) {
      const Index s = small.back(), l = large.back();
      small.pop_back();
      prob_[static_cast<std::size_t>(s)] = scaled[static_cast<std::size_t>(s)];
      alias_[static_cast<std::size_t>(s)] = l;
      scaled[static_cast<std::size_t>(l)] -= 1.0 - scaled[static_cast<std::size_t>(s)];
      if (scaled[static_cast<std::size_t>(l)] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (Index i : large) prob_[static_cast<std::size_t>(i)] = 1.0;
    for (Index i : small) prob_[static_cast<std::size_t>(i)] = 1.0;
  }
  Index draw(Rng& rng) const {
    const Index i = rng.uniformIndex(static_cast<Index>(prob_.size()));
    return rng.uniformReal<double>() < prob_[static_cast<std::size_t>(i)] ? i : alias_[static_cast<std::size_t>(i)];
  }

 private:
  std::vector<double> prob_;
  std::vector<Index> alias_;
};

/// A seeded permutation of 0 … n-1 (Fisher–Yates).
inline std::vector<Index> permutation(Index n, Rng rng) {
  std::vector<Index> p(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) p[static_cast<std::size_t>(i)] = i;
  for (Index i = n - 1; i > 0; --i) std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(rng.uniformIndex(i + 1))]);
  return p;
}

/// Ratings per user: c · Q(q_u) rounded and clamped to [min(20, movies), movies], c found by bisection so the
/// sum is closest to `release.ratings`, the rest moved ±1 over users in a seeded order.
inline std::vector<Index> userActivity(const SyntheticRelease& release, const Rng& base) {
  const Index lo = std::min<Index>(20, release.movies), hi = release.movies;
  std::vector<double> raw(static_cast<std::size_t>(release.users));
  Rng rng = base.fork(0xAC71);
  for (auto& r : raw) r = knotCurve(kUserKnots, rng.uniformReal<double>());
  const auto count = [&](double c, std::vector<Index>* out) {
    Index sum = 0;
    for (std::size_t u = 0; u < raw.size(); ++u) {
      const Index n = std::clamp(static_cast<Index>(std::llround(c * raw[u])), lo, hi);
      if (out) (*out)[u] = n;
      sum += n;
    }
    return sum;
  };
  double a = 0.0, b = 1.0;
  while (count(b, nullptr) < release.ratings) b *= 2.0;
  for (int it = 0; it < 200; ++it) {
    const double m = 0.5 * (a + b);
    (count(m, nullptr) < release.ratings ? a : b) = m;
  }
  std::vector<Index> n(raw.size());
  Index diff = release.ratings - count(b, &n);
  const std::vector<Index> order = permutation(release.users, base.fork(0x0D3E));
  for (std::size_t k = 0; diff != 0; k = (k + 1) % order.size()) {
    Index& v = n[static_cast<std::size_t>(order[k])];
    if (diff > 0 && v < hi) { ++v; --diff; }
    else if (diff < 0 && v > lo) { --v; ++diff; }
  }
  return n;
}

inline void appendInt(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

/// One user's ratings as text lines (sorted by movie id, as GroupLens sorts them).
struct UserLines {
  std::vector<char> taken;  // per movie, reset after each user
  std::vector<std::pair<Index, std::int64_t>> rated;  // (movie index, timestamp)
};

inline void appendUser(std::string& out, UserLines& s, Index user, Index n, const SyntheticRelease& release,
                       const AliasTable& popularity, const std::vector<double>& weights,
                       const std::vector<std::int64_t>& movieIds, const Rng& base) {
  Rng rng = base.fork(static_cast<std::uint64_t>(user));
  if (s.taken.size() != movieIds.size()) s.taken.assign(movieIds.size(), 0);
  s.rated.clear();
  std::vector<Index> drawn;
  if (4 * n <= release.movies) {
    while (static_cast<Index>(drawn.size()) < n) {
      const Index m = popularity.draw(rng);
      if (!s.taken[static_cast<std::size_t>(m)]) { s.taken[static_cast<std::size_t>(m)] = 1; drawn.push_back(m); }
    }
    for (Index m : drawn) s.taken[static_cast<std::size_t>(m)] = 0;
  } else {  // a heavy user: weighted sampling without replacement by exponential keys (Efraimidis–Spirakis)
    std::vector<std::pair<double, Index>> keys(movieIds.size());
    for (std::size_t m = 0; m < keys.size(); ++m)
      keys[m] = {-std::log1p(-rng.uniformReal<double>()) / weights[m], static_cast<Index>(m)};
    std::partial_sort(keys.begin(), keys.begin() + n, keys.end());
    for (Index k = 0; k < n; ++k) drawn.push_back(keys[static_cast<std::size_t>(k)].second);
  }
  const std::int64_t span = release.lastTimestamp - release.firstTimestamp;
  std::int64_t t = release.firstTimestamp + static_cast<std::int64_t>(rng.uniformReal<double>() * 0.9 * static_cast<double>(span));
  for (Index m : drawn) {
    const double mean = rng.uniformReal<double>() < 0.03 ? 20.0 * 86400.0 : 45.0;
    t = std::min(release.lastTimestamp, t + static_cast<std::int64_t>(-std::log1p(-rng.uniformReal<double>()) * mean));
    s.rated.emplace_back(m, t);
  }
  std::sort(s.rated.begin(), s.rated.end());
  const std::string_view sep = release.csv ? "," : "::";
  for (const auto& [m, ts] : s.rated) {
    double u = rng.uniformReal<double>();
    int stars = 5;
    for (int k = 0; k < 5; ++k) {
      if (u < kStarShares[static_cast<std::size_t>(k)]) { stars = k + 1; break; }
      u -= kStarShares[static_cast<std::size_t>(k)];
    }
    const bool half = release.halfStars && rng.uniformReal<double>() < 0.25;
    appendInt(out, user);
    out.append(sep);
    appendInt(out, movieIds[static_cast<std::size_t>(m)]);
    out.append(sep);
    if (half) { appendInt(out, stars - 1); out.append(".5"); }
    else { appendInt(out, stars); if (release.csv) out.append(".0"); }
    out.append(sep);
    appendInt(out, ts);
    out.push_back('\n');
  }
}

inline constexpr std::array<std::string_view, 19> kGenres = {
    "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama", "Fantasy", "Film-Noir",
    "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"};

inline std::string moviesText(const SyntheticRelease& release, const std::vector<std::int64_t>& movieIds, const Rng& base) {
  std::string out = release.csv ? "movieId,title,genres\n" : "";
  const std::string_view sep = release.csv ? "," : "::";
  Rng rng = base.fork(0x6E7E);
  for (std::size_t m = 0; m < movieIds.size(); ++m) {
    const std::string id = std::to_string(movieIds[m]);
    const std::string year = std::to_string(1902 + rng.uniformIndex(122));
    std::string title = m % 10 == 9 ? "Synthetic Movie, The " + id + " (" + year + ")"
                        : m % 37 == 36 ? "Synthetic \"Quoted\" Movie " + id + " (" + year + ")"
                                       : "Synthetic Movie " + id + " (" + year + ")";
    if (release.csv && (title.find(',') != std::string::npos || title.find('"') != std::string::npos)) {
      std::string quoted = "\"";
      for (char c : title) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
      title = quoted + "\"";
    }
    std::string genres;
    if (rng.uniformIndex(100) == 0) {
      genres = "(no genres listed)";
    } else {
      const Index g = 1 + rng.uniformIndex(3);  // 1 … 3 distinct genres
      std::array<bool, kGenres.size()> used{};
      for (Index k = 0; k < g; ++k) {
        auto pick = static_cast<std::size_t>(rng.uniformIndex(static_cast<Index>(kGenres.size())));
        while (used[pick]) pick = (pick + 1) % kGenres.size();
        used[pick] = true;
        genres += (k ? "|" : "") + std::string(kGenres[pick]);
      }
    }
    out.append(id).append(sep).append(title).append(sep).append(genres).push_back('\n');
  }
  return out;
}

/// Writes `text` chunks to `path` with stdio, failing with the file named.
class TextFile {
 public:
  explicit TextFile(const std::filesystem::path& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
    if (!f_) throw DataError(path_.string(), 0, "cannot open for writing");
  }
  ~TextFile() { if (f_) std::fclose(f_); }
  TextFile(const TextFile&) = delete;
  TextFile& operator=(const TextFile&) = delete;
  void write(std::string_view text) {
    if (std::fwrite(text.data(), 1, text.size(), f_) != text.size()) throw DataError(path_.string(), 0, "write failed (disk full?)");
  }
  void close() {
    const bool ok = std::fflush(f_) == 0 && ::fsync(::fileno(f_)) == 0;
    const bool closed = std::fclose(f_) == 0;
    f_ = nullptr;
    if (!ok || !closed) throw DataError(path_.string(), 0, "flush/close failed (disk full?)");
  }

 private:
  std::filesystem::path path_;
  std::FILE* f_;
};

}  // namespace detail

}  // namespace recdiff::data

#endif  // RECDIFF_DATA_SYNTHETIC_MODEL_HPP
