#ifndef RECDIFF_PARALLEL_HPP
#define RECDIFF_PARALLEL_HPP

/// \file parallel.hpp
/// A parallel loop that does not enter an OpenMP region unless it will run on more than one thread.
///
/// Why: libgomp allocates a team for every parallel region it enters, and frees teams of one thread at the end
/// of the region (larger teams are cached). So `#pragma omp parallel for if (false)`, or any region when only
/// one thread is available, costs a malloc and a free per call — which made the training loop allocate three
/// times per batch (tests/alloc). parallelFor() runs the plain loop in those cases.
///
/// Usage:
///   recdiff::parallelFor(chunks, chunks > 4, [&](Index c) { process(c); });
///   recdiff::parallelForWithState(rows, true, recdiff::LoopSchedule::dynamic(16),
///       [] { return std::vector<int>(); },                         // per-thread scratch
///       [&](std::vector<int>& scratch, Index r) { processRow(r, scratch); });
///
/// This is the one file of the library with `#pragma omp`: every parallel loop goes through these helpers.

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "config.hpp"
#include "types.hpp"

#if RECDIFF_HAS_OPENMP
#include <omp.h>
#endif

namespace recdiff {

/// Threads a parallel loop would use now: 1 inside a parallel region or without OpenMP.
inline int availableThreads() noexcept {
#if RECDIFF_HAS_OPENMP
  return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
  return 1;
#endif
}

/// This thread's number in the current OpenMP team: 0 outside a parallel region or without OpenMP.
inline int threadNumber() noexcept {
#if RECDIFF_HAS_OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/// Slots a per-thread scratch array needs for the parallelFor() loops started here, indexed by threadNumber():
/// the thread limit, or more when called inside a caller's parallel region (data-parallel replicas), where
/// the loops run serially on a thread whose number may exceed the nested thread limit.
inline std::size_t threadSlots() noexcept {
#if RECDIFF_HAS_OPENMP
  return static_cast<std::size_t>(std::max(omp_get_max_threads(), omp_get_thread_num() + 1));
#else
  return 1;
#endif
}

/// f(part, parts) once on each thread of one OpenMP region of `threads` threads (parts = the team's size);
/// f(0, 1) on this thread when threads <= 1 or without OpenMP. For work split by hand into contiguous parts
/// (row blocks of a product), where a parallelFor over the parts would add a loop for nothing.
template <class F>
void parallelParts(int threads, F&& f) {
#if RECDIFF_HAS_OPENMP
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    f(static_cast<Index>(omp_get_thread_num()), static_cast<Index>(omp_get_num_threads()));
    return;
  }
#else
  (void)threads;
#endif
  f(Index{0}, Index{1});
}

/// body(i) for i in [0, n): statically scheduled over the OpenMP threads when `worthIt`, n > 1 and more than
/// one thread is available; otherwise a plain loop on this thread.
template <class F>
void parallelFor(Index n, bool worthIt, F&& body) {
#if RECDIFF_HAS_OPENMP
  if (worthIt && n > 1 && availableThreads() > 1) {
#pragma omp parallel for schedule(static)
    for (Index i = 0; i < n; ++i) body(i);
    return;
  }
#else
  (void)worthIt;
#endif
  for (Index i = 0; i < n; ++i) body(i);
}

/// How a parallel loop hands out its iterations (OpenMP's schedule clause): static contiguous blocks, or
/// dynamic chunks of `chunk` iterations for uneven work. Every iteration runs exactly once under either, so a
/// loop whose iterations write disjoint results gives the same bits under both and at any thread count.
struct LoopSchedule {
  Index chunk = 0;  ///< 0: schedule(static); > 0: schedule(dynamic, chunk)
  static constexpr LoopSchedule dynamic(Index chunk) noexcept { return LoopSchedule{chunk}; }
};

/// body(state, i) for i in [0, n) with per-thread state: `auto state = makeState()` once on every thread of
/// the team (once on this thread when the loop runs serially), for scratch buffers that a body reuses across
/// its iterations. Parallel under the same conditions as parallelFor(), iterations handed out as `schedule`
/// says. Results must not depend on which thread ran an iteration (no cross-iteration reductions in state).
template <class MakeState, class F>
void parallelForWithState(Index n, bool worthIt, LoopSchedule schedule, MakeState&& makeState, F&& body) {
#if RECDIFF_HAS_OPENMP
  if (worthIt && n > 1 && availableThreads() > 1) {
    const Index chunk = schedule.chunk;
#pragma omp parallel
    {
      auto state = makeState();
      if (chunk > 0) {
#pragma omp for schedule(dynamic, chunk)
        for (Index i = 0; i < n; ++i) body(state, i);
      } else {
#pragma omp for schedule(static)
        for (Index i = 0; i < n; ++i) body(state, i);
      }
    }
    return;
  }
#else
  (void)worthIt;
  (void)schedule;
#endif
  auto state = makeState();
  for (Index i = 0; i < n; ++i) body(state, i);
}

/// parallelFor() with the iterations handed out as `schedule` says (e.g. LoopSchedule::dynamic(16) for rows of
/// uneven cost).
template <class F>
void parallelFor(Index n, bool worthIt, LoopSchedule schedule, F&& body) {
  struct NoState {};
  parallelForWithState(n, worthIt, schedule, [] { return NoState{}; }, [&body](NoState&, Index i) { body(i); });
}

/// Caps the threads of the parallel regions this thread starts while the object lives (omp_set_num_threads),
/// and restores the previous setting afterwards; a limit <= 0, or above the current setting, changes nothing.
/// For work whose parallel regions are too small to pay for their fork and join.
class ScopedThreadLimit {
 public:
  explicit ScopedThreadLimit(int limit) noexcept {
#if RECDIFF_HAS_OPENMP
    const int current = omp_get_max_threads();
    if (limit > 0 && limit < current) {
      previous_ = current;
      omp_set_num_threads(limit);
    }
#else
    (void)limit;
#endif
  }
  ~ScopedThreadLimit() {
#if RECDIFF_HAS_OPENMP
    if (previous_ > 0) omp_set_num_threads(previous_);
#endif
  }
  ScopedThreadLimit(const ScopedThreadLimit&) = delete;
  ScopedThreadLimit& operator=(const ScopedThreadLimit&) = delete;

 private:
  int previous_ = 0;  // 0: nothing to restore
};

}  // namespace recdiff

#endif  // RECDIFF_PARALLEL_HPP
