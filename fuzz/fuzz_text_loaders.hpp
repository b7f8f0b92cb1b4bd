// Shared harness for the text-parser fuzz targets: a parser may only succeed or throw recdiff::DataError.
// Any other exception escapes and libFuzzer reports it as a crash, as do ASan findings.
#ifndef RECDIFF_FUZZ_FUZZ_TEXT_LOADERS_HPP
#define RECDIFF_FUZZ_FUZZ_TEXT_LOADERS_HPP

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <recdiff/error.hpp>

template <class F>
int fuzzOne(const std::uint8_t* data, std::size_t size, F&& parse) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    parse(text);
  } catch (const recdiff::DataError&) {
  }
  return 0;
}

#endif
