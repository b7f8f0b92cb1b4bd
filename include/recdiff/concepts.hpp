#ifndef RECDIFF_CONCEPTS_HPP
#define RECDIFF_CONCEPTS_HPP

/// \file concepts.hpp
/// The contracts user types must meet, each in two spellings that must agree: a C++17-style trait
/// (`isSchedule<S>`, usable in static_assert messages) and a C++20 concept (`Schedule<S>`). The prose
/// version, with a class skeleton per contract, is docs/concepts.md.

#include <concepts>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include "random.hpp"
#include "timesteps/timestep_batch.hpp"
#include "types.hpp"

namespace recdiff {

// ---------------------------------------------------------------------------------------------- Schedule

/// C++20 spelling of the Schedule contract (docs/concepts.md#schedule): `Eigen::ArrayXd betas(Index) const`.
template <class S>
concept Schedule = std::copy_constructible<S> && requires(const S& s, Index steps) {
  { s.betas(steps) } -> std::convertible_to<Eigen::ArrayXd>;
};

/// Trait spelling of Schedule, for static_assert messages.
template <class S>
inline constexpr bool isSchedule = Schedule<S>;

// ------------------------------------------------------------------------------------- TimestepSampler

/// C++20 spelling of the TimestepSampler contract (docs/concepts.md#timestepsampler): `steps()`,
/// `weights()` of length steps, and `sample<Scalar>(batch, rng)` returning a TimestepBatch.
template <class S>
concept TimestepSampler = requires(const S& s, Index batch, Rng& rng) {
  { s.steps() } -> std::convertible_to<Index>;
  { s.weights() } -> std::convertible_to<Eigen::ArrayXd>;
  { s.template sample<float>(batch, rng) } -> std::same_as<TimestepBatch<float>>;
  { s.template sample<double>(batch, rng) } -> std::same_as<TimestepBatch<double>>;
};

template <class S>
inline constexpr bool isTimestepSampler = TimestepSampler<S>;

/// True when a sampler has the optional `update(t, losses)` hook (the trainer calls it after each step).
template <class S, class Scalar>
inline constexpr bool hasUpdateHook =
    requires(S& s, const Eigen::ArrayXi& t, const Eigen::Array<Scalar, Eigen::Dynamic, 1>& loss) { s.update(t, loss); };

/// True when a sampler can draw into an existing TimestepBatch (`sampleInto(batch, rng, out)`), which the
/// trainer uses so that its per-batch loop allocates nothing.
template <class S, class Scalar>
inline constexpr bool hasSampleInto =
    requires(const S& s, Index batch, Rng& rng, TimestepBatch<Scalar>& out) { s.sampleInto(batch, rng, out); };

/// Draws `batch` timesteps into `out`: through sampleInto() when the sampler has it, else by assignment.
template <class Scalar, class S>
void drawTimesteps(const S& sampler, Index batch, Rng& rng, TimestepBatch<Scalar>& out) {
  if constexpr (hasSampleInto<S, Scalar>) {
    sampler.sampleInto(batch, rng, out);
  } else {
    out = sampler.template sample<Scalar>(batch, rng);
  }
}

// -------------------------------------------------------------------------------------------- Denoiser

/// The condition type of an unconditional denoiser (DiffRec).
struct NoCondition {};

/// What the reverse process needs from a denoiser (docs/concepts.md#denoiser): `Scalar` and `Condition`
/// member types and `forward(xt, t, cond, out)` with xt, out [batch × dim] and t [batch] (0-based steps).
template <class D>
concept InferenceDenoiser = requires(D& d, const RowMatrix<typename D::Scalar>& xt, const Eigen::ArrayXi& t,
                                     const typename D::Condition& cond, RowMatrix<typename D::Scalar>& out) {
  typename D::Scalar;
  typename D::Condition;
  d.forward(xt, t, cond, out);
};

template <class D>
inline constexpr bool isInferenceDenoiser = InferenceDenoiser<D>;

/// True when a denoiser offers the optional unconditional pass `forwardUnconditional(xt, t, out)` that
/// classifier-free guidance needs (DreamRec's f(x_t, ∅, t)).
template <class D>
inline constexpr bool hasUnconditionalForward =
    requires(D& d, const RowMatrix<typename D::Scalar>& xt, const Eigen::ArrayXi& t, RowMatrix<typename D::Scalar>& out) {
      d.forwardUnconditional(xt, t, out);
    };

/// The full, trainable Denoiser (docs/concepts.md#denoiser): InferenceDenoiser plus
/// `backward(dOut, dXt*)` and `parameters()` (the flat nn::ParameterBuffer; checked by the trainer).
template <class D>
concept Denoiser = InferenceDenoiser<D> && requires(D& d, const RowMatrix<typename D::Scalar>& dOut) {
  d.backward(dOut, static_cast<RowMatrix<typename D::Scalar>*>(nullptr));
  d.parameters();
};

template <class D>
inline constexpr bool isDenoiser = Denoiser<D>;

}  // namespace recdiff

#endif  // RECDIFF_CONCEPTS_HPP
