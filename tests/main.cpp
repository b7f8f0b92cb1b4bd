// The shared Catch2 runner: prints the library, Eigen and compiler versions and the seed, and makes the
// seed (Catch's --rng-seed, default 20261125) available to every test through recdiff::test::seed().
#define CATCH_CONFIG_RUNNER
#include <iostream>

#include <recdiff/config.hpp>

#include "support/catch.hpp"
#include "support/test_env.hpp"

namespace recdiff::test {
namespace {
std::uint64_t gSeed = 20261125;
}
std::uint64_t seed() { return gSeed; }
std::filesystem::path sourceDir() { return std::filesystem::path(RECDIFF_TEST_SOURCE_DIR); }

std::filesystem::path goldenDir() {
  if (const char* env = std::getenv("RECDIFF_GOLDEN_DIR"); env != nullptr && *env != '\0') return env;
  return std::filesystem::path(RECDIFF_TEST_SOURCE_DIR) / "tests" / "golden";
}
}  // namespace recdiff::test

int main(int argc, char* argv[]) {
  Catch::Session session;
  session.configData().rngSeed = 20261125;
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  recdiff::test::gSeed = session.configData().rngSeed;
  const bool listing = session.configData().listTests || session.configData().listTestNamesOnly ||
                       session.configData().listTags || session.configData().listReporters;
  if (!listing) {
    std::cout << "recdiff " << recdiff::kVersionString << ", Eigen " << EIGEN_WORLD_VERSION << '.'
              << EIGEN_MAJOR_VERSION << '.' << EIGEN_MINOR_VERSION << ", compiler " << __VERSION__
              << ", simd " << (RECDIFF_NO_SIMD ? "off" : "on") << ", seed " << recdiff::test::gSeed << '\n';
  }
  return session.run();
}
