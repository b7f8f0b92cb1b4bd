#ifndef RECDIFF_ERROR_HPP
#define RECDIFF_ERROR_HPP

/// \file error.hpp
/// Error handling (STYLE.md 4.4): RECDIFF_REQUIRE at public entry points (always on, throws
/// std::invalid_argument), RECDIFF_ASSERT inside hot loops (debug only), DataError for bad input files.

#include <cassert>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "config.hpp"

namespace recdiff {

/// A malformed or unreadable input file. The message names the file, the line (when there is one) and the
/// offending text: "u.data:17: expected 4 fields separated by '\t', got 3: '1\t2\t3'".
class DataError : public std::runtime_error {
 public:
  DataError(std::string file, long line, const std::string& what)
      : std::runtime_error(format(file, line, what)), file_(std::move(file)), line_(line) {}

  /// The file that failed to parse.
  const std::string& file() const noexcept { return file_; }
  /// 1-based line number, or 0 when the error is not tied to a line (binary files, empty files).
  long line() const noexcept { return line_; }

 private:
  static std::string format(const std::string& file, long line, const std::string& what) {
    std::ostringstream os;
    os << file;
    if (line > 0) os << ':' << line;
    os << ": " << what;
    return os.str();
  }

  std::string file_;
  long line_;
};

namespace detail {
/// Builds a message from any streamable parts: detail::concat("x has ", 3, " rows").
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  os.precision(17);
  (os << ... << parts);
  return os.str();
}
}  // namespace detail

}  // namespace recdiff

/// Checks a precondition at a public entry point; throws std::invalid_argument with the streamed message.
/// Usage: RECDIFF_REQUIRE(x.rows() == t.size(), "GaussianDiffusion::qSample(): x0 has ", x.rows(), " rows");
#define RECDIFF_REQUIRE(cond, ...)                                                \
  do {                                                                            \
    if (!(cond)) throw std::invalid_argument(::recdiff::detail::concat(__VA_ARGS__)); \
  } while (false)

/// Debug-only invariant check for hot loops; compiled out by NDEBUG or RECDIFF_NO_DEBUG.
#if defined(NDEBUG) || defined(RECDIFF_NO_DEBUG)
#define RECDIFF_ASSERT(cond) ((void)0)
#else
#define RECDIFF_ASSERT(cond) assert(cond)
#endif

#endif  // RECDIFF_ERROR_HPP
