#ifndef RECDIFF_OPTIM_CLIP_GRAD_NORM_HPP
#define RECDIFF_OPTIM_CLIP_GRAD_NORM_HPP

/// \file clip_grad_norm.hpp
/// Gradient clipping by global norm (Pascanu et al. 2013), as torch.nn.utils.clip_grad_norm_ with the L2 norm:
/// n = ||g||₂ over every parameter; when n > maxNorm, g ← g · maxNorm / (n + 1e-6).

#include <cmath>

#include "../error.hpp"
#include "../nn/parameters.hpp"

namespace recdiff::optim {

/// Clips params.grads() to global L2 norm maxNorm in place; returns the norm before clipping (computed in
/// double). A non-finite norm is returned as is and the gradients are left alone (the caller decides).
template <class Scalar>
double clipGradNorm(nn::ParameterBuffer<Scalar>& params, double maxNorm) {
  RECDIFF_REQUIRE(maxNorm > 0.0, "clipGradNorm(): maxNorm must be positive, got ", maxNorm);
  const double norm = std::sqrt(params.grads().template cast<double>().squaredNorm());
  if (!std::isfinite(norm)) return norm;
  const double coef = maxNorm / (norm + 1e-6);
  if (coef < 1.0) params.grads() *= static_cast<Scalar>(coef);
  return norm;
}

}  // namespace recdiff::optim

#endif  // RECDIFF_OPTIM_CLIP_GRAD_NORM_HPP
