#ifndef RECDIFF_TIMESTEPS_TIMESTEP_BATCH_HPP
#define RECDIFF_TIMESTEPS_TIMESTEP_BATCH_HPP

/// \file timestep_batch.hpp
/// What a timestep sampler returns for one training batch.

#include <Eigen/Core>

#include "../types.hpp"

namespace recdiff {

/// Timesteps drawn for a batch and their importance weights.
/// \tparam Scalar the compute scalar of the losses the weights multiply.
template <class Scalar>
struct TimestepBatch {
  Eigen::ArrayXi t;       ///< [batch] timesteps in 0 .. steps-1
  ArrayX<Scalar> weights; ///< [batch] importance weights 1 / (steps · p(t)); all 1 for uniform sampling
};

}  // namespace recdiff

#endif  // RECDIFF_TIMESTEPS_TIMESTEP_BATCH_HPP
