#ifndef RECDIFF_DATA_TEXT_PARSING_HPP
#define RECDIFF_DATA_TEXT_PARSING_HPP

/// \file text_parsing.hpp
/// The strict line-oriented parsing every text loader shares. Every failure is a recdiff::DataError naming the
/// file, the 1-based line and the offending text (shortened to 80 characters, control bytes escaped).
///
/// Documented handling, the same for every loader:
///   - line ends: "\n" and "\r\n" are both accepted (the "\r" is dropped); a lone "\r" inside a line is data;
///   - a UTF-8 byte-order mark at the start of the file is skipped;
///   - empty lines are skipped (a trailing newline, or none, is fine); a line of only spaces/tabs is an error;
///   - integers: optional '-' then decimal digits, nothing else (no '+', no spaces, no "1.0"); ids must be
///     ≥ 0 and fit the target type; overflow is an error, never a wrap;
///   - reals: std::from_chars general format, finite only (no "nan", "inf");
///   - an input with no data line at all is an error ("no data lines"), never an empty result.

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../error.hpp"

namespace recdiff::data {

/// How to decode title bytes into UTF-8.
enum class TextEncoding {
  Utf8,    ///< bytes are UTF-8 already; invalid UTF-8 is a DataError
  Latin1,  ///< ISO-8859-1 (MovieLens 100K/1M): every byte ≥ 0x80 becomes its two-byte UTF-8 form
  Auto,    ///< valid UTF-8 is kept as it is; anything else is decoded as Latin-1
};

namespace detail {

using recdiff::detail::concat;

/// Printable excerpt of a line for error messages.
inline std::string excerpt(std::string_view text) {
  std::string out;
  const std::size_t n = std::min<std::size_t>(text.size(), 80);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else out += static_cast<char>(c);
  }
  if (text.size() > n) out += "...";
  return out;
}

/// Reads a whole file as bytes; DataError (line 0) when it cannot be opened or read.
inline std::string readFile(const std::string& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw DataError(path, 0, std::string("cannot open file: ") + std::generic_category().message(errno ? errno : ENOENT));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError(path, 0, "read error");
  return bytes;
}

/// Iterates over the lines of an in-memory text with the rules in the file comment.
class LineReader {
 public:
  LineReader(std::string_view text, std::string file) : text_(text), file_(std::move(file)) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  }

  /// Next non-empty line (without its line end); false at the end of the text.
  bool next(std::string_view& line) {
    while (pos_ < text_.size()) {
      const std::size_t end = text_.find('\n', pos_);
      const std::size_t stop = end == std::string_view::npos ? text_.size() : end;
      line = text_.substr(pos_, stop - pos_);
      pos_ = end == std::string_view::npos ? text_.size() : end + 1;
      ++lineNo_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      if (line.find_first_not_of(" \t") == std::string_view::npos) fail(line, "blank line with whitespace");
      ++dataLines_;
      return true;
    }
    return false;
  }

  long lineNumber() const noexcept { return lineNo_; }
  long dataLines() const noexcept { return dataLines_; }
  const std::string& file() const noexcept { return file_; }

  [[noreturn]] void fail(std::string_view line, const std::string& what) const {
    throw DataError(file_, lineNo_, what + ": '" + excerpt(line) + "'");
  }

 private:
  std::string_view text_;
  std::string file_;
  std::size_t pos_ = 0;
  long lineNo_ = 0;
  long dataLines_ = 0;
};

/// Splits `line` at every occurrence of `sep` (a non-empty string such as "\t", "::", ","). Keeps empty fields.
inline void splitFields(std::string_view line, std::string_view sep, std::vector<std::string_view>& fields) {
  fields.clear();
  std::size_t pos = 0;
  while (true) {
    const std::size_t at = line.find(sep, pos);
    if (at == std::string_view::npos) {
      fields.push_back(line.substr(pos));
      return;
    }
    fields.push_back(line.substr(pos, at - pos));
    pos = at + sep.size();
  }
}

/// Splits one CSV line (RFC 4180 quoting, no line breaks inside quotes): "a,""b"",c" -> a | "b" | c.
/// Quoted fields are unescaped; a quote inside an unquoted field or text after a closing quote is an error.
inline void splitCsv(const LineReader& reader, std::string_view line, char sep, std::vector<std::string>& fields) {
  fields.clear();
  std::size_t i = 0;
  while (true) {
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) reader.fail(line, "unterminated quoted field");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != sep) reader.fail(line, "text after a closing quote");
    } else {
      const std::size_t at = line.find(sep, i);
      const std::size_t stop = at == std::string_view::npos ? line.size() : at;
      field.assign(line.substr(i, stop - i));
      if (field.find('"') != std::string::npos) reader.fail(line, "quote inside an unquoted field");
      i = stop;
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) return;
    ++i;  // separator
    if (i == line.size()) {
      fields.emplace_back();
      return;
    }
  }
}

/// Parses a decimal integer of type T; DataError naming `what` unless the whole field is a valid in-range number.
template <class T>
T parseInt(const LineReader& reader, std::string_view line, std::string_view field, const char* what,
           T minValue = std::numeric_limits<T>::min(), T maxValue = std::numeric_limits<T>::max()) {
  T value{};
  const char* b = field.data();
  const char* e = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(b, e, value);
  if (field.empty() || ec == std::errc::invalid_argument || ptr != e) {
    reader.fail(line, std::string("non-numeric ") + what + " '" + excerpt(field) + "'");
  }
  if (ec == std::errc::result_out_of_range) reader.fail(line, std::string(what) + " '" + excerpt(field) + "' overflows");
  if (value < minValue || value > maxValue) {
    reader.fail(line, std::string(what) + " " + std::string(field) + " outside [" + std::to_string(minValue) + ", " +
                          std::to_string(maxValue) + "]");
  }
  return value;
}

/// Parses a finite real number.
inline double parseReal(const LineReader& reader, std::string_view line, std::string_view field, const char* what) {
  double value = 0.0;
  const char* b = field.data();
  const char* e = field.data() + field.size();
  if (!field.empty() && *b == '+') reader.fail(line, std::string("non-numeric ") + what + " '" + excerpt(field) + "'");
  const auto [ptr, ec] = std::from_chars(b, e, value);
  if (field.empty() || ec == std::errc::invalid_argument || ptr != e) {
    reader.fail(line, std::string("non-numeric ") + what + " '" + excerpt(field) + "'");
  }
  if (ec == std::errc::result_out_of_range || !std::isfinite(value)) {
    reader.fail(line, std::string(what) + " '" + excerpt(field) + "' is not a finite number");
  }
  return value;
}

/// True when `s` is valid UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF).
inline bool isValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int n = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
    else return false;
    if (i + static_cast<std::size_t>(n) >= s.size()) return false;
    for (int k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += static_cast<std::size_t>(n) + 1;
  }
  return true;
}

/// ISO-8859-1 bytes to UTF-8.
inline std::string latin1ToUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

/// Decodes a title to UTF-8 by `encoding`; invalid UTF-8 under TextEncoding::Utf8 is a DataError.
inline std::string decodeText(const LineReader& reader, std::string_view line, std::string_view s, TextEncoding encoding) {
  switch (encoding) {
    case TextEncoding::Latin1:
      return latin1ToUtf8(s);
    case TextEncoding::Utf8:
      if (!isValidUtf8(s)) reader.fail(line, "invalid UTF-8");
      return std::string(s);
    case TextEncoding::Auto:
      break;
  }
  return isValidUtf8(s) ? std::string(s) : latin1ToUtf8(s);
}

}  // namespace detail
}  // namespace recdiff::data

#endif  // RECDIFF_DATA_TEXT_PARSING_HPP
