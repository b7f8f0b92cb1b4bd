#ifndef RECDIFF_TESTS_DATA_DATA_ERRORS_HPP
#define RECDIFF_TESTS_DATA_DATA_ERRORS_HPP
// The loader tests' check of a malformed input's error: a DataError naming the file, the line and the text.

#include <functional>
#include <string>

#include <recdiff/error.hpp>

#include "support/catch.hpp"

namespace recdiff::test {

/// Runs `f`, requires a DataError at `line` whose message contains `text` (and starts with `file`, when given).
inline void requireDataError(const std::function<void()>& f, long line, const std::string& text, const std::string& file = "") {
  try {
    f();
  } catch (const DataError& e) {
    INFO("message: " << e.what());
    CHECK(e.line() == line);
    CHECK(std::string(e.what()).find(text) != std::string::npos);
    if (!file.empty()) {
      CHECK(e.file() == file);
      CHECK(std::string(e.what()).rfind(file, 0) == 0);
    }
    return;
  }
  FAIL("expected a DataError containing '" << text << "'");
}

}  // namespace recdiff::test

#endif  // RECDIFF_TESTS_DATA_DATA_ERRORS_HPP
