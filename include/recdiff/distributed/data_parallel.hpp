#ifndef RECDIFF_DISTRIBUTED_DATA_PARALLEL_HPP
#define RECDIFF_DISTRIBUTED_DATA_PARALLEL_HPP

/// \file distributed/data_parallel.hpp
/// Data-parallel training through the one Trainer (docs/distributed.md). Every rank holds the same data and
/// builds the same global batches (the batcher's shuffle comes from the same seeded Rng); rank r computes
/// rows train::rowShard(batch, r, N) of each batch with exactly the random numbers the single process draws
/// for those rows (timesteps and noise by the batch's row index, dropout by setRowShard), the Trainer's
/// gradient hook scales its shard's mean gradient by rows_r / rows and sums it over the ranks (one allreduce
/// of the flat ParameterBuffer, one of the loss), and every rank takes the same optimizer step. The timestep
/// sampler's (t, loss) pairs are all-gathered each step, so its history is the same on every rank.
///
/// What is identical to one process: every random number, the batches, the sampler's decisions while its
/// inputs agree. What is not: a shard's GEMMs sum over fewer rows, so gradients differ from one process's in
/// the last bits (parameters after 100 DiffRec steps agree to ~1e-6 relative, tests/distributed).
///
/// Usage:
///   distributed::MpiSession session(argc, argv);
///   distributed::MpiCommunicator world;
///   DiffRec<> model(options, train.items(), seed);
///   distributed::makeDataParallel(model, world);       // broadcast rank 0's parameters, shard every batch
///   const TrainResult r = model.fit(train, fitOptions);

#include <span>
#include <vector>

#include "../error.hpp"
#include "../nn/parameters.hpp"
#include "../train/trainer.hpp"
#include "../types.hpp"
#include "communicator.hpp"

namespace recdiff::distributed {

/// Every rank's parameters = rank 0's (at the start, and after a checkpoint was loaded on rank 0 or on all).
template <class Scalar>
void broadcastParameters(nn::ParameterBuffer<Scalar>& parameters, Communicator& comm) {
  auto& v = parameters.values();
  comm.broadcast(std::span<Scalar>(v.data(), static_cast<std::size_t>(v.size())), 0);
}

/// The Trainer's gradient hook of data-parallel training: this rank's shard gradient scaled by its share of
/// the batch rows, summed over the ranks; returns the batch loss (the shard losses weighted the same way).
template <class Scalar>
class GradientAllreduce {
 public:
  /// `shardMean` true: the objective's loss and gradient are its train::rowShard rows' mean (scaled here by
  /// rows_r / rows); false: they are already its share of the batch mean (DiffuRec's tiles), summed unscaled.
  GradientAllreduce(nn::ParameterBuffer<Scalar>& parameters, Communicator& comm, ReduceOrder order,
                    bool shardMean = true)
      : parameters_(&parameters), comm_(&comm), order_(order), shardMean_(shardMean) {}

  template <class Batch>
  double operator()(const Batch& batch, double loss) {
    double share = 1.0;
    auto& g = parameters_->grads();
    if (shardMean_) {
      const Index rows = train::detail::rowsOf(batch);
      const train::RowShard shard = train::rowShard(rows, comm_->rank(), comm_->size());
      share = static_cast<double>(shard.rows()) / static_cast<double>(rows);
      g *= static_cast<Scalar>(share);
    }
    comm_->allreduceSum(std::span<Scalar>(g.data(), static_cast<std::size_t>(g.size())), order_);
    double total = loss * share;
    comm_->allreduceSum(std::span<double>(&total, 1), order_);
    return total;
  }

 private:
  nn::ParameterBuffer<Scalar>* parameters_;
  Communicator* comm_;
  ReduceOrder order_;
  bool shardMean_;
};

/// A diffusion objective's loss gather: every rank's per-row losses, in rank order, into the whole batch's.
template <class Scalar>
auto lossGather(Communicator& comm) {
  return [&comm](const ArrayX<Scalar>& mine, ArrayX<Scalar>& all) {
    const std::vector<int> counts = shardCounts(all.size(), comm.size());
    comm.allgather(std::span<const Scalar>(mine.data(), static_cast<std::size_t>(mine.size())),
                   std::span<Scalar>(all.data(), static_cast<std::size_t>(all.size())), std::span<const int>(counts));
  };
}

/// Makes a sequential model train data-parallel over `comm` (the sequential overload of makeDataParallel):
/// DreamRec (row shards: setDataParallel(rank, ranks, hook)) and DiffuRec (tile shards, its row losses
/// all-gathered for the loss-aware sampler: setDataParallel(rank, ranks, hook, gather)).
template <class Model>
  requires requires(Model& m) { m.parameters(); m.setDataParallel(0, 1, {}); }
void makeSequentialDataParallel(Model& model, Communicator& comm, ReduceOrder order) {
  using Scalar = typename Model::ScalarType;
  broadcastParameters(model.parameters(), comm);
  if (comm.size() == 1) return;
  model.setDataParallel(comm.rank(), comm.size(), GradientAllreduce<Scalar>(model.parameters(), comm, order));
}
template <class Model>
  requires requires(Model& m) { m.approximator(); m.setDataParallel(0, 1, {}, {}); }
void makeSequentialDataParallel(Model& model, Communicator& comm, ReduceOrder order) {
  using Scalar = typename Model::ScalarType;
  auto& parameters = model.approximator().parameters();
  broadcastParameters(parameters, comm);
  if (comm.size() == 1) return;
  auto gather = [&comm](const ArrayX<Scalar>& mine, ArrayX<Scalar>& all, const std::vector<int>& counts) {
    comm.allgather(std::span<const Scalar>(mine.data(), static_cast<std::size_t>(mine.size())),
                   std::span<Scalar>(all.data(), static_cast<std::size_t>(all.size())), std::span<const int>(counts));
  };
  model.setDataParallel(comm.rank(), comm.size(), GradientAllreduce<Scalar>(parameters, comm, order, false), gather);
}

/// Makes a DiffRec-style model (DiffRec<>, and so T-DiffRec: anything whose trainer() is a DiffusionTrainer)
/// train data-parallel over `comm`: rank 0's parameters to every rank, the objective's row shard and loss
/// gather, the Trainer's gradient hook.
template <class Model>
void makeDiffusionDataParallel(Model& model, Communicator& comm, ReduceOrder order) {
  using Scalar = typename Model::ScalarType;
  auto& parameters = model.model().parameters();
  broadcastParameters(parameters, comm);
  if (comm.size() == 1) return;
  model.trainer().objective().setShard(comm.rank(), comm.size(), lossGather<Scalar>(comm));
  model.trainer().loop().setGradientHook(GradientAllreduce<Scalar>(parameters, comm, order));
}

/// Makes a model train data-parallel over `comm`: DiffRec / T-DiffRec (makeDiffusionDataParallel), DreamRec
/// and DiffuRec (makeSequentialDataParallel). With one process only the (no-op) broadcast happens: training is
/// exactly the single-process one. `comm` must outlive the model's training.
template <class Model>
void makeDataParallel(Model& model, Communicator& comm, ReduceOrder order = ReduceOrder::kFixed) {
  if constexpr (requires { makeSequentialDataParallel(model, comm, order); }) {
    makeSequentialDataParallel(model, comm, order);
  } else {
    makeDiffusionDataParallel(model, comm, order);
  }
}

}  // namespace recdiff::distributed

#endif  // RECDIFF_DISTRIBUTED_DATA_PARALLEL_HPP
