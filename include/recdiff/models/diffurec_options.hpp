#ifndef RECDIFF_MODELS_DIFFUREC_OPTIONS_HPP
#define RECDIFF_MODELS_DIFFUREC_OPTIONS_HPP

/// \file diffurec_options.hpp
/// DiffuRec's options and their field table (io/fields.hpp): the keys of a DiffuRec checkpoint's
/// hyperparameters, the example's flags and the --report entries, each written once, in fields().

#include <array>

#include "../denoisers/diffurec_approximator_options.hpp"
#include "../io/fields.hpp"
#include "../io/schedule_fields.hpp"
#include "../memory.hpp"
#include "../nn/gemm.hpp"
#include "../nn/attention_mask.hpp"
#include "../schedules/make_schedule.hpp"
#include "../types.hpp"
#include "diffrec_options.hpp"  // the field names of nn::GemmPrecision

namespace recdiff {

namespace nn {
/// The names of PaddingMask in field tables: keys | query_rows (query-rows reads the same).
constexpr std::array<io::FieldChoice<PaddingMask>, 2> fieldChoices(PaddingMask) {
  return {{{"keys", PaddingMask::kKeys}, {"query_rows", PaddingMask::kQueryRows}}};
}
}  // namespace nn

/// DiffuRec's hyperparameters; the defaults are the authors' (main.py flags in brackets).
struct DiffuRecOptions {
  // approximator
  Index hidden = 128;                ///< [--hidden_size]
  Index blocks = 4;                  ///< [--num_blocks]
  Index heads = 4;                   ///< (hard-coded 4 in the reference)
  Index maxLength = 50;              ///< [--max_len] history positions, left padding
  double dropout = 0.1;              ///< [--dropout]
  double embeddingDropout = 0.3;     ///< [--emb_dropout]
  double lambda = 0.001;             ///< [--lambda_uncertainty]
  bool learnedPositions = false;     ///< the reference declares positions but does not add them
  double itemInitStd = 1.0;          ///< E ~ N(0, itemInitStd²) at initialisation (reference: 1)
  nn::PaddingMask attentionMask = nn::PaddingMask::kKeys;  ///< kQueryRows = the reference's behaviour
  // diffusion
  ScheduleSpec schedule = io::plainSchedule("trunc_lin");  ///< [--noise_schedule]
  Index steps = 32;                    ///< [--diffusion_steps]
  bool rescaleTimesteps = true;        ///< [--rescale_timesteps]
  bool lossAwareTimesteps = false;     ///< update the loss-aware sampler and weight the loss (see models/diffurec.hpp)
  // optimisation
  double learningRate = 1e-3;  ///< [--lr]
  double weightDecay = 0.0;    ///< [--weight_decay] (L2, torch.optim.Adam)
  Index batchSize = 512;       ///< [--batch_size]
  Index decayStep = 100;       ///< [--decay_step] StepLR, in epochs
  double gamma = 0.1;          ///< [--gamma]
  Index samplesPerEpoch = 0;   ///< 0: every training sample per epoch; else a fresh random subset of this size
  // inference
  Index inferenceRuns = 1;     ///< reverse runs averaged per scored history
  // execution (not checkpointed settings)
  /// Data parallelism: a training batch is cut into near-equal tiles of at most trainingTile rows, a batch of
  /// histories to infer into tiles of at most inferenceTile rows. The tiles run on the OpenMP threads, each
  /// through its own copy of the approximator (parameters copied in, its own workspaces, single-threaded
  /// products); training gradients are summed in tile order. A tile's random numbers (dropout masks, Λ, reverse
  /// noise) come from streams of its index, so results do not depend on the thread count. 0: never cut.
  Index trainingTile = 64;
  Index inferenceTile = 32;
  // arithmetic (docs/bf16.md; recorded in checkpoints)
  /// Products of training steps: kBf16 rounds the operands of every large product (attention projections, FFNs,
  /// time MLP, the loss's x̂0·Eᵀ and their gradients) to bfloat16 with fp32 accumulation. Needs DiffuRec<float>,
  /// oneDNN and AVX512-BF16: the constructor throws otherwise.
  nn::GemmPrecision trainingPrecision = nn::GemmPrecision::kFloat;
  /// The same for inference: the reverse process and the scoring product x̂0·Eᵀ.
  nn::GemmPrecision inferencePrecision = nn::GemmPrecision::kFloat;

  /// The field table (io/fields.hpp); Self is DiffuRecOptions or const DiffuRecOptions.
  template <class Self, class V>
  static void fields(Self& o, V&& v) {
    using io::Field;
    v(Field("hidden_size", "hidden size H").flag("--hidden"), o.hidden);
    v(Field("num_blocks", "transformer blocks").flag("--blocks"), o.blocks);
    v(Field("heads", "attention heads"), o.heads);
    v(Field("max_len", "history positions (the most recent items, left padding)"), o.maxLength);
    v(Field("dropout", "dropout in and after the blocks"), o.dropout);
    v(Field("emb_dropout", "dropout on the history's item embeddings"), o.embeddingDropout);
    v(Field("lambda_uncertainty", "lambda_uncertainty: Λ ~ N(λ, λ²)").flag("--lambda"), o.lambda);
    v(Field("learned_positions", "add learned position embeddings (the reference does not)").flag("--positions"),
      o.learnedPositions);
    v(Field("item_init_std", "initial item embeddings ~ N(0, std^2) (reference: 1)"), o.itemInitStd);
    v(Field("attention_mask", "keys (padded keys hidden) | query-rows (the reference code's mask)"), o.attentionMask);
    io::scheduleFields(v, o.schedule, &io::plainSchedule,
                       Field("noise_schedule", "noise schedule (trunc_lin, linear, cosine, sqrt, ...)").flag("--schedule"),
                       Field("noise_min", "schedule: noise lower bound"), Field("noise_max", "schedule: noise upper bound"));
    v(Field("diffusion_steps", "diffusion steps T").flag("--steps"), o.steps);
    v(Field("rescale_timesteps", "feed t unscaled to the time embedding (the reference rescales to 1000/T)")
          .flag("--no-rescale-timesteps"),
      o.rescaleTimesteps);
    v(Field("loss_aware_timesteps", "loss-aware timestep sampling, updated and importance-weighted").flag("--loss-aware"),
      o.lossAwareTimesteps);
    v(Field("lr", "Adam learning rate"), o.learningRate);
    v(Field("weight_decay", "Adam L2 weight decay"), o.weightDecay);
    v(Field("batch_size", "training samples per batch"), o.batchSize);
    v(Field("decay_step", "StepLR step in epochs"), o.decayStep);
    v(Field("gamma", "StepLR factor"), o.gamma);
    v(Field("samples_per_epoch", "random training samples per epoch (0: all)"), o.samplesPerEpoch);
    v(Field("inference_runs", "reverse runs averaged per user at inference"), o.inferenceRuns);
    v(Field("training_tile", "rows per data-parallel training tile (0: none)").execution(), o.trainingTile);
    v(Field("inference_tile", "histories per data-parallel inference tile (0: none)").execution(), o.inferenceTile);
    v(Field("training_precision", "GEMM arithmetic of training: float | bf16 (docs/bf16.md)").flag("--precision").optional(),
      o.trainingPrecision);
    v(Field("inference_precision", "GEMM arithmetic of inference: float | bf16 (default: --precision)").optional(),
      o.inferencePrecision);
  }
};

/// The approximator options of a DiffuRec model with options `o` over `items` items.
inline DiffuRecApproximatorOptions diffuRecApproximatorOptions(const DiffuRecOptions& o, Index items) {
  return {.items = items,
          .hidden = o.hidden,
          .blocks = o.blocks,
          .heads = o.heads,
          .maxLength = o.maxLength,
          .steps = o.steps,
          .rescaleTimesteps = o.rescaleTimesteps,
          .lambda = o.lambda,
          .dropout = o.dropout,
          .embeddingDropout = o.embeddingDropout,
          .learnedPositions = o.learnedPositions,
          .itemInitStd = o.itemInitStd,
          .attentionMask = o.attentionMask,
          .trainingPrecision = o.trainingPrecision,
          .inferencePrecision = o.inferencePrecision};
}

/// The options checked for DiffuRec over `items` items (the model's constructor); throws naming the field.
inline DiffuRecOptions validatedDiffuRecOptions(const DiffuRecOptions& o, Index items) {
  RECDIFF_REQUIRE(items > 0, "DiffuRec: items must be positive, got ", items);
  RECDIFF_REQUIRE(o.batchSize > 0, "DiffuRec: batchSize must be positive, got ", o.batchSize);
  RECDIFF_REQUIRE(o.steps > 0, "DiffuRec: steps must be positive, got ", o.steps);
  RECDIFF_REQUIRE(o.inferenceRuns > 0, "DiffuRec: inferenceRuns must be positive, got ", o.inferenceRuns);
  RECDIFF_REQUIRE(o.trainingTile >= 0 && o.inferenceTile >= 0, "DiffuRec: trainingTile and inferenceTile must be ",
                  ">= 0, got ", o.trainingTile, " and ", o.inferenceTile);
  RECDIFF_REQUIRE(o.samplesPerEpoch >= 0, "DiffuRec: samplesPerEpoch must be >= 0, got ", o.samplesPerEpoch);
  RECDIFF_REQUIRE(o.dropout >= 0.0 && o.dropout < 1.0 && o.embeddingDropout >= 0.0 && o.embeddingDropout < 1.0,
                  "DiffuRec: dropout rates must lie in [0, 1), got ", o.dropout, " and ", o.embeddingDropout);
  return o;
}

/// GEMM FLOPs the implementation performs, for throughput reports (achieved GFLOP/s).
struct DiffuRecFlops {
  double forwardPerHistory = 0.0;  ///< one approximator forward of a full-length history (no scoring)
  double trainPerSample = 0.0;     ///< forward + scoring against every item, backward ≈ 2 × forward
  double inferencePerUser = 0.0;   ///< steps × inferenceRuns forwards + one scoring product
};

/// FLOPs of a model with options `o` over `items` items and histories of o.maxLength positions: every block
/// but the last over all positions (projections 24·L·H², attention products 4·L²·H), the last block K and V
/// over all positions and the rest for the last one, the time MLP (16·H²) and the scores (2·H·(items + 1)).
inline DiffuRecFlops diffuRecFlops(const DiffuRecOptions& o, Index items) {
  const double h = static_cast<double>(o.hidden), l = static_cast<double>(o.maxLength);
  const double full = l * 24.0 * h * h + 4.0 * l * l * h;
  const double last = l * 4.0 * h * h + 20.0 * h * h + 4.0 * l * h;
  DiffuRecFlops f;
  f.forwardPerHistory = (o.blocks > 0 ? static_cast<double>(o.blocks - 1) * full + last : 0.0) + 16.0 * h * h;
  const double scoring = 2.0 * h * static_cast<double>(items + 1);
  f.trainPerSample = 3.0 * (f.forwardPerHistory + scoring);
  f.inferencePerUser = static_cast<double>(o.steps * o.inferenceRuns) * f.forwardPerHistory + scoring;
  return f;
}

/// An estimate of the training activations' bytes: per block and history position about 16·hidden values
/// (LayerNorms, Q/K/V, attention output, the ×4 FFN before and after GELU, residuals) plus 2·heads·maxLength
/// attention scores and probabilities, kept for the backward pass; and the [batch × items] logits with their
/// gradient.
inline std::uint64_t diffuRecActivationBytes(const DiffuRecOptions& o, Index items, std::size_t scalarBytes) {
  const auto u = [](Index v) { return static_cast<std::uint64_t>(v); };
  const std::uint64_t perPosition = 16 * u(o.hidden) + 2 * u(o.heads) * u(o.maxLength);
  const std::uint64_t blocks = denseBytes(u(o.batchSize) * u(o.maxLength) * u(o.blocks), perPosition, scalarBytes);
  return blocks + denseBytes(2 * u(o.batchSize), u(items) + 1, scalarBytes);
}

/// Refuses (recdiff::MemoryError, one line) training whose activations do not fit in the memory available.
inline void requireDiffuRecActivationMemory(const DiffuRecOptions& o, Index items, std::size_t scalarBytes) {
  requireMemory(diffuRecActivationBytes(o, items, scalarBytes),
                detail::concat("DiffuRec::trainEpoch(): the activations of a batch (", o.batchSize, " x ", o.maxLength,
                               " positions x ", o.hidden, " hidden x ", o.blocks, " blocks, and the ", o.batchSize,
                               " x ", items, " item logits)"),
                "lower --batch-size or --max-len");
}

}  // namespace recdiff

#endif  // RECDIFF_MODELS_DIFFUREC_OPTIONS_HPP
