#ifndef RECDIFF_DENOISERS_TIME_EMBEDDING_HPP
#define RECDIFF_DENOISERS_TIME_EMBEDDING_HPP

/// \file time_embedding.hpp
/// Sinusoidal timestep embeddings (Vaswani et al. 2017, Sec. 3.5; Ho et al. 2020, App. B) in the two layouts
/// the reference recommenders use:
///  - [cos | sin], frequencies f_i = P^(−i/h), h = ⌊dim/2⌋, i = 0 … h−1, odd dim zero-padded at the end
///    (DiffRec's and DiffuRec's `timestep_embedding`; DiffuRec feeds t · 1000/T, DiffRec the raw t);
///  - [sin | cos], frequencies f_i = P^(−i/(h−1)) on the raw t (DreamRec's SinusoidalPositionEmbeddings).
/// P is the max period (10000). Computed in double by default: the references compute in float32, so they agree
/// with it to float32 rounding of the argument (about 1e-7 · (1 + t)); `float32Arithmetic` follows their float32
/// steps instead (within an ulp or two of torch's vectorised exp/sin/cos). The embedding has no parameters and t is discrete, so there is no backward.

#include <cmath>

#include <Eigen/Core>

#include "../error.hpp"
#include "../types.hpp"

namespace recdiff {

/// Order of the two halves and the frequency divisor; see the file comment.
enum class SinusoidLayout {
  kCosSin,  ///< [cos | sin], divisor h (DiffRec, DiffuRec)
  kSinCos   ///< [sin | cos], divisor h − 1 (DreamRec)
};

/// Options of sinusoidalTimestepEmbedding().
struct TimeEmbeddingOptions {
  SinusoidLayout layout = SinusoidLayout::kCosSin;
  double timeScale = 1.0;      ///< t is multiplied by this first (DiffuRec: 1000 / steps)
  double maxPeriod = 10000.0;  ///< P
  /// Compute as the PyTorch references do, in float32 (frequencies, t·f, cos and sin all rounded to float):
  /// matches them to about one float32 ulp instead of to float32 rounding of the argument.
  bool float32Arithmetic = false;
};

/// DiffRec's embedding: [cos | sin], raw t.
inline TimeEmbeddingOptions diffRecTimeEmbedding() { return {}; }
/// DiffuRec's embedding: [cos | sin] on t · 1000 / steps.
inline TimeEmbeddingOptions diffuRecTimeEmbedding(Index steps) {
  TimeEmbeddingOptions o;
  o.timeScale = 1000.0 / static_cast<double>(steps);
  return o;
}
/// DreamRec's embedding: [sin | cos], divisor h − 1, raw t.
inline TimeEmbeddingOptions dreamRecTimeEmbedding() {
  TimeEmbeddingOptions o;
  o.layout = SinusoidLayout::kSinCos;
  return o;
}

/// Writes the embedding of every t into `out` [batch × dim] (resized).  t: [batch], any non-negative values.
template <class Scalar>
void sinusoidalTimestepEmbedding(const Eigen::Ref<const Eigen::ArrayXi>& t, Index dim, RowMatrix<Scalar>& out,
                                 const TimeEmbeddingOptions& options = {}) {
  RECDIFF_REQUIRE(dim > 0, "sinusoidalTimestepEmbedding(): dim must be positive, got ", dim);
  const Index half = dim / 2;
  const bool sinFirst = options.layout == SinusoidLayout::kSinCos;
  if (sinFirst) {
    RECDIFF_REQUIRE(dim % 2 == 0 && half >= 2, "sinusoidalTimestepEmbedding(): the [sin | cos] layout needs an even dim >= 4, got ",
                    dim);
  }
  const double divisor = static_cast<double>(sinFirst ? half - 1 : half);
  out.resize(t.size(), dim);
  out.setZero();
  const double logPeriod = std::log(options.maxPeriod);
  for (Index i = 0; i < half; ++i) {
    const double freq = std::exp(-logPeriod * static_cast<double>(i) / divisor);
    // torch: exp(-log(P) * arange(half, float32) / divisor), all in float32.
    const float freq32 = std::exp(static_cast<float>(-logPeriod) * static_cast<float>(i) / static_cast<float>(divisor));
    for (Index r = 0; r < t.size(); ++r) {
      double c, s;
      if (options.float32Arithmetic) {
        const float a = static_cast<float>(static_cast<double>(t(r)) * options.timeScale) * freq32;
        c = static_cast<double>(std::cos(a));
        s = static_cast<double>(std::sin(a));
      } else {
        const double a = static_cast<double>(t(r)) * options.timeScale * freq;
        c = std::cos(a);
        s = std::sin(a);
      }
      out(r, i) = static_cast<Scalar>(sinFirst ? s : c);
      out(r, half + i) = static_cast<Scalar>(sinFirst ? c : s);
    }
  }
}

}  // namespace recdiff

#endif  // RECDIFF_DENOISERS_TIME_EMBEDDING_HPP
