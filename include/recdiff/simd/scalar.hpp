#ifndef RECDIFF_SIMD_SCALAR_HPP
#define RECDIFF_SIMD_SCALAR_HPP

/// \file simd/scalar.hpp
/// The specification of every kernel in simd/kernels.hpp: plain scalar loops, one element at a time, no
/// threads. The fast kernels (any backend, any thread count) must produce bit-identical results; the tests in
/// tests/simd/ check that on sizes that exercise every tail.
///
/// Noise addressing: element (r, c) of a [rows × cols] noise matrix is element r·cols + c of the normal draw at
/// the NoiseAddress (see random/philox.hpp for the layout of a draw), whatever the memory strides.

#include <cmath>
#include <cstdint>

#include "../random/philox.hpp"
#include "../types.hpp"
#include "math.hpp"

namespace recdiff::simd {

/// Hyper-parameters of one Adam / AdamW step, PyTorch's semantics (torch.optim.Adam / AdamW, no amsgrad):
///   g  <- g + weightDecay·p                  (Adam: L2 penalty; only when decoupledWeightDecay is false)
///   p  <- p·(1 - lr·weightDecay)             (AdamW: decoupled decay; only when decoupledWeightDecay is true)
///   m  <- beta1·m + (1 - beta1)·g
///   v  <- beta2·v + (1 - beta2)·g²
///   p  <- p - lr/(1 - beta1^step) · m / (sqrt(v)/sqrt(1 - beta2^step) + eps)
/// `step` counts updates from 1 (the first update uses step = 1). Coefficients are formed in double, then
/// rounded once to the parameter type.
struct AdamParams {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weightDecay = 0.0;
  bool decoupledWeightDecay = false;  ///< false: Adam (L2 added to the gradient); true: AdamW
  std::int64_t step = 1;
};

namespace detail {

/// The per-step constants of AdamParams, in the parameter type.
template <class Scalar>
struct AdamCoefficients {
  Scalar beta1, oneMinusBeta1, beta2, oneMinusBeta2, negStepSize, sqrtBiasCorrection2, eps, l2, decay;
  bool hasL2, hasDecay;

  explicit AdamCoefficients(const AdamParams& p) noexcept {
    const double t = static_cast<double>(p.step);
    const double bc1 = 1.0 - std::pow(p.beta1, t);
    const double bc2 = 1.0 - std::pow(p.beta2, t);
    beta1 = static_cast<Scalar>(p.beta1);
    oneMinusBeta1 = static_cast<Scalar>(1.0 - p.beta1);
    beta2 = static_cast<Scalar>(p.beta2);
    oneMinusBeta2 = static_cast<Scalar>(1.0 - p.beta2);
    negStepSize = static_cast<Scalar>(-(p.lr / bc1));
    sqrtBiasCorrection2 = static_cast<Scalar>(std::sqrt(bc2));
    eps = static_cast<Scalar>(p.eps);
    hasL2 = !p.decoupledWeightDecay && p.weightDecay != 0.0;
    hasDecay = p.decoupledWeightDecay && p.weightDecay != 0.0;
    l2 = static_cast<Scalar>(p.weightDecay);
    decay = static_cast<Scalar>(1.0 - p.lr * p.weightDecay);
  }
};

}  // namespace detail

namespace scalar {

/// Element i of the normal draw at `at` (the definition every kernel reproduces).
template <class Scalar>
inline Scalar normalAt(const random::NoiseAddress& at, std::uint64_t i) noexcept {
  constexpr std::uint64_t kGroup = random::kNormalsPerGroup<Scalar>;
  const std::uint64_t g = i / kGroup, r = i % kGroup;
  const std::uint64_t lane = r % random::kBlocksPerGroup, slot = r / random::kBlocksPerGroup;
  const random::PhiloxCounter w = random::philox4x32(
      random::philoxCounter(at.block0 + g * random::kBlocksPerGroup + lane, at.stream), random::philoxKey(at.seed));
  Scalar values[4];
  detail::normalsOfBlock(w, values);
  return values[slot];
}

/// out[k] = element first + k of the normal draw at `at`, for k in [0, n).
template <class Scalar>
inline void normalFill(const random::NoiseAddress& at, std::uint64_t first, Scalar* out, Index n) noexcept {
  for (Index k = 0; k < n; ++k) out[k] = normalAt<Scalar>(at, first + static_cast<std::uint64_t>(k));
}

/// Forward noising: xt(r, c) = a[r]·x0(r, c) + b[r]·ε(r, c), computed as fma(a, x0, b·ε); ε(r, c) is element
/// r·cols + c of the draw at `at`. When noise is not null it receives ε. Leading dimensions are row strides.
template <class Scalar>
inline void forwardNoise(const random::NoiseAddress& at, Index rows, Index cols, const Scalar* x0, Index ldx0,
                         const Scalar* a, const Scalar* b, Scalar* xt, Index ldxt, Scalar* noise,
                         Index ldnoise) noexcept {
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) {
      const Scalar e = normalAt<Scalar>(at, static_cast<std::uint64_t>(r * cols + c));
      xt[r * ldxt + c] = std::fma(a[r], x0[r * ldx0 + c], b[r] * e);
      if (noise != nullptr) noise[r * ldnoise + c] = e;
    }
}

/// Reverse (posterior) step: out(r, c) = c1[r]·x0hat(r, c) + c2[r]·xt(r, c) + sigma[r]·ε(r, c), computed as
/// fma(c1, x0hat, fma(c2, xt, sigma·ε)). Rows with sigma[r] == 0 (t = 0, or noise off) draw no noise and give
/// fma(c1, x0hat, c2·xt). sigma == nullptr means sigma = 0 for every row. ε as for forwardNoise.
template <class Scalar>
inline void reverseStep(const random::NoiseAddress& at, Index rows, Index cols, const Scalar* x0hat, Index ldx0hat,
                        const Scalar* xt, Index ldxt, const Scalar* c1, const Scalar* c2, const Scalar* sigma,
                        Scalar* out, Index ldout) noexcept {
  for (Index r = 0; r < rows; ++r) {
    const Scalar s = sigma == nullptr ? Scalar(0) : sigma[r];
    for (Index c = 0; c < cols; ++c) {
      const Scalar x = x0hat[r * ldx0hat + c], y = xt[r * ldxt + c];
      if (s == Scalar(0)) {
        out[r * ldout + c] = std::fma(c1[r], x, c2[r] * y);
      } else {
        const Scalar e = normalAt<Scalar>(at, static_cast<std::uint64_t>(r * cols + c));
        out[r * ldout + c] = std::fma(c1[r], x, std::fma(c2[r], y, s * e));
      }
    }
  }
}

/// One Adam / AdamW step over n parameters (see AdamParams), in this exact order of operations.
template <class Scalar>
inline void adamUpdate(Scalar* param, const Scalar* grad, Scalar* expAvg, Scalar* expAvgSq, Index n,
                       const AdamParams& params) noexcept {
  const detail::AdamCoefficients<Scalar> k(params);
  for (Index i = 0; i < n; ++i) {
    Scalar g = grad[i], p = param[i];
    if (k.hasL2) g = std::fma(k.l2, p, g);
    if (k.hasDecay) p = p * k.decay;
    const Scalar m = std::fma(k.beta1, expAvg[i], k.oneMinusBeta1 * g);
    const Scalar v = std::fma(k.beta2, expAvgSq[i], (k.oneMinusBeta2 * g) * g);
    const Scalar denom = std::sqrt(v) / k.sqrtBiasCorrection2 + k.eps;
    expAvg[i] = m;
    expAvgSq[i] = v;
    param[i] = std::fma(k.negStepSize, m / denom, p);
  }
}

}  // namespace scalar
}  // namespace recdiff::simd

namespace recdiff::random {

/// Scalar reference: out[0 .. n) = the first n normals of the draw of (seed, stream) starting at block0.
/// The same numbers as Rng::fillNormal and simd::normalFill (which are faster).
template <class Scalar>
inline void normalFillReference(std::uint64_t seed, std::uint64_t stream, std::uint64_t block0, Scalar* out,
                                long n) noexcept {
  simd::scalar::normalFill<Scalar>(NoiseAddress{seed, stream, block0}, 0, out, static_cast<Index>(n));
}

}  // namespace recdiff::random

#endif  // RECDIFF_SIMD_SCALAR_HPP
