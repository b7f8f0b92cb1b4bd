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
//   return world.main("diffrec_movielens", [&] { return run(c, world); });   // an error on one rank stops all
//
// Also here: the rows a rank trained (rankRows, for the report's per-rank throughput) and next-item evaluation
// with the batches sharded over the ranks (nextItem: a scorer that can start at a row, CachedScorer).

#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <recdiff/distributed/communicator.hpp>
#include <recdiff/distributed/evaluation.hpp>
#include <recdiff/train/training_state.hpp>
#if defined(RECDIFF_HAS_MPI)
#include <recdiff/distributed/mpi_communicator.hpp>
#endif

namespace recdiff::examples {

/// This rank's training rows of a run: `shardRows(n)` of every applied batch of n rows (batches of batchSize, the
/// last of an epoch possibly shorter).
inline Index rankRows(const TrainResult& r, Index batchSize, const std::function<Index(Index)>& shardRows) {
  Index rows = 0;
  for (const EpochResult& e : r.history) {
    if (e.batches == 0) continue;
    rows += (e.batches - 1) * shardRows(batchSize) + shardRows(e.samples - (e.batches - 1) * batchSize);
  }
  return rows;
}

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

  /// False (with a message) when --resume is given under mpirun: every rank would read and write the one state
  /// file (not supported yet).
  bool allowsResume(const char* name, const std::string& resume) const {
    if (size() == 1 || resume.empty()) return true;
    std::cerr << name << ": --resume does not run under mpirun yet (issue 22 + 19)\n";
    return false;
  }

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

  /// A training example's main body: under mpirun run(body); alone, body() with an interrupted run's exit code
  /// (train::TrainingInterrupted) and any other error printed as "name: what" (exit 1).
  template <class Body>
  int main(const char* name, Body&& body) {
    if (size() > 1) return run(body);
    try {
      return body();
    } catch (const train::TrainingInterrupted& e) {
      std::cerr << name << ": " << e.what() << "\n";
      return train::kInterruptedExitCode;
    } catch (const std::exception& e) {
      std::cerr << name << ": " << e.what() << "\n";
      return 1;
    }
  }

  /// next-item evaluation (evaluateNextItem's arguments) with the scoring batches sharded over the ranks: the
  /// scorer first skips to this rank's first row (scorer.startAt(row), which must make it score a batch at a
  /// row as the single process does there). Every rank returns the same metrics; one process: the plain call.
  template <class Scorer>
  metrics::LabelMetrics nextItem(const data::Sequences& seqs, const data::SequenceSamples& samples,
                                 std::span<const Index> ks, const NextItemProtocol& protocol,
                                 const data::PaddingOptions& padding, Index columns, Scorer& scorer) {
    if (size() == 1) return evaluateNextItem(seqs, samples, ks, protocol, padding, columns, scorer);
    const Index batches = (samples.size() + protocol.batchSize - 1) / protocol.batchSize;
    scorer.startAt(distributed::firstBatchOf(batches, comm_->rank(), size()) * protocol.batchSize);
    return distributed::evaluateNextItem(*comm_, seqs, samples, ks, protocol, padding, columns, scorer);
  }

  /// The report's distributed entries (addToReport below) from a run: this rank's rows by rankRows(), its
  /// training seconds the epochs' sum. A collective: every rank must call it.
  void addRunToReport(nlohmann::json& j, const TrainResult& r, Index batchSize,
                      const std::function<Index(Index)>& shardRows) {
    if (size() == 1) return;
    double trainSeconds = 0.0;
    for (const EpochResult& e : r.history) trainSeconds += e.seconds;
    addToReport(j, static_cast<double>(rankRows(r, batchSize, shardRows)), trainSeconds);
  }

  /// The report's distributed entries: world_size, and per rank its training rows per second, its seconds in
  /// communication (every collective, the evaluations' gathers too) and in allreduce (training's gradient sums,
  /// including waiting for the slower rank), the allreduce share of its training seconds (a collective: every
  /// rank must call it).
  void addToReport(nlohmann::json& j, double rankRows, double trainSeconds) {
    const int n = size();
    constexpr int kFields = 4;
    std::vector<double> mine = {trainSeconds > 0 ? rankRows / trainSeconds : 0.0, comm_->communicationSeconds(),
                                comm_->allreduceSeconds(), trainSeconds};
    std::vector<double> all(static_cast<std::size_t>(kFields * n));
    const std::vector<int> counts(static_cast<std::size_t>(n), kFields);
    comm_->allgather(std::span<const double>(mine), std::span<double>(all), std::span<const int>(counts));
    nlohmann::json ranks = nlohmann::json::array();
    for (int r = 0; r < n; ++r) {
      const double* v = all.data() + kFields * r;
      ranks.push_back({{"rank", r}, {"train_samples_per_second", v[0]}, {"communication_seconds", v[1]},
                       {"allreduce_seconds", v[2]}, {"train_seconds", v[3]},
                       {"communication_share", v[3] > 0 ? v[2] / v[3] : 0.0}});
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
