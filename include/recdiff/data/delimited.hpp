#ifndef RECDIFF_DATA_DELIMITED_HPP
#define RECDIFF_DATA_DELIMITED_HPP

/// \file delimited.hpp
/// A generic `user <sep> item [<sep> rating [<sep> timestamp]]` reader (CSV, TSV, "::"), with a configurable
/// separator, an optional header line and optional RFC 4180 quoting. Line rules: text_parsing.hpp.
///
/// The field count is fixed for the whole file: DelimitedFormat::fields, or (0) taken from the first data
/// line; 2 fields = user, item; 3 = user, item, rating; 4 = user, item, rating, timestamp. Ids are integers
/// in [0, 2^63); ratings are finite reals; timestamps are 64-bit integers.
///
/// Usage:
///   auto raw = recdiff::data::readDelimited("clicks.tsv", {.separator = "\t"});
///   auto x = recdiff::data::buildInteractions(raw, {.duplicates = recdiff::data::DuplicateRule::Sum});

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "raw_interactions.hpp"
#include "text_parsing.hpp"

namespace recdiff::data {

/// The layout of a delimited interactions file.
struct DelimitedFormat {
  std::string separator = ",";  ///< non-empty; a single character when quoted
  bool header = false;          ///< the first data line is a header and is skipped
  int fields = 0;               ///< 2, 3 or 4; 0 = take the count from the first data line
  bool quoted = false;          ///< RFC 4180 double-quote quoting (then separator must be one character)
};

namespace detail {

/// Parses the fields of one interaction line into `raw` (fields.size() already checked).
template <class Field>
void appendInteraction(RawInteractions& raw, const LineReader& reader, std::string_view line, const std::vector<Field>& f) {
  constexpr auto kMaxId = std::numeric_limits<std::int64_t>::max();
  raw.users.push_back(parseInt<std::int64_t>(reader, line, f[0], "user id", 0, kMaxId));
  raw.items.push_back(parseInt<std::int64_t>(reader, line, f[1], "item id", 0, kMaxId));
  if (f.size() >= 3) {
    const double r = parseReal(reader, line, f[2], "rating");
    if (std::abs(r) > static_cast<double>(std::numeric_limits<float>::max())) reader.fail(line, "rating out of float range");
    raw.ratings.push_back(static_cast<float>(r));
  }
  if (f.size() >= 4) raw.timestamps.push_back(parseInt<std::int64_t>(reader, line, f[3], "timestamp"));
  raw.lines.push_back(reader.lineNumber());
}

}  // namespace detail

/// Parses delimited interactions from memory (`source` names the text in errors).
inline RawInteractions parseDelimited(std::string_view text, const std::string& source, const DelimitedFormat& format = {}) {
  RECDIFF_REQUIRE(!format.separator.empty(), "parseDelimited(): empty separator");
  RECDIFF_REQUIRE(!format.quoted || format.separator.size() == 1, "parseDelimited(): quoting needs a one-character separator");
  RECDIFF_REQUIRE(format.fields == 0 || (format.fields >= 2 && format.fields <= 4), "parseDelimited(): fields must be 0, 2, 3 or 4, got ",
                  format.fields);
  RawInteractions raw;
  raw.source = source;
  detail::LineReader reader(text, source);
  std::string_view line;
  std::vector<std::string_view> fields;
  std::vector<std::string> quotedFields;
  bool first = true;
  std::size_t expected = static_cast<std::size_t>(format.fields);
  while (reader.next(line)) {
    if (first && format.header) {
      first = false;
      continue;
    }
    first = false;
    std::size_t count;
    if (format.quoted) {
      detail::splitCsv(reader, line, format.separator[0], quotedFields);
      count = quotedFields.size();
    } else {
      detail::splitFields(line, format.separator, fields);
      count = fields.size();
    }
    if (expected == 0) {
      if (count < 2 || count > 4)
        reader.fail(line, detail::concat("expected 2 to 4 fields separated by '", detail::excerpt(format.separator), "', got ", count));
      expected = count;
    }
    if (count != expected)
      reader.fail(line, detail::concat("expected ", expected, " fields separated by '", detail::excerpt(format.separator), "', got ", count));
    if (format.quoted) detail::appendInteraction(raw, reader, line, quotedFields);
    else detail::appendInteraction(raw, reader, line, fields);
  }
  if (raw.users.empty()) throw DataError(source, 0, "no data lines");
  return raw;
}

/// Reads a delimited interactions file.
inline RawInteractions readDelimited(const std::string& path, const DelimitedFormat& format = {}) {
  const std::string text = detail::readFile(path);
  return parseDelimited(text, path, format);
}

/// Reads and builds in one call.
inline Interactions loadDelimited(const std::string& path, const DelimitedFormat& format = {}, const BuildOptions& options = {}) {
  return buildInteractions(readDelimited(path, format), options);
}

}  // namespace recdiff::data

#endif  // RECDIFF_DATA_DELIMITED_HPP
