#ifndef RECDIFF_SIMD_KERNELS_HPP
#define RECDIFF_SIMD_KERNELS_HPP

/// \file simd/kernels.hpp
/// Vectorised kernels for what Eigen does not fuse: normal noise from the counter-based generator, forward
/// noising with the noise generated in place, the reverse (posterior) step, and the Adam/AdamW update.
///
/// Each kernel gives bit-identical results to its specification in simd/scalar.hpp, whatever the backend
/// (AVX-512, AVX2, scalar; simd/config.hpp), the thread count, the alignment of the pointers or the sizes.
/// Rows (or chunks of a flat vector) are split across OpenMP threads when the work is large enough.
///
/// Usage:
///   recdiff::Rng rng(seed);
///   const auto at = rng.reserveNoise<float>(x0.size());            // addresses a fresh [batch × items] draw
///   recdiff::simd::forwardNoise<float>(at, x0, sqrtAlphaBar, sqrtOneMinusAlphaBar, xt, eps);
///
///   recdiff::simd::adamUpdate(params.data(), grads.data(), m.data(), v.data(), n,
///                             {.lr = 1e-3, .weightDecay = 0.01, .decoupledWeightDecay = true, .step = t});

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../random/philox.hpp"
#include "../types.hpp"
#include "config.hpp"
#include "math.hpp"
#include "scalar.hpp"
#include "xsimd_backend.hpp"

namespace recdiff::simd {

namespace detail {

#if !RECDIFF_SIMD_XSIMD
inline random::PhiloxKey prepareKey(const random::PhiloxKey& key) noexcept { return key; }

/// Scalar backend: one group of normals, block by block.
template <class S>
inline void normalGroup(const random::PhiloxKey& key, std::uint64_t stream, std::uint64_t base, S* out) noexcept {
  constexpr int kSlot = static_cast<int>(random::kBlocksPerGroup);
  for (int l = 0; l < kSlot; ++l) {
    S values[4];
    normalsOfBlock(random::philox4x32(random::philoxCounter(base + static_cast<std::uint64_t>(l), stream), key),
                   values);
    for (int c = 0; c < random::kNormalsPerBlock<S>; ++c) out[c * kSlot + l] = values[c];
  }
}

template <class S>
inline void axpbyRow(S a, const S* x, S b, const S* e, S* out, Index n) noexcept {
  for (Index j = 0; j < n; ++j) out[j] = std::fma(a, x[j], b * e[j]);
}

template <class S>
inline void reverseRow(S c1, const S* x, S c2, const S* y, S s, const S* e, S* out, Index n) noexcept {
  for (Index j = 0; j < n; ++j) out[j] = std::fma(c1, x[j], std::fma(c2, y[j], s * e[j]));
}

template <class S>
inline void reverseRowNoNoise(S c1, const S* x, S c2, const S* y, S* out, Index n) noexcept {
  for (Index j = 0; j < n; ++j) out[j] = std::fma(c1, x[j], c2 * y[j]);
}

template <class S>
inline void adamSpan(const AdamCoefficients<S>& k, S* param, const S* grad, S* expAvg, S* expAvgSq,
                     Index n) noexcept {
  for (Index i = 0; i < n; ++i) {
    S g = grad[i], p = param[i];
    if (k.hasL2) g = std::fma(k.l2, p, g);
    if (k.hasDecay) p = p * k.decay;
    const S m = std::fma(k.beta1, expAvg[i], k.oneMinusBeta1 * g);
    const S v = std::fma(k.beta2, expAvgSq[i], (k.oneMinusBeta2 * g) * g);
    const S denom = std::sqrt(v) / k.sqrtBiasCorrection2 + k.eps;
    expAvg[i] = m;
    expAvgSq[i] = v;
    param[i] = std::fma(k.negStepSize, m / denom, p);
  }
}
#endif

/// Serial: out[k] = element first + k of the draw at `at`, k in [0, n).
template <class S>
inline void normalRange(const random::NoiseAddress& at, std::uint64_t first, S* out, Index n) noexcept {
  constexpr std::uint64_t kGroup = random::kNormalsPerGroup<S>;
  const auto key = prepareKey(random::philoxKey(at.seed));
  std::uint64_t g = first / kGroup;
  const std::uint64_t offset = first % kGroup;
  alignas(64) S tmp[kGroup];
  if (offset != 0 && n > 0) {
    normalGroup(key, at.stream, at.block0 + g * random::kBlocksPerGroup, tmp);
    const Index take = std::min<Index>(n, static_cast<Index>(kGroup - offset));
    std::memcpy(out, tmp + offset, static_cast<std::size_t>(take) * sizeof(S));
    out += take;
    n -= take;
    ++g;
  }
  for (; n >= static_cast<Index>(kGroup); n -= static_cast<Index>(kGroup), out += kGroup, ++g)
    normalGroup(key, at.stream, at.block0 + g * random::kBlocksPerGroup, out);
  if (n > 0) {
    normalGroup(key, at.stream, at.block0 + g * random::kBlocksPerGroup, tmp);
    std::memcpy(out, tmp, static_cast<std::size_t>(n) * sizeof(S));
  }
}

/// Work below this many elements stays on the calling thread.
inline constexpr Index kParallelMinElements = 32768;
/// Columns of noise generated at a time into an on-stack buffer by the fused kernels (16 KiB of float).
inline constexpr Index kNoiseChunk = 4096;

}  // namespace detail

/// out[k] = element first + k of the normal draw at `at`, for k in [0, n). Threads over chunks of 16384 values.
template <class Scalar>
inline void normalFill(const random::NoiseAddress& at, std::uint64_t first, Scalar* out, Index n) noexcept {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>, "simd::normalFill(): float or double");
  constexpr Index kChunk = 16384;  // a multiple of both group sizes
  if (n < detail::kParallelMinElements) {
    detail::normalRange(at, first, out, n);
    return;
  }
  const Index chunks = (n + kChunk - 1) / kChunk;
  parallelFor(chunks, true, [&](Index c) {
    const Index begin = c * kChunk, count = std::min(kChunk, n - begin);
    detail::normalRange(at, first + static_cast<std::uint64_t>(begin), out + begin, count);
  });
}

/// Forward noising, raw form (see scalar::forwardNoise for the definition). noise may be null. Row r reads
/// elements firstElement + r·cols … of the draw (firstElement > 0: a row shard of a larger batch's draw).
template <class Scalar>
inline void forwardNoise(const random::NoiseAddress& at, Index rows, Index cols, const Scalar* x0, Index ldx0,
                         const Scalar* a, const Scalar* b, Scalar* xt, Index ldxt, Scalar* noise,
                         Index ldnoise, std::uint64_t firstElement = 0) noexcept {
  const bool parallel = rows > 1 && rows * cols >= detail::kParallelMinElements;
  parallelFor(rows, parallel, [&](Index r) {
    alignas(64) Scalar buffer[detail::kNoiseChunk];
    for (Index c0 = 0; c0 < cols; c0 += detail::kNoiseChunk) {
      const Index len = std::min(detail::kNoiseChunk, cols - c0);
      Scalar* e = noise != nullptr ? noise + r * ldnoise + c0 : buffer;
      detail::normalRange(at, firstElement + static_cast<std::uint64_t>(r * cols + c0), e, len);
      detail::axpbyRow(a[r], x0 + r * ldx0 + c0, b[r], e, xt + r * ldxt + c0, len);
    }
  });
}

/// Reverse step, raw form (see scalar::reverseStep). sigma may be null (no noise in any row).
template <class Scalar>
inline void reverseStep(const random::NoiseAddress& at, Index rows, Index cols, const Scalar* x0hat, Index ldx0hat,
                        const Scalar* xt, Index ldxt, const Scalar* c1, const Scalar* c2, const Scalar* sigma,
                        Scalar* out, Index ldout) noexcept {
  const bool parallel = rows > 1 && rows * cols >= detail::kParallelMinElements;
  parallelFor(rows, parallel, [&](Index r) {
    const Scalar s = sigma == nullptr ? Scalar(0) : sigma[r];
    if (s == Scalar(0)) {
      detail::reverseRowNoNoise(c1[r], x0hat + r * ldx0hat, c2[r], xt + r * ldxt, out + r * ldout, cols);
      return;
    }
    alignas(64) Scalar buffer[detail::kNoiseChunk];
    for (Index c0 = 0; c0 < cols; c0 += detail::kNoiseChunk) {
      const Index len = std::min(detail::kNoiseChunk, cols - c0);
      detail::normalRange(at, static_cast<std::uint64_t>(r * cols + c0), buffer, len);
      detail::reverseRow(c1[r], x0hat + r * ldx0hat + c0, c2[r], xt + r * ldxt + c0, s, buffer,
                         out + r * ldout + c0, len);
    }
  });
}

/// One Adam / AdamW step over a flat parameter vector of n values (see AdamParams for the formula).
/// param, expAvg (first moment m) and expAvgSq (second moment v) are updated in place; grad is read.
/// Throws std::invalid_argument when params.step < 1 or n < 0.
template <class Scalar>
inline void adamUpdate(Scalar* param, const Scalar* grad, Scalar* expAvg, Scalar* expAvgSq, Index n,
                       const AdamParams& params) {
  RECDIFF_REQUIRE(params.step >= 1, "simd::adamUpdate(): step counts from 1, got ", params.step);
  RECDIFF_REQUIRE(n >= 0, "simd::adamUpdate(): negative size ", n);
  const detail::AdamCoefficients<Scalar> k(params);
  constexpr Index kChunk = 8192;
  if (n < detail::kParallelMinElements * 4) {
    detail::adamSpan(k, param, grad, expAvg, expAvgSq, n);
    return;
  }
  const Index chunks = (n + kChunk - 1) / kChunk;
  parallelFor(chunks, true, [&](Index c) {
    const Index begin = c * kChunk, count = std::min(kChunk, n - begin);
    detail::adamSpan(k, param + begin, grad + begin, expAvg + begin, expAvgSq + begin, count);
  });
}

/// Forward noising on Eigen objects: xt = a·x0 + b·ε row by row (a, b: one coefficient per row), ε drawn at
/// `at` (element (r, c) = element r·cols + c of the draw). Throws std::invalid_argument on mismatched sizes.
template <class Scalar>
inline void forwardNoise(const random::NoiseAddress& at, const Eigen::Ref<const RowMatrix<Scalar>>& x0,
                         const Eigen::Ref<const ArrayX<Scalar>>& a, const Eigen::Ref<const ArrayX<Scalar>>& b,
                         Eigen::Ref<RowMatrix<Scalar>> xt) {
  RECDIFF_REQUIRE(a.size() == x0.rows() && b.size() == x0.rows(), "simd::forwardNoise(): x0 has ", x0.rows(),
                  " rows but a has ", a.size(), " and b ", b.size(), " coefficients");
  RECDIFF_REQUIRE(xt.rows() == x0.rows() && xt.cols() == x0.cols(), "simd::forwardNoise(): xt is ", xt.rows(), "x",
                  xt.cols(), ", x0 is ", x0.rows(), "x", x0.cols());
  forwardNoise<Scalar>(at, x0.rows(), x0.cols(), x0.data(), x0.outerStride(), a.data(), b.data(), xt.data(),
                       xt.outerStride(), nullptr, 0);
}

/// As above, and writes ε to noise (for eps-prediction losses).
template <class Scalar>
inline void forwardNoise(const random::NoiseAddress& at, const Eigen::Ref<const RowMatrix<Scalar>>& x0,
                         const Eigen::Ref<const ArrayX<Scalar>>& a, const Eigen::Ref<const ArrayX<Scalar>>& b,
                         Eigen::Ref<RowMatrix<Scalar>> xt, Eigen::Ref<RowMatrix<Scalar>> noise) {
  RECDIFF_REQUIRE(a.size() == x0.rows() && b.size() == x0.rows(), "simd::forwardNoise(): x0 has ", x0.rows(),
                  " rows but a has ", a.size(), " and b ", b.size(), " coefficients");
  RECDIFF_REQUIRE(xt.rows() == x0.rows() && xt.cols() == x0.cols() && noise.rows() == x0.rows() &&
                      noise.cols() == x0.cols(),
                  "simd::forwardNoise(): xt is ", xt.rows(), "x", xt.cols(), ", noise ", noise.rows(), "x",
                  noise.cols(), ", x0 ", x0.rows(), "x", x0.cols());
  forwardNoise<Scalar>(at, x0.rows(), x0.cols(), x0.data(), x0.outerStride(), a.data(), b.data(), xt.data(),
                       xt.outerStride(), noise.data(), noise.outerStride());
}

/// Reverse step on Eigen objects: out = c1·x0hat + c2·xt + sigma·ε row by row; rows with sigma = 0 draw no
/// noise. out may alias xt (each element is read before it is written). Throws on mismatched sizes.
template <class Scalar>
inline void reverseStep(const random::NoiseAddress& at, const Eigen::Ref<const RowMatrix<Scalar>>& x0hat,
                        const Eigen::Ref<const RowMatrix<Scalar>>& xt, const Eigen::Ref<const ArrayX<Scalar>>& c1,
                        const Eigen::Ref<const ArrayX<Scalar>>& c2, const Eigen::Ref<const ArrayX<Scalar>>& sigma,
                        Eigen::Ref<RowMatrix<Scalar>> out) {
  const Index rows = x0hat.rows(), cols = x0hat.cols();
  RECDIFF_REQUIRE(xt.rows() == rows && xt.cols() == cols && out.rows() == rows && out.cols() == cols,
                  "simd::reverseStep(): x0hat is ", rows, "x", cols, ", xt ", xt.rows(), "x", xt.cols(), ", out ",
                  out.rows(), "x", out.cols());
  RECDIFF_REQUIRE(c1.size() == rows && c2.size() == rows && sigma.size() == rows, "simd::reverseStep(): ", rows,
                  " rows but ", c1.size(), ", ", c2.size(), " and ", sigma.size(), " coefficients");
  reverseStep<Scalar>(at, rows, cols, x0hat.data(), x0hat.outerStride(), xt.data(), xt.outerStride(), c1.data(),
                      c2.data(), sigma.data(), out.data(), out.outerStride());
}

}  // namespace recdiff::simd

#endif  // RECDIFF_SIMD_KERNELS_HPP
