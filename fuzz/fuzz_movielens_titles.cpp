// Fuzz target: the MovieLens title parsers (u.item, movies.dat, movies.csv with RFC 4180 quoting) and the
// text decoders.
#include <recdiff/data/movielens.hpp>

#include "fuzz_text_loaders.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  return fuzzOne(data + 1, size - 1, [selector](std::string_view text) {
    namespace rd = recdiff::data;
    const auto encoding = static_cast<rd::TextEncoding>((selector >> 2) % 3);
    std::unordered_map<std::int64_t, std::string> titles;
    switch (selector % 3) {
      case 0: titles = rd::parseMovieLens100kTitles(text, "u.item", encoding); break;
      case 1: titles = rd::parseMovieLensDatTitles(text, "movies.dat", encoding); break;
      default: titles = rd::parseMovieLensCsvTitles(text, "movies.csv", encoding); break;
    }
    for (const auto& [id, title] : titles)
      if (!rd::detail::isValidUtf8(title)) __builtin_trap();  // every decoded title is UTF-8
  });
}
