#ifndef RECDIFF_TESTS_SUPPORT_TEST_ENV_HPP
#define RECDIFF_TESTS_SUPPORT_TEST_ENV_HPP
// Where tests find their seed, the golden files and the (never committed) data mirror.

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include <Eigen/Core>
#include <recdiff/config.hpp>

namespace recdiff::test {

/// The run's seed (Catch's --rng-seed; printed at start-up).
std::uint64_t seed();

/// Folder of the golden files: $RECDIFF_GOLDEN_DIR, else this tree's tests/golden. Defined in main.cpp, the
/// one translation unit that knows the source tree's path (so no other test object depends on where the tree
/// is, and a build in another clone can reuse them from a compiler cache).
std::filesystem::path goldenDir();

/// The root of this source tree (RECDIFF_TEST_SOURCE_DIR, known to main.cpp only), for tests that read the
/// headers themselves (tests/models/usage_snippets_test.cpp).
std::filesystem::path sourceDir();

/// Root of the local data mirror laid out like ../shared/data (movielens/, diffrec/, diffurec/):
/// $RECDIFF_TEST_DATA, else the parent of $RECDIFF_DATA_MIRROR (which names data/movielens), else none.
/// Tests that need it SKIP with a message when it is absent (CI sets it).
inline std::optional<std::filesystem::path> dataRoot() {
  if (const char* env = std::getenv("RECDIFF_TEST_DATA"); env != nullptr && *env != '\0') return std::filesystem::path(env);
  if (const char* env = std::getenv("RECDIFF_DATA_MIRROR"); env != nullptr && *env != '\0')
  {
    std::filesystem::path mirror = std::filesystem::path(env).lexically_normal();
    if (!mirror.has_filename()) mirror = mirror.parent_path();  // "…/movielens/" -> "…/movielens"
    return mirror.parent_path();
  }
  return std::nullopt;
}

}  // namespace recdiff::test

#endif
