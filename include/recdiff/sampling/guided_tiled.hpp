#ifndef RECDIFF_SAMPLING_GUIDED_TILED_HPP
#define RECDIFF_SAMPLING_GUIDED_TILED_HPP

/// \file guided_tiled.hpp
/// DreamRec's batched guided reverse process: a fast path of DdpmSampler (sampling/ddpm_sampler.hpp) for a
/// denoiser that can precompute its guided x̂0 over fixed histories (DreamRecDenoiser: prepareGuided() and
/// guidedX0(), see denoisers/dreamrec_denoiser.hpp). For t = T−1 … 0,
///   x_{t−1} = c1_t·x̂0 + c2_t·x_t + σ_t·z,   x̂0 = (1 + w)·f(x_t, h, t) − w·f(x_t, ∅, t),
/// with the rows in tiles of kTileRows that stay in cache over all T steps, in parallel over tiles (OpenMP).
/// It draws the same normals from rng as StepByStep (x_T first, then one [batch × H] matrix per step, step 0
/// included), each tile reading its slice of every draw by address (Rng::reserveNoise), and gives StepByStep's
/// result up to rounding (tests/denoisers/dreamrec_denoiser_test). The tiles have a fixed size, not one per
/// thread: a tile's arithmetic then does not depend on the thread count (the GEMM of a block of other height
/// may round differently), so neither does the result.
///
/// Usage:
///   DdpmSampler sampler(diffusion, {.guidance = 2.0}, GuidedTiled{});
///   sampler.sampleFromNoise(denoiser, h, h.rows(), denoiser.hidden(), rng, x);

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../random/rng.hpp"
#include "../simd/kernels.hpp"
#include "../types.hpp"
#include "ddpm_sampler.hpp"

namespace recdiff {

/// What GuidedTiled needs from a denoiser: the tables of the guided x̂0 for fixed histories and a tile's x̂0.
template <class D>
concept TiledGuidedDenoiser = InferenceDenoiser<D> && requires(D& d, const typename D::Condition& h, Index steps,
                                                               typename D::GuidedSampling& g, RowMatrix<typename D::Scalar>& m) {
  d.prepareGuided(h, 0.0, steps, g);
  d.guidedX0(g, Index{0}, m, steps, m, m);
};

/// The guided tiled path (see the file comment).
struct GuidedTiled {
  /// Rows per tile.
  static constexpr Index kTileRows = 256;

  /// Draws x_T by address inside the tiles, then runs all steps.
  template <class Diffusion, class D>
  void sampleFromNoise(const Diffusion& diffusion, const DdpmOptions& options, D& denoiser,
                       const typename D::Condition& h, Index batch, Index dim, Rng& rng,
                       RowMatrix<typename Diffusion::ScalarType>& x) const {
    RECDIFF_REQUIRE(batch == h.rows(), "GuidedTiled::sampleFromNoise(): ", batch, " rows for ", h.rows(), " histories");
    const auto initial = rng.template reserveNoise<typename Diffusion::ScalarType>(static_cast<std::uint64_t>(batch * dim));
    x.resize(batch, dim);
    runTiles(diffusion, options, denoiser, h, rng, x, diffusion.steps() - 1, &initial);
  }

  /// Runs steps fromStep … 0 on a given x_t.
  template <class Diffusion, class D>
  void run(const Diffusion& diffusion, const DdpmOptions& options, D& denoiser, const typename D::Condition& h,
           RowMatrix<typename Diffusion::ScalarType>& x, Rng& rng, Index fromStep) const {
    RECDIFF_REQUIRE(x.rows() == h.rows(), "GuidedTiled::run(): ", x.rows(), " rows for ", h.rows(), " histories");
    runTiles(diffusion, options, denoiser, h, rng, x, fromStep, nullptr);
  }

 private:
  template <class Diffusion, class D>
  static void runTiles(const Diffusion& diffusion, const DdpmOptions& options, D& denoiser,
                       const typename D::Condition& h, Rng& rng, RowMatrix<typename Diffusion::ScalarType>& x,
                       Index fromStep, const random::NoiseAddress* initial) {
    static_assert(TiledGuidedDenoiser<D>, "GuidedTiled: the denoiser needs prepareGuided() and guidedX0() "
                                          "(see DreamRecDenoiser)");
    using Scalar = typename Diffusion::ScalarType;
    using Matrix = RowMatrix<Scalar>;
    const Index batch = x.rows(), d = x.cols();
    const auto& map = diffusion.timestepMap();
    typename D::GuidedSampling guided;
    denoiser.prepareGuided(h, options.guidance, map.maxCoeff() + 1, guided);  // over the denoiser's steps
    const bool noisy = options.addNoise && !std::is_same_v<typename Diffusion::VarianceType, NoNoiseVariance>;
    // noise[k]: the draw of step fromStep − k (StepByStep's order; step 0 only with noiseAtStepZero).
    const auto count = static_cast<std::uint64_t>(batch * d);
    std::vector<random::NoiseAddress> noise;
    if (noisy) {
      noise.resize(static_cast<std::size_t>(fromStep + (options.noiseAtStepZero ? 1 : 0)));
      for (auto& a : noise) a = rng.template reserveNoise<Scalar>(count);
    }
    const auto& c1 = diffusion.posteriorMeanCoef1();
    const auto& c2 = diffusion.posteriorMeanCoef2();
    const auto& sigma = diffusion.reverseStd();
    const Index tile = std::max<Index>(1, std::min<Index>(kTileRows, batch));
    const Index tiles = (batch + tile - 1) / tile;
    // Tiles are independent and each is computed the same way on any thread: same bits at any thread count.
    parallelFor(tiles, tiles > 1, [&](Index k) {
      const Index r0 = k * tile, rows = std::min(tile, batch - r0);
      Matrix xs(rows, d), x0(rows, d), z(rows, d), scratch;
      if (initial != nullptr) simd::normalFill<Scalar>(*initial, static_cast<std::uint64_t>(r0 * d), xs.data(), rows * d);
      else xs = x.middleRows(r0, rows);
      for (Index step = fromStep; step >= 0; --step) {
        denoiser.guidedX0(guided, r0, xs, map(step), x0, scratch);
        const Scalar s = noisy && step > 0 ? sigma(step) : Scalar(0);
        if (s != Scalar(0)) {
          const auto at = static_cast<std::size_t>(fromStep - step);
          simd::normalFill<Scalar>(noise[at], static_cast<std::uint64_t>(r0 * d), z.data(), rows * d);
          xs = c1(step) * x0 + c2(step) * xs + s * z;
        } else {
          xs = c1(step) * x0 + c2(step) * xs;
        }
      }
      x.middleRows(r0, rows) = xs;
    });
  }
};

}  // namespace recdiff

#endif  // RECDIFF_SAMPLING_GUIDED_TILED_HPP
