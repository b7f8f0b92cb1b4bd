#ifndef RECDIFF_DISTRIBUTED_MPI_COMMUNICATOR_HPP
#define RECDIFF_DISTRIBUTED_MPI_COMMUNICATOR_HPP

/// \file distributed/mpi_communicator.hpp
/// The Communicator over MPI (Open MPI 4.1 from Debian: libopenmpi-dev, openmpi-bin; CMake target
/// recdiff::mpi). MpiSession initialises MPI (MPI_THREAD_FUNNELED: OpenMP threads compute, the main thread
/// communicates) and finalises it; MpiCommunicator wraps MPI_COMM_WORLD. launchedByMpirun() tells from the
/// environment whether the process was started by mpirun, so that a binary runs data-parallel under
/// `mpirun -np N` and exactly as before without it.
///
/// Usage:
///   recdiff::distributed::MpiSession session(argc, argv);
///   recdiff::distributed::MpiCommunicator world;
///   world.allreduceSum(std::span<float>(grads.data(), grads.size()));

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../error.hpp"
#include "communicator.hpp"

namespace recdiff::distributed {

/// True when the environment says this process was started by mpirun/mpiexec (Open MPI, MPICH, PMIx).
inline bool launchedByMpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

namespace detail {

inline MPI_Datatype mpiType(ElementType t) {
  switch (t) {
    case ElementType::kFloat: return MPI_FLOAT;
    case ElementType::kDouble: return MPI_DOUBLE;
    case ElementType::kInt32: return MPI_INT32_T;
    case ElementType::kInt64: return MPI_INT64_T;
  }
  return MPI_BYTE;
}

inline std::size_t elementBytes(ElementType t) { return t == ElementType::kFloat || t == ElementType::kInt32 ? 4 : 8; }

inline void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw std::runtime_error(std::string("MPI: ").append(what).append(" failed: ").append(text, static_cast<std::size_t>(length)));
}

template <class T>
void addTyped(void* out, const void* in, std::size_t n) {
  auto* o = static_cast<T*>(out);
  const auto* x = static_cast<const T*>(in);
  for (std::size_t i = 0; i < n; ++i) o[i] += x[i];
}

/// out[i] += in[i], in the element type.
inline void addInto(void* out, const void* in, std::size_t n, ElementType t) {
  switch (t) {
    case ElementType::kFloat: addTyped<float>(out, in, n); break;
    case ElementType::kDouble: addTyped<double>(out, in, n); break;
    case ElementType::kInt32: addTyped<std::int32_t>(out, in, n); break;
    case ElementType::kInt64: addTyped<std::int64_t>(out, in, n); break;
  }
}

}  // namespace detail

/// MPI_Init_thread on construction (unless MPI is already initialised), MPI_Finalize on destruction.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) { init(&argc, &argv); }
  MpiSession() { init(nullptr, nullptr); }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  ~MpiSession() {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (owner_ && !finalised) MPI_Finalize();
  }

 private:
  void init(int* argc, char*** argv) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (initialised) return;
    int provided = 0;
    detail::check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    owner_ = true;
  }
  bool owner_ = false;
};

/// MPI_COMM_WORLD (or a given communicator) as a Communicator. MPI must be initialised (MpiSession). Errors
/// return to the caller as exceptions (MPI_ERRORS_RETURN), so that runOrAbort() can print them and abort.
class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    RECDIFF_REQUIRE(initialised, "MpiCommunicator: MPI is not initialised (construct an MpiSession first)");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }

  int rank() const noexcept override { return rank_; }
  int size() const noexcept override { return size_; }
  void barrier() override { detail::check(MPI_Barrier(comm_), "MPI_Barrier"); }
  /// MPI_Abort after a pause: Open MPI forwards a rank's stderr asynchronously and tears the job down at once,
  /// so without it the message runOrAbort() printed was sometimes lost (seen: 1 run in 8 under load).
  [[noreturn]] void abort(int code) noexcept override {
    std::fflush(stdout);
    std::fflush(stderr);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    MPI_Abort(comm_, code);
    std::exit(code);
  }

 protected:
  void allreduceRaw(void* buffer, std::size_t count, ElementType type, ReduceOrder order) override {
    RECDIFF_REQUIRE(count <= static_cast<std::size_t>(std::numeric_limits<int>::max()),
                    "MpiCommunicator::allreduceSum(): ", count, " elements exceed MPI's int count");
    if (order == ReduceOrder::kMpi) {
      detail::check(MPI_Allreduce(MPI_IN_PLACE, buffer, static_cast<int>(count), detail::mpiType(type), MPI_SUM,
                                  comm_), "MPI_Allreduce");
      return;
    }
    // Fixed order: rank r owns chunk r; every rank sends chunk r to rank r (alltoallv), r sums the N pieces
    // in rank order, then every rank gathers all chunks (allgatherv). 2(N-1)/N of the buffer in and out, as a
    // ring allreduce, and the arithmetic does not depend on the MPI library's algorithm.
    const std::vector<int> counts = shardCounts(static_cast<Index>(count), size_);
    std::vector<int> displs(static_cast<std::size_t>(size_), 0);
    for (int r = 1; r < size_; ++r)
      displs[static_cast<std::size_t>(r)] = displs[static_cast<std::size_t>(r - 1)] + counts[static_cast<std::size_t>(r - 1)];
    const int mine = counts[static_cast<std::size_t>(rank_)];
    const std::size_t bytes = detail::elementBytes(type);
    pieces_.resize(static_cast<std::size_t>(mine) * static_cast<std::size_t>(size_) * bytes);
    std::vector<int> recvCounts(static_cast<std::size_t>(size_), mine), recvDispls(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r) recvDispls[static_cast<std::size_t>(r)] = r * mine;
    const MPI_Datatype t = detail::mpiType(type);
    detail::check(MPI_Alltoallv(buffer, counts.data(), displs.data(), t, pieces_.data(), recvCounts.data(),
                                recvDispls.data(), t, comm_), "MPI_Alltoallv");
    unsigned char* sum = pieces_.data();  // rank 0's piece, then += rank 1's, 2's, … in order
    for (int r = 1; r < size_; ++r)
      detail::addInto(sum, pieces_.data() + static_cast<std::size_t>(r) * static_cast<std::size_t>(mine) * bytes,
                      static_cast<std::size_t>(mine), type);
    detail::check(MPI_Allgatherv(sum, mine, t, buffer, counts.data(), displs.data(), t, comm_), "MPI_Allgatherv");
  }

  void allgatherRaw(const void* mine, void* all, const int* counts, ElementType type) override {
    std::vector<int> displs(static_cast<std::size_t>(size_), 0);
    for (int r = 1; r < size_; ++r) displs[static_cast<std::size_t>(r)] = displs[static_cast<std::size_t>(r - 1)] + counts[r - 1];
    const MPI_Datatype t = detail::mpiType(type);
    detail::check(MPI_Allgatherv(mine, counts[rank_], t, all, counts, displs.data(), t, comm_), "MPI_Allgatherv");
  }

  void broadcastRaw(void* buffer, std::size_t count, ElementType type, int root) override {
    detail::check(MPI_Bcast(buffer, static_cast<int>(count), detail::mpiType(type), root, comm_), "MPI_Bcast");
  }

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  std::vector<unsigned char> pieces_;
};

}  // namespace recdiff::distributed

#endif  // RECDIFF_DISTRIBUTED_MPI_COMMUNICATOR_HPP
