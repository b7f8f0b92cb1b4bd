#ifndef RECDIFF_DISTRIBUTED_COMMUNICATOR_HPP
#define RECDIFF_DISTRIBUTED_COMMUNICATOR_HPP

/// \file distributed/communicator.hpp
/// The communicator of data-parallel training (docs/distributed.md): rank, size, and the few collectives the
/// training step and the sharded evaluation need, over flat buffers. Two implementations: SingleProcess here
/// (size 1, every collective the identity, no MPI) and MpiCommunicator (mpi_communicator.hpp, target
/// recdiff::mpi). This module sits on top of the library: nothing else in include/ includes it.
///
/// allreduceSum has two orders (ReduceOrder): kFixed sums the ranks' buffers in rank order, so two runs at the
/// same number of processes give the same bits and every rank holds the same bits (a reduce-scatter by
/// alltoall, rank-ordered sums of each chunk, then an allgather: pure data movement around deterministic
/// arithmetic); kMpi is MPI_Allreduce, whose summation order is the library's choice.
///
/// Usage:
///   recdiff::distributed::SingleProcess one;
///   std::vector<float> g(10, 1.0f);
///   one.allreduceSum(std::span<float>(g));   // unchanged: one process
///   std::cout << one.rank() << "/" << one.size();

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"

namespace recdiff::distributed {

/// How allreduceSum adds the ranks' buffers (see the file comment).
enum class ReduceOrder {
  kFixed,  ///< rank-ordered sums: deterministic, the same bits on every rank and in every run at this size
  kMpi,    ///< MPI_Allreduce (MPI_SUM): the library's order
};

/// The element types of the collectives.
enum class ElementType { kFloat, kDouble, kInt32, kInt64 };

template <class T>
constexpr ElementType elementTypeOf() {
  if constexpr (std::is_same_v<T, float>) return ElementType::kFloat;
  else if constexpr (std::is_same_v<T, double>) return ElementType::kDouble;
  else if constexpr (std::is_same_v<T, std::int32_t>) return ElementType::kInt32;
  else {
    static_assert(std::is_same_v<T, std::int64_t> || (std::is_integral_v<T> && sizeof(T) == 8),
                  "distributed: collectives over float, double, int32 or 64-bit integers");
    return ElementType::kInt64;
  }
}

/// A group of processes that train one model together. Not thread-safe: call the collectives from one thread
/// of every rank, in the same order on every rank.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const noexcept = 0;
  virtual int size() const noexcept = 0;
  bool isRoot() const noexcept { return rank() == 0; }

  /// buffer = Σ over ranks of every rank's buffer, in place (the same length on every rank).
  template <class T>
  void allreduceSum(std::span<T> buffer, ReduceOrder order = ReduceOrder::kFixed) {
    if (size() == 1 || buffer.empty()) return;
    const Timer timer(*this, &allreduceSeconds_);
    allreduceRaw(buffer.data(), buffer.size(), elementTypeOf<T>(), order);
  }

  /// all = every rank's `mine`, concatenated in rank order; counts[r] = the length of rank r's (every rank
  /// passes the same counts). all.size() must be their sum.
  template <class T>
  void allgather(std::span<const T> mine, std::span<T> all, std::span<const int> counts) {
    RECDIFF_REQUIRE(static_cast<int>(counts.size()) == size(), "Communicator::allgather(): ", counts.size(),
                    " counts for ", size(), " ranks");
    std::size_t total = 0;
    for (const int c : counts) total += static_cast<std::size_t>(c);
    RECDIFF_REQUIRE(total == all.size() && static_cast<std::size_t>(counts[static_cast<std::size_t>(rank())]) ==
                        mine.size(),
                    "Communicator::allgather(): rank ", rank(), " gives ", mine.size(), " of ", all.size(),
                    " elements, the counts say otherwise");
    if (size() == 1) {
      if (!mine.empty()) std::memcpy(all.data(), mine.data(), mine.size() * sizeof(T));
      return;
    }
    const Timer timer(*this);
    allgatherRaw(mine.data(), all.data(), counts.data(), elementTypeOf<T>());
  }

  /// buffer = root's buffer on every rank (the same length on every rank).
  template <class T>
  void broadcast(std::span<T> buffer, int root = 0) {
    RECDIFF_REQUIRE(root >= 0 && root < size(), "Communicator::broadcast(): root ", root, " of ", size(), " ranks");
    if (size() == 1 || buffer.empty()) return;
    const Timer timer(*this);
    broadcastRaw(buffer.data(), buffer.size(), elementTypeOf<T>(), root);
  }

  /// A string from root to every rank (e.g. a path, a checksum).
  std::string broadcastString(const std::string& s, int root = 0) {
    std::int64_t n = static_cast<std::int64_t>(s.size());
    broadcast(std::span<std::int64_t>(&n, 1), root);
    std::vector<std::int64_t> words(static_cast<std::size_t>((n + 7) / 8), 0);
    if (rank() == root && n > 0) std::memcpy(words.data(), s.data(), s.size());
    broadcast(std::span<std::int64_t>(words), root);
    std::string out(static_cast<std::size_t>(n), '\0');
    if (n > 0) std::memcpy(out.data(), words.data(), out.size());
    return out;
  }

  virtual void barrier() = 0;

  /// Ends every rank's process (MPI_Abort) after an error on this one; single process: std::exit(code).
  [[noreturn]] virtual void abort(int code) noexcept = 0;

  /// Wall seconds spent in the collectives so far (this rank).
  double communicationSeconds() const noexcept { return commSeconds_; }
  /// Wall seconds spent in allreduceSum so far (this rank): training's gradient and loss sums (the evaluations
  /// gather, they do not reduce). Includes waiting for slower ranks.
  double allreduceSeconds() const noexcept { return allreduceSeconds_; }
  /// Collectives called so far (this rank).
  std::int64_t collectives() const noexcept { return collectives_; }

 protected:
  virtual void allreduceRaw(void* buffer, std::size_t count, ElementType type, ReduceOrder order) = 0;
  virtual void allgatherRaw(const void* mine, void* all, const int* counts, ElementType type) = 0;
  virtual void broadcastRaw(void* buffer, std::size_t count, ElementType type, int root) = 0;

 private:
  /// Adds the wall time of one collective to communicationSeconds().
  class Timer {
   public:
    explicit Timer(Communicator& c, double* also = nullptr)
        : c_(&c), also_(also), start_(std::chrono::steady_clock::now()) {}
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;
    ~Timer() {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      c_->commSeconds_ += s;
      if (also_ != nullptr) *also_ += s;
      ++c_->collectives_;
    }

   private:
    Communicator* c_;
    double* also_;
    std::chrono::steady_clock::time_point start_;
  };
  double commSeconds_ = 0.0, allreduceSeconds_ = 0.0;
  std::int64_t collectives_ = 0;
};

/// One process: rank 0 of 1, every collective the identity. What models use when not started under mpirun.
class SingleProcess final : public Communicator {
 public:
  int rank() const noexcept override { return 0; }
  int size() const noexcept override { return 1; }
  void barrier() override {}
  [[noreturn]] void abort(int code) noexcept override { std::exit(code); }

 protected:
  void allreduceRaw(void*, std::size_t, ElementType, ReduceOrder) override {}
  void allgatherRaw(const void*, void*, const int*, ElementType) override {}
  void broadcastRaw(void*, std::size_t, ElementType, int) override {}
};

/// Runs `body` (returning the process's exit code); an exception on any rank is printed as
/// "rank r of N: what" on stderr and ends every rank (Communicator::abort), so that an error on one rank stops
/// the run with its message instead of leaving the others waiting in a collective.
template <class Body>
int runOrAbort(Communicator& comm, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::cerr << "rank " << comm.rank() << " of " << comm.size() << ": " << e.what() << std::endl;
    if (comm.size() > 1) comm.abort(1);
    return 1;
  }
}

/// Every rank's element count for a split of `rows` rows over `ranks` (train::rowShard's sizes) times `width`.
inline std::vector<int> shardCounts(Index rows, int ranks, Index width = 1) {
  RECDIFF_REQUIRE(ranks > 0 && rows >= 0, "distributed::shardCounts(): ", rows, " rows over ", ranks, " ranks");
  std::vector<int> counts(static_cast<std::size_t>(ranks));
  const Index base = rows / ranks, extra = rows % ranks;
  for (int r = 0; r < ranks; ++r)
    counts[static_cast<std::size_t>(r)] = static_cast<int>((base + (r < extra ? 1 : 0)) * width);
  return counts;
}

}  // namespace recdiff::distributed

#endif  // RECDIFF_DISTRIBUTED_COMMUNICATOR_HPP
