#ifndef RECDIFF_DIFFUSION_POLICIES_HPP
#define RECDIFF_DIFFUSION_POLICIES_HPP

/// \file policies.hpp
/// Tag types that choose, at compile time, what the denoiser predicts and which reverse variance is used
/// (STYLE.md 4.2: tags and `if constexpr`, never an enum and a switch).

#include <type_traits>

namespace recdiff {

/// The denoiser returns an estimate of x0 (DiffRec's default, DreamRec, DiffuRec).
struct PredictX0 {};
/// The denoiser returns an estimate of the added noise epsilon (Ho et al. 2020, Eq. 11).
struct PredictEpsilon {};

/// Reverse variance sigma_t^2 = posterior variance beta~_t (Ho et al. 2020, Sec. 3.2), with the log taken
/// of the t = 1 value at t = 0 ("clipped"); DiffRec and DreamRec.
struct FixedSmallVariance {};
/// Reverse variance sigma_t^2 = beta_t, with t = 0 replaced by the posterior variance at t = 1 (Ho et al.'s
/// "fixed large"; DiffuRec's reverse_p_sample).
struct FixedLargeVariance {};
/// No reverse noise: every step returns the posterior mean (DiffRec's inference with sampling_noise off).
struct NoNoiseVariance {};

template <class P>
inline constexpr bool isParameterization = std::is_same_v<P, PredictX0> || std::is_same_v<P, PredictEpsilon>;

template <class V>
inline constexpr bool isVariancePolicy = std::is_same_v<V, FixedSmallVariance> ||
                                         std::is_same_v<V, FixedLargeVariance> || std::is_same_v<V, NoNoiseVariance>;

}  // namespace recdiff

#endif  // RECDIFF_DIFFUSION_POLICIES_HPP
