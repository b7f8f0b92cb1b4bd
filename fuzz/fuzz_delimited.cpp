// Fuzz target: the generic delimited reader with every separator, header, field-count and quoting option.
#include <recdiff/data/delimited.hpp>

#include "fuzz_text_loaders.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  return fuzzOne(data + 1, size - 1, [selector](std::string_view text) {
    namespace rd = recdiff::data;
    static const char* kSeparators[] = {",", "\t", "::", ";"};
    rd::DelimitedFormat format;
    format.quoted = (selector & 64) != 0;
    format.separator = format.quoted ? std::string(1, ",\t;"[selector % 3]) : kSeparators[selector % 4];
    format.header = (selector & 4) != 0;
    format.fields = (selector >> 3) % 4 == 0 ? 0 : 1 + static_cast<int>((selector >> 3) % 4);
    if (format.fields == 1) format.fields = 0;
    const auto raw = rd::parseDelimited(text, "x.csv", format);
    const auto x = rd::buildInteractions(raw, {.duplicates = (selector & 128) ? rd::DuplicateRule::KeepFirst : rd::DuplicateRule::KeepLast});
    if (x.nnz() > raw.size()) __builtin_trap();
  });
}
