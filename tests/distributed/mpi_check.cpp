// The MPI checks of ctest's `mpi` tests (tests/distributed/CMakeLists.txt), run under
// `mpirun --allow-run-as-root --oversubscribe -np N`. Every rank also trains the single-process reference in
// its own process (the models are small), so the comparison needs no files. Exit 0 = every check passed;
// a failed check prints "FAIL" and its numbers.
//
//   mpi_check train [reduce: fixed|mpi]   DiffRec data parallel vs one process: parameters after 100 steps
//                                         (1e-5 relative), the same bits in two runs and on every rank, the
//                                         sampler's history on every rank, sharded evaluation == one process
//   mpi_check next-item                   sharded next-item evaluation == one process's (HR/NDCG, both protocols)
//   mpi_check bad-batch                   rank 1 alone gets a bad batch: every rank must stop with its message
//   mpi_check allreduce-bench [n] [reps]  seconds per allreduce of n floats, fixed order vs MPI_Allreduce

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include <recdiff/distributed/communicator.hpp>
#include <recdiff/distributed/data_parallel.hpp>
#include <recdiff/distributed/evaluation.hpp>
#include <recdiff/distributed/mpi_communicator.hpp>
#include <recdiff/models/diffrec.hpp>
#include <recdiff/models/next_item_evaluation.hpp>

#include "mpi_check_support.hpp"

namespace rd = recdiff;
namespace dist = recdiff::distributed;
using mpi_check::check, mpi_check::failures, mpi_check::num, mpi_check::sameOnEveryRank;

namespace {

/// A random [users × items] interaction matrix with ~25% density, every user at least one item.
rd::data::Interactions randomInteractions(rd::Index users, rd::Index items, std::uint64_t seed) {
  rd::Rng rng(seed);
  std::vector<int> u, i;
  for (rd::Index a = 0; a < users; ++a) {
    u.push_back(static_cast<int>(a));
    i.push_back(static_cast<int>(rng.uniformIndex(items)));
    for (rd::Index b = 0; b < items; ++b)
      if (rng.uniform() < 0.25 && b != i.back()) {
        u.push_back(static_cast<int>(a));
        i.push_back(static_cast<int>(b));
      }
  }
  return rd::data::Interactions::fromTriplets(users, items, u, i);
}

rd::DiffRecOptions smallOptions() {
  rd::DiffRecOptions o;
  o.dims = {24};
  o.timeEmbeddingSize = 4;
  o.steps = 8;
  o.lossHistory = 2;  // the importance sampler takes over within the 100 steps
  o.batchSize = 13;   // 50 users: batches 13, 13, 13, 11 (uneven shards at 2 and 3 ranks)
  o.learningRate = 2e-3;
  return o;
}

constexpr rd::Index kUsers = 50, kItems = 30;
const rd::FitOptions kFit{.epochs = 25, .seed = 7};  // 25 epochs x 4 batches = 100 steps

/// ||a - b|| / ||b||.
double relative(const Eigen::VectorXf& a, const Eigen::VectorXf& b) {
  return static_cast<double>((a - b).norm()) / static_cast<double>(b.norm());
}

int trainCheck(dist::Communicator& comm, dist::ReduceOrder order) {
  const auto train = randomInteractions(kUsers, kItems, 11);
  const auto valid = randomInteractions(kUsers, kItems, 12);
  const auto test = randomInteractions(kUsers, kItems, 13);
  const rd::DiffRecOptions o = smallOptions();

  rd::DiffRec<> reference(o, kItems, 3);
  const rd::TrainResult refResult = reference.fit(train, kFit);

  rd::DiffRec<> dp(o, kItems, 3);
  dist::makeDataParallel(dp, comm, order);
  const rd::TrainResult dpResult = dp.fit(train, kFit);
  const Eigen::VectorXf& p = dp.model().parameters().values();
  const Eigen::VectorXf& q = reference.model().parameters().values();

  const rd::Index steps = static_cast<rd::Index>(dpResult.history.size()) * dpResult.history.back().batches;
  check(steps == 100 && !dpResult.diverged && !refResult.diverged, "100 steps, finite: " + std::to_string(steps), comm);
  const double rel = relative(p, q);
  const double maxAbs = static_cast<double>((p - q).cwiseAbs().maxCoeff());
  check(rel <= 1e-5, "parameters after 100 steps vs one process: relative " + num(rel) +
                         ", max |diff| " + num(maxAbs), comm);
  check((p - q).norm() > 0.0f || comm.size() == 1, "the shards really ran (parameters not bit-equal by accident)", comm);
  const double lossRel = std::abs(dpResult.last().meanLoss - refResult.last().meanLoss) /
                         std::abs(refResult.last().meanLoss);
  check(lossRel <= 1e-4, "last epoch's mean loss vs one process: relative " + num(lossRel), comm);
  check(sameOnEveryRank(std::span<const float>(p.data(), static_cast<std::size_t>(p.size())), comm),
        "parameters: the same bits on every rank", comm);

  mpi_check::checkSamplerInSync(dp.timestepSampler(), reference.timestepSampler(), comm);

  if (order == dist::ReduceOrder::kFixed) {
    rd::DiffRec<> again(o, kItems, 3);
    dist::makeDataParallel(again, comm, order);
    (void)again.fit(train, kFit);
    check(again.model().parameters().values() == p, "fixed-order reduction: a second run gives the same bits", comm);
  }

  const std::vector<rd::Index> ks = {5, 10};
  rd::Rng evalRng(5);
  const auto single = rd::metrics::evaluateSplits(dp, train, valid, test, ks, evalRng, {.batch = 7});
  rd::Rng shardRng(5);
  const auto sharded = dist::evaluateSplits(dp, comm, train, valid, test, ks, shardRng, {.batch = 7});
  bool same = single.entries().size() == sharded.entries().size();
  for (const auto& [key, value] : single.entries()) same = same && sharded.at(key) == value;
  check(same, "sharded evaluation == one process's, every metric (" + std::to_string(single.entries().size()) +
                  " entries, test.recall@10 " + num(sharded.at("test.recall@10")) + ")", comm);
  rd::Rng refRng(5);
  const auto refTable = rd::metrics::evaluateSplits(reference, train, valid, test, ks, refRng, {.batch = 7});
  double worst = 0.0;
  for (const auto& [key, value] : refTable.entries()) worst = std::max(worst, std::abs(sharded.at(key) - value));
  check(worst <= 1e-4, "final metrics vs the single-process model: max |diff| " + num(worst), comm);
  if (comm.isRoot())
    std::cout << "communication: " << comm.communicationSeconds() << " s in " << comm.collectives()
              << " collectives on rank 0\n";
  return failures == 0 ? 0 : 1;
}

/// Sharded evaluateNextItem against the single-process one, with a deterministic scorer of the histories
/// (item scores from a hash of the history and the column) and 37 samples in batches of 5 (8 batches).
int nextItemCheck(dist::Communicator& comm) {
  std::vector<std::vector<int>> lists;
  rd::Rng rng(21);
  for (int u = 0; u < 37; ++u) {
    std::vector<int> seq;
    const rd::Index length = 2 + rng.uniformIndex(8);
    for (rd::Index j = 0; j < length; ++j) seq.push_back(1 + static_cast<int>(rng.uniformIndex(25)));
    lists.push_back(seq);
  }
  const auto seqs = rd::data::Sequences::fromLists(lists);
  const auto samples = rd::data::lastSamples(seqs);
  const std::vector<rd::Index> ks = {1, 5, 10};
  const rd::Index columns = 26;
  const auto scorer = [&](const rd::data::HistoryBatch& b, rd::RowMatrix<float>& scores) {
    scores.resize(b.history.rows(), columns);
    for (rd::Index r = 0; r < b.history.rows(); ++r) {
      const std::uint64_t h = static_cast<std::uint64_t>(b.history.row(r).sum()) * 0x9E3779B97F4A7C15ull;
      for (rd::Index c = 0; c < columns; ++c)
        scores(r, c) = static_cast<float>((h >> (c % 48)) % 1000) + 0.001f * static_cast<float>(c);
    }
  };
  for (const rd::NextItemProtocol protocol : {rd::NextItemProtocol{.batchSize = 5}, rd::NextItemProtocol::reference(5)}) {
    const rd::data::PaddingOptions padding{.maxLen = 6};
    const auto single = rd::evaluateNextItem(seqs, samples, ks, protocol, padding, columns, scorer);
    const auto sharded = dist::evaluateNextItem(comm, seqs, samples, ks, protocol, padding, columns, scorer);
    check(single.hitRate == sharded.hitRate && single.ndcg == sharded.ndcg && single.rows == sharded.rows,
          std::string("sharded next-item evaluation == one process's, bit for bit (") +
              (protocol.maskHistory ? "masked" : "reference") + " protocol, HR@10 " + num(sharded.hitRate[2]) + ")",
          comm);
  }
  return failures == 0 ? 0 : 1;
}

/// Rank 1 alone steps on a batch with the wrong number of columns: it throws, runOrAbort prints its message
/// and aborts every rank, which would otherwise wait in the gradient allreduce forever.
int badBatch(dist::Communicator& comm) {
  const auto train = randomInteractions(kUsers, kItems, 11);
  rd::DiffRec<> dp(smallOptions(), kItems, 3);
  dist::makeDataParallel(dp, comm);
  rd::RowMatrix<float> batch = rd::RowMatrix<float>::Ones(13, comm.rank() == 1 ? kItems + 1 : kItems);
  rd::Rng rng(1);
  const rd::StepResult r = dp.trainer().step(batch, rd::NoCondition{}, rng);
  std::cout << "rank " << comm.rank() << " stepped (loss " << r.loss << ") — it should have been aborted\n";
  comm.barrier();
  return 0;
}

int allreduceBench(dist::Communicator& comm, std::size_t n, int reps) {
  std::vector<float> buffer(n, 1.0f);
  for (const auto order : {dist::ReduceOrder::kFixed, dist::ReduceOrder::kMpi}) {
    comm.allreduceSum(std::span<float>(buffer), order);  // warm-up
    comm.barrier();
    const double before = comm.communicationSeconds();
    for (int i = 0; i < reps; ++i) comm.allreduceSum(std::span<float>(buffer), order);
    const double seconds = (comm.communicationSeconds() - before) / reps;
    if (comm.isRoot())
      std::cout << (order == dist::ReduceOrder::kFixed ? "fixed-order" : "MPI_Allreduce") << ": " << n
                << " floats, " << comm.size() << " ranks: " << seconds * 1e3 << " ms per allreduce\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  dist::MpiSession session(argc, argv);
  dist::MpiCommunicator world;
  const std::string mode = argc > 1 ? argv[1] : "train";
  return dist::runOrAbort(world, [&] {
    if (mode == "train") {
      const bool mpi = argc > 2 && std::string(argv[2]) == "mpi";
      return trainCheck(world, mpi ? dist::ReduceOrder::kMpi : dist::ReduceOrder::kFixed);
    }
    if (mode == "next-item") return nextItemCheck(world);
    if (mode == "bad-batch") return badBatch(world);
    if (mode == "allreduce-bench")
      return allreduceBench(world, argc > 2 ? std::stoul(argv[2]) : 3620000, argc > 3 ? std::stoi(argv[3]) : 20);
    throw std::invalid_argument("mpi_check: unknown mode '" + mode + "' (train, next-item, bad-batch, allreduce-bench)");
  });
}
