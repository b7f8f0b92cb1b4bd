// Tests for include/recdiff/parallel.hpp: parallelFor visits every index once, and ScopedThreadLimit caps and
// restores the thread count.
#include <recdiff/parallel.hpp>

#include <vector>

#include "support/catch.hpp"

#if RECDIFF_HAS_OPENMP
#include <omp.h>
#endif

TEST_CASE("parallelFor visits every index exactly once", "[core][parallel]") {
  for (const bool worthIt : {false, true}) {
    std::vector<int> seen(1000, 0);
    recdiff::parallelFor(1000, worthIt, [&](recdiff::Index i) { ++seen[static_cast<std::size_t>(i)]; });
    for (const int s : seen) REQUIRE(s == 1);
  }
}

#if RECDIFF_HAS_OPENMP
TEST_CASE("ScopedThreadLimit caps the threads of parallel regions and restores them", "[core][parallel]") {
  const int before = omp_get_max_threads();
  omp_set_num_threads(2);
  {
    const recdiff::ScopedThreadLimit limit(1);
    CHECK(omp_get_max_threads() == 1);
    CHECK(recdiff::availableThreads() == 1);
    int team = 0;
#pragma omp parallel
    {
#pragma omp single
      team = omp_get_num_threads();
    }
    CHECK(team == 1);
    {
      const recdiff::ScopedThreadLimit inner(4);  // above the current setting: no change, nothing restored
      CHECK(omp_get_max_threads() == 1);
    }
    CHECK(omp_get_max_threads() == 1);
  }
  CHECK(omp_get_max_threads() == 2);
  {
    const recdiff::ScopedThreadLimit none(0);  // 0: no limit
    CHECK(omp_get_max_threads() == 2);
  }
  CHECK(omp_get_max_threads() == 2);
  omp_set_num_threads(before);
}
#endif
