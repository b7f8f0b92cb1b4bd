#ifndef RECDIFF_EXAMPLES_COMMON_DISTRIBUTED_HPP
#define RECDIFF_EXAMPLES_COMMON_DISTRIBUTED_HPP
// Shared by the training examples: data-parallel runs under `mpirun -np N` (docs/distributed.md). World
// detects mpirun from the environment (distributed::launchedByMpirun) and then initialises MPI; without
// mpirun (or in a build without MPI) it is one process and nothing changes. On ranks other than 0 the run's
// file outputs (--save, --log, --report) and the progress bar are switched off and stdout goes to /dev/null:
// rank 0 alone writes and prints; errors still reach stderr from every rank.
//
//   ex::World world(argc, argv);
//   world.quietUnlessRoot(c.save, c.loop.log, c.report, c.loop.progress);
//   return world.run([&] { return run(c, world.comm()); });   // an error on one rank stops all of them

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <recdiff/distributed/communicator.hpp>
#if defined(RECDIFF_HAS_MPI)
#include <recdiff/distributed/mpi_communicator.hpp>
#endif

namespace recdiff::examples {

class World {
 public:
  World(int& argc, char**& argv) {
#if defined(RECDIFF_HAS_MPI)
    if (distributed::launchedByMpirun()) {
      session_.emplace(argc, argv);
      comm_ = std::make_unique<distributed::MpiCommunicator>();
      return;
    }
#else
    (void)argc;
    (void)argv;
#endif
    comm_ = std::make_unique<distributed::SingleProcess>();
  }

  distributed::Communicator& comm() noexcept { return *comm_; }
  int size() const noexcept { return comm_->size(); }
  bool isRoot() const noexcept { return comm_->isRoot(); }

  /// Rank 0 alone writes files and prints (see the file comment).
  void quietUnlessRoot(std::string& save, std::string& log, std::string& report, bool& progress) {
    if (isRoot()) return;
    save.clear();
    log.clear();
    report.clear();
    progress = false;
    if (std::freopen("/dev/null", "w", stdout) == nullptr) std::fprintf(stderr, "rank %d: stdout stays open\n", comm_->rank());
  }

  /// body() with distributed::runOrAbort: an exception on any rank is printed with the rank and ends all.
  template <class Body>
  int run(Body&& body) {
    return distributed::runOrAbort(*comm_, body);
  }

  /// The report's distributed entries: world_size, and per rank its training rows per second and its seconds
  /// in communication (a collective: every rank must call it).
  void addToReport(nlohmann::json& j, double rankRows, double trainSeconds) {
    const int n = size();
    std::vector<double> mine = {trainSeconds > 0 ? rankRows / trainSeconds : 0.0, comm_->communicationSeconds(),
                                trainSeconds};
    std::vector<double> all(static_cast<std::size_t>(3 * n));
    const std::vector<int> counts(static_cast<std::size_t>(n), 3);
    comm_->allgather(std::span<const double>(mine), std::span<double>(all), std::span<const int>(counts));
    nlohmann::json ranks = nlohmann::json::array();
    for (int r = 0; r < n; ++r) {
      const double* v = all.data() + 3 * r;
      ranks.push_back({{"rank", r}, {"train_samples_per_second", v[0]}, {"communication_seconds", v[1]},
                       {"train_seconds", v[2]}, {"communication_share", v[2] > 0 ? v[1] / v[2] : 0.0}});
    }
    j["world_size"] = n;
    j["ranks"] = ranks;
  }

 private:
#if defined(RECDIFF_HAS_MPI)
  std::optional<distributed::MpiSession> session_;
#endif
  std::unique_ptr<distributed::Communicator> comm_;
};

}  // namespace recdiff::examples

#endif  // RECDIFF_EXAMPLES_COMMON_DISTRIBUTED_HPP
