// The MPI checks of DiffuRec and DreamRec data parallel (ctest's `mpi` tests, tests/CMakeLists.txt), run under
// `mpirun --allow-run-as-root --oversubscribe -np N`. As mpi_check.cpp: every rank also trains the
// single-process reference in its own process, so nothing is read or written. Exit 0 = every check passed.
//
//   mpi_sequential_check diffurec   ~100 steps (batches of 27 in tiles of 7: uneven tile shards, a last batch
//                                   of 2 tiles that leaves a third rank idle), loss-aware timesteps: parameters
//                                   within 1e-5 relative of one process, the same bits twice and on every rank,
//                                   the sampler's history the same on every rank and as one process's, sharded
//                                   next-item evaluation == one process's, bit for bit
//   mpi_sequential_check dreamrec   8 epochs x 12 batches of row shards (batches of 13: uneven), dropout and null mask:
//                                   the same checks without a sampler

#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include <recdiff/distributed/data_parallel.hpp>
#include <recdiff/distributed/evaluation.hpp>
#include <recdiff/distributed/mpi_communicator.hpp>
#include <recdiff/models/diffurec.hpp>
#include <recdiff/models/dreamrec.hpp>

#include "mpi_check_support.hpp"

namespace rd = recdiff;
namespace dist = recdiff::distributed;
using mpi_check::check, mpi_check::failures, mpi_check::num, mpi_check::sameOnEveryRank;

namespace {

/// 36 users, 4 … 11 items each out of 30, random.
rd::data::Sequences randomSequences(std::uint64_t seed) {
  rd::Rng rng(seed);
  std::vector<std::vector<int>> lists;
  for (int u = 0; u < 36; ++u) {
    std::vector<int> seq;
    const rd::Index length = 4 + rng.uniformIndex(8);
    for (rd::Index j = 0; j < length; ++j) seq.push_back(1 + static_cast<int>(rng.uniformIndex(30)));
    lists.push_back(seq);
  }
  return rd::data::Sequences::fromLists(lists);
}
constexpr rd::Index kItems = 30;

/// [offset, count) of the key third of every attention's qkv bias in the flat parameter buffer.
template <class Model>
std::vector<std::pair<rd::Index, rd::Index>> keyBias(Model& m) {
  std::vector<std::pair<rd::Index, rd::Index>> out;
  if constexpr (requires { m.approximator(); }) {
    const std::string suffix = "attention.qkv.bias";
    rd::Index at = 0;
    for (const auto& shape : m.approximator().parameterShapes()) {
      const std::string& n = shape.name;
      if (n.size() >= suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
        out.push_back({at + shape.size() / 3, shape.size() / 3});
      at += shape.size();
    }
  }
  return out;
}

/// The checks every model shares: training, parameters, bits, evaluation. `steps` = the data-parallel run's
/// steps, `extra(dp, reference)` the model's own checks.
template <class Model, class Options, class Params, class Extra>
int checkModel(dist::Communicator& comm, const Options& o, rd::Index epochs, Params params, Extra extra) {
  const auto shapes = [](Model& m) {
    if constexpr (requires { m.parameterShapes(); }) return m.parameterShapes();
    else return m.approximator().parameterShapes();
  };
  const rd::data::Sequences full = randomSequences(31);
  const rd::data::SequenceSplit split = rd::data::leaveLastOut(full);
  const rd::data::SequenceSamples samples = rd::data::prefixSamples(split.train);
  const rd::FitOptions fit{.epochs = epochs, .seed = 9};

  Model reference(o, kItems, 4);
  const rd::TrainResult refResult = reference.fit(split.train, samples, fit);
  Model dp(o, kItems, 4);
  dist::makeDataParallel(dp, comm);
  const std::int64_t collectivesBefore = comm.collectives();
  const rd::TrainResult dpResult = dp.fit(split.train, samples, fit);
  const std::int64_t collectives = comm.collectives() - collectivesBefore;
  const Eigen::VectorXf& p = params(dp);
  const Eigen::VectorXf& q = params(reference);
  // The attention's key bias carries no gradient (softmax(q·(k + b)) = softmax(q·k): a shift of every score);
  // its gradient is rounding noise, which Adam normalises into lr-sized steps that depend on the summation
  // order. Those entries are compared apart from the others (keyBiasCheck in the DiffuRec check).
  Eigen::VectorXf keep = Eigen::VectorXf::Ones(p.size());
  for (const auto& [at, count] : keyBias(dp)) keep.segment(at, count).setZero();
  const Eigen::VectorXf pk = p.cwiseProduct(keep), qk = q.cwiseProduct(keep);

  rd::Index steps = 0;
  for (const auto& e : dpResult.history) steps += e.batches;
  check(steps >= 90 && !dpResult.diverged && !refResult.diverged,
        std::to_string(samples.size()) + " samples: " + std::to_string(steps) + " steps, finite", comm);
  const double rel = static_cast<double>((pk - qk).norm()) / static_cast<double>(qk.norm());
  check(rel <= 1e-5, "parameters after " + std::to_string(steps) + " steps vs one process: relative " + num(rel) +
                         ", max |diff| " + num(static_cast<double>((pk - qk).cwiseAbs().maxCoeff())) + " (" +
                         std::to_string(p.size() - static_cast<rd::Index>(keep.sum())) + " key-bias entries apart)",
        comm);
  if (rel > 1e-5 && comm.isRoot()) {  // where the parameters part: the worst tensors
    rd::Index at = 0;
    for (const auto& shape : shapes(dp)) {
      const auto d = (pk - qk).segment(at, shape.size());
      std::cout << "  " << shape.name << ": relative " << num(d.norm() / qk.segment(at, shape.size()).norm()) << "\n";
      at += shape.size();
    }
  }
  // Bit-equal parameters are possible (DiffuRec at 3 ranks without FMA: the rank-order sum of the tiles is the
  // single process's tile-order sum), so what shows the shards ran is the gradient and loss sums of every step.
  check(collectives >= 2 * steps || comm.size() == 1, "the shards really ran: " + std::to_string(collectives) +
                                                          " collectives in " + std::to_string(steps) + " steps", comm);
  const double lossRel = std::abs(dpResult.last().meanLoss - refResult.last().meanLoss) /
                         std::abs(refResult.last().meanLoss);
  check(lossRel <= 1e-4, "last epoch's mean loss vs one process: relative " + num(lossRel), comm);
  check(sameOnEveryRank(std::span<const float>(p.data(), static_cast<std::size_t>(p.size())), comm),
        "parameters: the same bits on every rank", comm);

  Model again(o, kItems, 4);
  dist::makeDataParallel(again, comm);
  (void)again.fit(split.train, samples, fit);
  check(params(again) == p, "fixed-order reduction: a second run gives the same bits", comm);
  extra(dp, reference);

  const std::vector<rd::Index> ks = {1, 5, 10};
  for (const rd::NextItemProtocol protocol : {rd::NextItemProtocol{.batchSize = 5}, rd::NextItemProtocol::reference(5)}) {
    rd::Rng singleRng(6), shardRng(6), refRng(6);
    const auto single = dp.evaluate(full, split.test, ks, singleRng, protocol);
    const auto sharded = dist::evaluateSequences(dp, comm, full, split.test, ks, shardRng, protocol);
    bool same = single.entries().size() == sharded.entries().size() && single.entries().size() == 2 * ks.size();
    for (const auto& [key, value] : single.entries()) same = same && sharded.at(key) == value;
    const std::string name = protocol.maskHistory ? "masked" : "reference";
    check(same, "sharded next-item evaluation == one process's, every metric (" + name + " protocol, hr@10 " +
                    num(sharded.at("hr@10")) + ")", comm);
    check(shardRng.nextU64() == singleRng.nextU64(), "the evaluation leaves the generator where one process does", comm);
    const auto refTable = reference.evaluate(full, split.test, ks, refRng, protocol);
    double worst = 0.0;
    for (const auto& [key, value] : refTable.entries()) worst = std::max(worst, std::abs(sharded.at(key) - value));
    check(worst <= 1e-4, "metrics vs the single-process model (" + name + "): max |diff| " + num(worst), comm);
  }
  if (comm.isRoot())
    std::cout << "communication: " << comm.communicationSeconds() << " s in " << comm.collectives()
              << " collectives on rank 0\n";
  return failures == 0 ? 0 : 1;
}

int diffurecCheck(dist::Communicator& comm) {
  rd::DiffuRecOptions o;
  o.hidden = 16;
  o.blocks = 1;
  o.heads = 2;
  o.maxLength = 6;
  o.steps = 6;
  o.batchSize = 27;    // tiles of 7, 7, 7, 6; the epoch's last batch (13 rows) has 2 tiles
  o.trainingTile = 7;
  o.learningRate = 5e-3;
  o.dropout = 0.1;
  o.embeddingDropout = 0.1;
  o.lossAwareTimesteps = true;  // 10 losses per step: warmed up after ~60 rows
  using Model = rd::DiffuRec<>;
  const auto params = [](Model& m) -> const Eigen::VectorXf& { return m.approximator().parameters().values(); };
  return checkModel<Model>(comm, o, 17, params, [&](Model& dp, Model& reference) {
    // What the key-bias entries are set apart for: one single-process gradient, key bias vs query bias.
    const rd::data::Sequences full = randomSequences(31);
    const rd::data::SequenceSplit split = rd::data::leaveLastOut(full);
    const rd::data::SequenceSamples samples = rd::data::prefixSamples(split.train);
    rd::data::HistoryBatch batch;
    std::vector<rd::Index> rows(27);
    for (rd::Index r = 0; r < 27; ++r) rows[static_cast<std::size_t>(r)] = r;
    rd::data::fillHistoryBatch(split.train, samples, rows, reference.padding(), batch);
    rd::Rng stepRng(3);
    (void)reference.lossAndGradient(batch.history, batch.targets, stepRng);
    const auto& g = reference.approximator().parameters().grads();
    double keyNorm = 0.0, queryNorm = 0.0;
    for (const auto& [at, count] : keyBias(reference)) {
      keyNorm += static_cast<double>(g.segment(at, count).squaredNorm());
      queryNorm += static_cast<double>(g.segment(at - count, count).squaredNorm());
    }
    check(std::sqrt(keyNorm) <= 1e-5 * std::sqrt(queryNorm), "the key bias's gradient is rounding noise: |g_key| " +
              num(std::sqrt(keyNorm)) + " vs |g_query| " + num(std::sqrt(queryNorm)), comm);
    mpi_check::checkSamplerInSync(dp.timestepSampler(), reference.timestepSampler(), comm);
  });
}

int dreamrecCheck(dist::Communicator& comm) {
  rd::DreamRecOptions o;
  o.hidden = 16;
  o.maxLength = 6;
  o.steps = 20;
  o.batchSize = 13;  // uneven shards at 2 and 3 ranks
  o.dropout = 0.2;
  o.nullProbability = 0.2;
  o.learningRate = 5e-3;
  using Model = rd::DreamRec<>;
  const auto params = [](Model& m) -> const Eigen::VectorXf& { return m.parameters().values(); };
  return checkModel<Model>(comm, o, 8, params, [](Model&, Model&) {});
}

}  // namespace

int main(int argc, char** argv) {
  dist::MpiSession session(argc, argv);
  dist::MpiCommunicator world;
  const std::string mode = argc > 1 ? argv[1] : "";
  return dist::runOrAbort(world, [&] {
    if (mode == "diffurec") return diffurecCheck(world);
    if (mode == "dreamrec") return dreamrecCheck(world);
    throw std::invalid_argument("mpi_sequential_check: unknown mode '" + mode + "' (diffurec, dreamrec)");
  });
}
