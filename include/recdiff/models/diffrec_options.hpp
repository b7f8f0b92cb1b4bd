#ifndef RECDIFF_MODELS_DIFFREC_OPTIONS_HPP
#define RECDIFF_MODELS_DIFFREC_OPTIONS_HPP

/// \file diffrec_options.hpp
/// DiffRec's options and their field table (io/fields.hpp): the keys of a DiffRec checkpoint's hyperparameters,
/// the examples' flags and the --report entries, each written once, in fields().

#include <vector>

#include "../diffusion/losses.hpp"
#include "../io/fields.hpp"
#include "../io/schedule_fields.hpp"
#include "../nn/gemm.hpp"
#include "../schedules/make_schedule.hpp"
#include "../types.hpp"

namespace recdiff {

namespace nn {
/// The names of GemmPrecision in field tables: float | bf16.
constexpr std::array<io::FieldChoice<GemmPrecision>, 2> fieldChoices(GemmPrecision) {
  return {{{"float", GemmPrecision::kFloat}, {"bf16", GemmPrecision::kBf16}}};
}
}  // namespace nn

/// DiffRec's hyperparameters; the defaults are the authors' ml-1m_clean settings (reference flags in brackets).
struct DiffRecOptions {
  // denoiser
  std::vector<Index> dims = {200, 600};  ///< [--dims] hidden widths, mirrored (see DiffRecMlp)
  Index timeEmbeddingSize = 10;          ///< [--emb_size]
  bool normalizeInput = false;           ///< [--norm]
  double dropout = 0.5;                  ///< on the input row, during training
  // diffusion
  ScheduleSpec schedule = defaultSchedule();  ///< [--noise_schedule --noise_scale --noise_min --noise_max]
  Index steps = 40;                       ///< [--steps]
  bool reweight = true;                   ///< [--reweight]
  /// Round the q_sample coefficients (given noise) and the t = 0 eps likelihood coefficients to float32 as the
  /// reference does (CoefficientPrecision in diffusion/losses.hpp); only for parity tests. Not checkpointed.
  CoefficientPrecision coefficientPrecision = CoefficientPrecision::kDouble;
  Index samplingSteps = 0;                ///< [--sampling_steps] forward steps before inference
  bool samplingNoise = false;             ///< [--sampling_noise]
  /// Inference through DiffRecFoldedReverse (the noiseless loop in hidden space, 6× fewer flops on
  /// ml-1m_clean; equal in exact arithmetic): kAuto uses it whenever it applies (no --norm, no sampling
  /// noise) and pays for itself, kNever keeps the step-by-step DdpmSampler loop. Not a checkpointed setting.
  enum class Folding { kAuto, kAlways, kNever };
  Folding foldedReverse = Folding::kAuto;
  // timestep sampler
  Index lossHistory = 10;                 ///< losses kept per step (the reference's history_num_per_term)
  double uniformMix = 1e-3;               ///< uniform share of the importance distribution
  // optimisation
  double learningRate = 1e-3;             ///< [--lr]
  double weightDecay = 0.0;               ///< [--weight_decay] (AdamW, decoupled)
  Index batchSize = 400;                  ///< [--batch_size]
  /// GEMM arithmetic of training (DiffRecMlpOptions::trainingPrecision): kBf16 = bf16 operands, fp32
  /// accumulation (docs/bf16.md); inference stays float. Recorded in checkpoints (`training_precision`).
  nn::GemmPrecision trainingPrecision = nn::GemmPrecision::kFloat;

  /// linear-var(0.005, 0.005, 0.01) with beta_0 fixed to 1e-5: DiffRec's ml-1m_clean schedule.
  static ScheduleSpec defaultSchedule() {
    ScheduleSpec s;
    s.name = "linear-var";
    s.noiseScale = 0.005;
    s.noiseMin = 0.005;
    s.noiseMax = 0.01;
    s.firstBeta = 1e-5;
    return s;
  }

  /// The field table (io/fields.hpp); Self is DiffRecOptions or const DiffRecOptions.
  template <class Self, class V>
  static void fields(Self& o, V&& v) {
    using io::Field;
    v(Field("dims", "hidden widths, mirrored, e.g. [200,600]"), o.dims);
    v(Field("emb_size", "timestep embedding size"), o.timeEmbeddingSize);
    v(Field("norm", "L2-normalise the input rows"), o.normalizeInput);
    v(Field("dropout", "dropout on the input row during training"), o.dropout);
    io::scheduleFields(v, o.schedule, &io::plainSchedule,
                       Field("noise_schedule", "linear-var | linear | cosine | binomial | ... (resets the noise "
                                               "parameters to the schedule's defaults)"),
                       Field("noise_min", "noise lower bound"), Field("noise_max", "noise upper bound"));
    v(Field("steps", "diffusion steps"), o.steps);
    v(Field("reweight", "turn off the SNR loss reweighting").flag("--no-reweight"), o.reweight);
    v(Field("sampling_steps", "forward steps before inference (0: start from the clean row)"), o.samplingSteps);
    v(Field("sampling_noise", "add noise in the reverse steps at inference"), o.samplingNoise);
    v(Field("reverse", "inference loop: folded (the noiseless loop in hidden space, 6x fewer flops; by default "
                       "whenever there is no --norm and no --sampling-noise) or stepwise (one MLP pass per step)")
          .execution(),
      o.foldedReverse);
    v(Field("loss_history", "losses kept per step by the loss-aware timestep sampler"), o.lossHistory);
    v(Field("uniform_mix", "uniform share of the timestep importance distribution"), o.uniformMix);
    v(Field("lr", "learning rate (AdamW)"), o.learningRate);
    v(Field("weight_decay", "AdamW weight decay"), o.weightDecay);
    v(Field("batch_size", "users per batch"), o.batchSize);
    v(Field("training_precision", "GEMM arithmetic of training: float, or bf16 (bf16 operands, fp32 sums; needs "
                                  "oneDNN and AVX512-BF16; inference stays float)")
          .flag("--precision")
          .optional(),
      o.trainingPrecision);
  }
};

/// The names of DiffRecOptions::Folding: auto | folded (kAlways) | stepwise (kNever).
constexpr std::array<io::FieldChoice<DiffRecOptions::Folding>, 3> fieldChoices(DiffRecOptions::Folding) {
  using F = DiffRecOptions::Folding;
  return {{{"auto", F::kAuto}, {"folded", F::kAlways}, {"stepwise", F::kNever}}};
}

}  // namespace recdiff

#endif  // RECDIFF_MODELS_DIFFREC_OPTIONS_HPP
