// Tests for include/recdiff/parallel.hpp: parallelFor (static and dynamic) and parallelForWithState visit every
// index once, the latter with one state per thread, and ScopedThreadLimit caps and restores the thread count.
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

TEST_CASE("parallelForWithState builds one state per thread and visits every index once", "[core][parallel]") {
  for (const recdiff::LoopSchedule schedule : {recdiff::LoopSchedule{}, recdiff::LoopSchedule::dynamic(7)}) {
    for (const bool worthIt : {false, true}) {
      CAPTURE(schedule.chunk, worthIt);
      std::vector<int> seen(1000, 0);
      std::vector<int> owner(1000, -1);
      int states = 0;  // states built (under a lock-free counter: each thread builds its own once)
      struct State {
        int id;
        int visits = 0;
      };
      recdiff::parallelForWithState(1000, worthIt, schedule, [&] {
        int id = 0;
#if RECDIFF_HAS_OPENMP
#pragma omp atomic capture
#endif
        id = states++;
        return State{id};
      }, [&](State& st, recdiff::Index i) {
        ++st.visits;
        ++seen[static_cast<std::size_t>(i)];
        owner[static_cast<std::size_t>(i)] = st.id;
      });
      for (const int v : seen) REQUIRE(v == 1);
      CHECK(states >= 1);
      CHECK(states <= static_cast<int>(recdiff::threadSlots()));
      if (!worthIt) CHECK(states == 1);
      for (const int o : owner) REQUIRE((o >= 0 && o < states));
    }
  }
  std::vector<int> seen(10, 0);
  recdiff::parallelFor(10, true, recdiff::LoopSchedule::dynamic(3), [&](recdiff::Index i) { ++seen[static_cast<std::size_t>(i)]; });
  for (const int v : seen) CHECK(v == 1);
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
