#ifndef RECDIFF_TESTS_DISTRIBUTED_MPI_CHECK_SUPPORT_HPP
#define RECDIFF_TESTS_DISTRIBUTED_MPI_CHECK_SUPPORT_HPP

// What the MPI check programs (mpi_check.cpp, mpi_sequential_check.cpp) share: the check that counts failures
// and prints them on any rank (passes on the root only), number formatting, and the bit-equality of a buffer
// across ranks. One copy per program (each is its own executable).

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include <recdiff/distributed/communicator.hpp>

namespace mpi_check {

namespace dist = recdiff::distributed;

/// Failed checks of this process so far (main() returns non-zero when any).
inline int failures = 0;

/// Counts a failure; prints "ok" lines on the root and "FAIL" lines on whichever rank failed.
inline void check(bool ok, const std::string& what, dist::Communicator& comm) {
  if (!ok) ++failures;
  if (comm.isRoot() || !ok)
    std::cout << (ok ? "ok   " : "FAIL ") << "[rank " << comm.rank() << "/" << comm.size() << "] " << what << "\n";
}

/// %.3g of x.
inline std::string num(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", x);
  return text;
}

/// True when every rank holds the bits of rank 0's `v`.
template <class T>
bool sameOnEveryRank(std::span<const T> v, dist::Communicator& comm) {
  std::vector<T> root(v.begin(), v.end());
  comm.broadcast(std::span<T>(root), 0);
  std::int64_t same = std::memcmp(root.data(), v.data(), v.size() * sizeof(T)) == 0 ? 1 : 0;
  comm.allreduceSum(std::span<std::int64_t>(&same, 1));
  return same == comm.size();
}

/// The loss-aware sampler of a data-parallel model against the single process's: warmed up, its (t, loss)
/// history and counts the same bits on every rank, the same counts and losses to 1e-4 as one process.
template <class Sampler>
void checkSamplerInSync(const Sampler& dp, const Sampler& reference, dist::Communicator& comm) {
  const auto& hist = dp.lossHistory();
  const auto& counts = dp.counts();
  check(dp.warmedUp(), "the loss-aware sampler warmed up (importance weights ran)", comm);
  check(sameOnEveryRank(std::span<const double>(hist.data(), static_cast<std::size_t>(hist.size())), comm) &&
            sameOnEveryRank(std::span<const int>(counts.data(), static_cast<std::size_t>(counts.size())), comm),
        "sampler (t, loss) history: the same bits on every rank", comm);
  const auto& refHist = reference.lossHistory();
  const double histRel = (hist - refHist).matrix().norm() / refHist.matrix().norm();
  check((counts == reference.counts()).all() && histRel <= 1e-4,
        "sampler history vs one process: same counts, relative " + num(histRel), comm);
}

}  // namespace mpi_check

#endif  // RECDIFF_TESTS_DISTRIBUTED_MPI_CHECK_SUPPORT_HPP
