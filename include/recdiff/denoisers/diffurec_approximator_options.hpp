#ifndef RECDIFF_DENOISERS_DIFFUREC_APPROXIMATOR_OPTIONS_HPP
#define RECDIFF_DENOISERS_DIFFUREC_APPROXIMATOR_OPTIONS_HPP

/// \file diffurec_approximator_options.hpp
/// The shape and behaviour of DiffuRec's approximator (denoisers/diffurec_approximator.hpp): its options, and
/// the parameter tensors those options give, in buffer order and under the reference's state_dict names.
///
/// Usage:
///   DiffuRecApproximatorOptions o{.items = 3416, .hidden = 128, .blocks = 4, .steps = 32};
///   for (const nn::ParameterShape& s : diffuRecApproximatorShapes(o)) std::cout << s.name << '\n';

#include <cstddef>
#include <string>
#include <vector>

#include "../nn/attention_mask.hpp"
#include "../nn/gemm.hpp"
#include "../nn/parameters.hpp"
#include "../types.hpp"

namespace recdiff {

/// Options of DiffuRecApproximator<Scalar> (denoisers/diffurec_approximator.hpp); its constructor validates them.
struct DiffuRecApproximatorOptions {
  Index items = 0;              ///< number of items; the table has items + 1 rows, row 0 = padding (trained)
  Index hidden = 128;           ///< H
  Index blocks = 4;             ///< transformer blocks
  Index heads = 4;              ///< attention heads (the reference hard-codes 4)
  Index maxLength = 50;         ///< longest history (learned positions need len <= maxLength)
  Index steps = 32;             ///< diffusion steps T (timesteps are rescaled by 1000/T)
  bool rescaleTimesteps = true; ///< feed t · 1000/T to the sinusoid (reference), else t
  double lambda = 0.001;        ///< λ: Λ ~ N(λ, λ²)
  double dropout = 0.1;         ///< dropout inside and after the blocks and before the output LayerNorm
  double embeddingDropout = 0.3;///< dropout on E[seq]
  double eps = 1e-12;           ///< LayerNorm epsilon (TF style, as the reference)
  bool learnedPositions = false;///< add a learned position table before the input LayerNorm
  double itemInitStd = 1.0;     ///< reset() draws E ~ N(0, itemInitStd²) (the reference: torch's N(0, 1))
  nn::PaddingMask attentionMask = nn::PaddingMask::kKeys;  ///< kQueryRows = the reference's behaviour
  /// Compute the sinusoid as the reference does, in float32 (t · 1000/T, the frequencies, their product,
  /// cos and sin all rounded to float; the frequencies' exp as PyTorch's CPU kernel computes it, Sleef's
  /// expf_u10 with FMA, which differs from a correctly rounded expf by 1 ULP for some frequencies, e.g. the
  /// third of H = 12), instead of in double. Only for bit-level parity tests: the float32 argument error
  /// reaches 1e-4 for t · 1000/T near 1000, and 1 ULP of a frequency moves the sinusoid by up to ~3e-6.
  bool float32Sinusoid = false;
  /// Round the q_sample coefficients sqrt(alphaBar_t), sqrt(1 − alphaBar_t) to float32 in trainingLoss(), as
  /// the reference's `_extract_into_tensor(...).float()` does even in a float64 run (for x_t and for the
  /// gradient through x_t to E[target]). Only for parity tests: an entry of x_t that is a small difference of
  /// the two terms shows that rounding (3e-5 relative in one golden case).
  bool float32Coefficients = false;
  /// Arithmetic of the large products in training mode (forward and backward): the attention projections, both
  /// FFN layers of every block, the time MLP and the scores x̂0·Eᵀ of the loss with their gradients. kBf16 rounds
  /// both operands of each to bfloat16 and accumulates in fp32 (nn/gemm.hpp, docs/bf16.md); the per-head
  /// attention products, LayerNorms, softmaxes and everything element-wise stay in Scalar. kBf16 needs
  /// Scalar = float, oneDNN and AVX512-BF16; the constructor throws otherwise. Not a checkpointed setting.
  nn::GemmPrecision trainingPrecision = nn::GemmPrecision::kFloat;
  /// The same for evaluation mode (the reverse process of inference).
  nn::GemmPrecision inferencePrecision = nn::GemmPrecision::kFloat;
};

/// The parameter tensors of a DiffuRecApproximator with options `o`, in its buffer order, named as the
/// reference's state_dict (the Q/K/V projections fused into one [3H × H] tensor), for checkpoints.
inline std::vector<nn::ParameterShape> diffuRecApproximatorShapes(const DiffuRecApproximatorOptions& o) {
  const Index h = o.hidden, f = 4 * h;
  std::vector<nn::ParameterShape> s;
  s.push_back({"item_embeddings.weight", {o.items + 1, h}});
  if (o.learnedPositions) s.push_back({"position_embeddings.weight", {o.maxLength, h}});
  s.push_back({"LayerNorm.weight", {h}});
  s.push_back({"LayerNorm.bias", {h}});
  const std::string x = "diffu.xstart_model.";
  s.push_back({x + "time_embed.0.weight", {f, h}});
  s.push_back({x + "time_embed.0.bias", {f}});
  s.push_back({x + "time_embed.2.weight", {h, f}});
  s.push_back({x + "time_embed.2.bias", {h}});
  for (std::size_t k = 0; k < static_cast<std::size_t>(o.blocks); ++k) {
    const std::string p = x + "att.transformer_blocks." + std::to_string(k) + ".";
    s.push_back({p + "attention.qkv.weight", {3 * h, h}});
    s.push_back({p + "attention.qkv.bias", {3 * h}});
    s.push_back({p + "attention.w_layer.weight", {h, h}});
    s.push_back({p + "attention.w_layer.bias", {h}});
    s.push_back({p + "feed_forward.w_1.weight", {f, h}});
    s.push_back({p + "feed_forward.w_1.bias", {f}});
    s.push_back({p + "feed_forward.w_2.weight", {h, f}});
    s.push_back({p + "feed_forward.w_2.bias", {h}});
    s.push_back({p + "input_sublayer.norm.weight", {h}});
    s.push_back({p + "input_sublayer.norm.bias", {h}});
    s.push_back({p + "output_sublayer.norm.weight", {h}});
    s.push_back({p + "output_sublayer.norm.bias", {h}});
  }
  s.push_back({x + "norm_diffu_rep.weight", {h}});
  s.push_back({x + "norm_diffu_rep.bias", {h}});
  return s;
}

}  // namespace recdiff

#endif  // RECDIFF_DENOISERS_DIFFUREC_APPROXIMATOR_OPTIONS_HPP
