#include <recdiff/recdiff.hpp>

#include "support/catch.hpp"

TEST_CASE("The version macros and the version constants agree", "[core][version]") {
  CHECK(recdiff::kVersion.major == RECDIFF_VERSION_MAJOR);
  CHECK(recdiff::kVersion.minor == RECDIFF_VERSION_MINOR);
  CHECK(recdiff::kVersion.patch == RECDIFF_VERSION_PATCH);
  const std::string expected = std::to_string(RECDIFF_VERSION_MAJOR) + "." + std::to_string(RECDIFF_VERSION_MINOR) +
                               "." + std::to_string(RECDIFF_VERSION_PATCH);
  CHECK(std::string(recdiff::kVersionString) == expected);
}

TEST_CASE("RECDIFF_REQUIRE throws invalid_argument with the streamed message", "[core][error]") {
  const auto fails = [](int rows) { RECDIFF_REQUIRE(rows == 3, "Thing::call(): x has ", rows, " rows"); };
  CHECK_NOTHROW(fails(3));
  CHECK_THROWS_AS(fails(2), std::invalid_argument);
  CHECK_THROWS_WITH(fails(2), "Thing::call(): x has 2 rows");
}

TEST_CASE("DataError names the file and the line", "[core][error]") {
  const recdiff::DataError e("u.data", 17, "expected 4 fields, got 3: '1\t2\t3'");
  CHECK(std::string(e.what()) == "u.data:17: expected 4 fields, got 3: '1\t2\t3'");
  CHECK(e.line() == 17);
  CHECK(std::string(recdiff::DataError("x.npy", 0, "truncated").what()) == "x.npy: truncated");
}
