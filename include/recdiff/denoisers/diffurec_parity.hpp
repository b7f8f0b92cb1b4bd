#ifndef RECDIFF_DENOISERS_DIFFUREC_PARITY_HPP
#define RECDIFF_DENOISERS_DIFFUREC_PARITY_HPP

/// \file diffurec_parity.hpp
/// Bit-level parity with DiffuRec's PyTorch reference, for the approximator's float32Sinusoid option
/// (DiffuRecApproximatorOptions): the timestep sinusoid computed in float32 as the reference computes it,
/// with the frequencies' exp as PyTorch's CPU kernel rounds it. Only parity tests need these; the library's
/// own sinusoid is denoisers/time_embedding.hpp.
///
/// Usage:
///   RowMatrix<double> e;
///   diffuRecReferenceSinusoid(t, 128, 1000.0 / 32, e);   // [t.size() × 128], [cos | sin]

#include <cmath>
#include <limits>

#include <Eigen/Core>

#include "../types.hpp"

namespace recdiff {

/// exp as PyTorch's float32 CPU kernel computes it (Sleef_expf*_u10 with FMA: Cody-Waite reduction by
/// ln 2, a degree-6 polynomial, 2^q scaling); equal to torch.exp on every float32 we compared (233,153 values
/// in [-30, 5] and every frequency for H = 2 … 512). Used by diffuRecReferenceSinusoid().
inline float torchExpf(float d) {
  const float qf = std::nearbyint(d * 1.442695040888963407359924681001892137f);
  float s = std::fmaf(qf, -0.693145751953125f, d);
  s = std::fmaf(qf, -1.428606765330187045e-06f, s);
  float u = 0.000198527617612853646278381f;
  u = std::fmaf(u, s, 0.00139304355252534151077271f);
  u = std::fmaf(u, s, 0.00833336077630519866943359f);
  u = std::fmaf(u, s, 0.0416664853692054748535156f);
  u = std::fmaf(u, s, 0.166666671633720397949219f);
  u = std::fmaf(u, s, 0.5f);
  u = 1.0f + std::fmaf(s * s, u, s);
  if (d < -104.0f) return 0.0f;
  if (d > 104.0f) return std::numeric_limits<float>::infinity();
  return std::ldexp(u, static_cast<int>(qf));
}

/// The reference's float32 [cos | sin] sinusoid (Diffu_xstart.timestep_embedding on t.float() · scale) of
/// width h, out: [t.size() × h] (an odd h leaves the last column 0, as the reference's zero pad).
template <class Scalar>
void diffuRecReferenceSinusoid(const Eigen::ArrayXi& t, Index h, double scale, RowMatrix<Scalar>& out) {
  const Index half = h / 2;
  out.setZero(t.size(), h);
  const float logPeriod = static_cast<float>(-std::log(10000.0));
  for (Index i = 0; i < half; ++i) {
    const float freq = torchExpf(logPeriod * static_cast<float>(i) / static_cast<float>(half));
    for (Index r = 0; r < t.size(); ++r) {
      const float a = (static_cast<float>(t(r)) * static_cast<float>(scale)) * freq;
      out(r, i) = static_cast<Scalar>(std::cos(a));
      out(r, half + i) = static_cast<Scalar>(std::sin(a));
    }
  }
}

}  // namespace recdiff

#endif  // RECDIFF_DENOISERS_DIFFUREC_PARITY_HPP
