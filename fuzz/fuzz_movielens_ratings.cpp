// Fuzz target: the MovieLens ratings parsers (u.data, ratings.dat, ratings.csv) and the build step behind them.
#include <recdiff/data/movielens.hpp>

#include "fuzz_text_loaders.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  return fuzzOne(data + 1, size - 1, [selector](std::string_view text) {
    namespace rd = recdiff::data;
    rd::RawInteractions raw;
    switch (selector % 3) {
      case 0: raw = rd::parseMovieLens100kRatings(text, "u.data"); break;
      case 1: raw = rd::parseMovieLensDatRatings(text, "ratings.dat"); break;
      default: raw = rd::parseMovieLensCsvRatings(text, "ratings.csv"); break;
    }
    rd::BuildOptions options;
    if (selector & 4) options.minRating = 3.0;
    if (selector & 8) options.duplicates = rd::DuplicateRule::Error;
    if (selector & 16) options.duplicates = rd::DuplicateRule::Sum;
    if (selector & 32) options.minUserInteractions = 2, options.minItemInteractions = 2;
    if (selector & 64) options.idOrder = rd::IdOrder::FirstSeen;
    const auto x = rd::buildInteractions(raw, options);
    if (x.nnz() > raw.size() || x.matrix().nonZeros() != x.nnz()) __builtin_trap();
  });
}
