#ifndef RECDIFF_TRAIN_DATA_PARALLEL_SLOT_HPP
#define RECDIFF_TRAIN_DATA_PARALLEL_SLOT_HPP

/// \file data_parallel_slot.hpp
/// What a model that builds its Trainer per epoch (DiffuRec, DreamRec) keeps for data-parallel training
/// (recdiff/distributed/data_parallel.hpp sets it): its rank among `ranks` processes, the Trainer's gradient
/// hook (it reduces the shard gradients) and, for models that feed a loss-aware sampler, the gather of every
/// process's per-row values. ranks = 1 (the default): single-process training, nothing installed.
///
/// Usage:
///   train::DataParallelSlot<data::HistoryBatch, float> dp;
///   dp.set("Model::setDataParallel()", rank, ranks, hook, gather, /*needsGather=*/true);
///   dp.install(trainer);   // every epoch's train::Trainer

#include <functional>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"

namespace recdiff::train {

template <class Batch, class Scalar>
struct DataParallelSlot {
  /// train::Trainer::GradientHook: (batch, this process's loss) -> the whole batch's loss.
  using GradientHook = std::function<double(const Batch&, double)>;
  /// all = every process's `mine` in rank order; counts[r] = process r's length.
  using RowGather = std::function<void(const ArrayX<Scalar>& mine, ArrayX<Scalar>& all, const std::vector<int>& counts)>;

  Index rank = 0, ranks = 1;
  GradientHook hook;
  RowGather gather;

  void set(const char* who, Index r, Index n, GradientHook h, RowGather g, bool needsGather) {
    RECDIFF_REQUIRE(n > 0 && r >= 0 && r < n, who, ": rank ", r, " of ", n);
    RECDIFF_REQUIRE(n == 1 || (h && (g || !needsGather)), who, ": no gradient hook", needsGather ? " or row gather" : "",
                    " for ", n, " processes");
    rank = r;
    ranks = n;
    hook = std::move(h);
    gather = std::move(g);
  }

  /// Sets the hook on `trainer` (a train::Trainer) when there is one.
  template <class Trainer>
  void install(Trainer& trainer) const {
    if (hook) trainer.setGradientHook(hook);
  }
};

}  // namespace recdiff::train

#endif  // RECDIFF_TRAIN_DATA_PARALLEL_SLOT_HPP
