#ifndef RECDIFF_MODELS_DREAMREC_OPTIONS_HPP
#define RECDIFF_MODELS_DREAMREC_OPTIONS_HPP

/// \file dreamrec_options.hpp
/// DreamRec's options and their field table (io/fields.hpp): the keys of a DreamRec checkpoint's
/// hyperparameters, the example's flags and the --report entries, each written once, in fields().

#include <array>
#include <string>

#include "../denoisers/dreamrec_denoiser.hpp"
#include "../error.hpp"
#include "../io/fields.hpp"
#include "../io/schedule_fields.hpp"
#include "../schedules/make_schedule.hpp"
#include "../types.hpp"

namespace recdiff {

/// What an empty history (no item before the target) is encoded as.
enum class EmptyHistory {
  kReference,   ///< h = LN3(0) = LN3's bias, what the reference's indexing of position −1 computes
  kNullVector,  ///< h = the guidance null vector n (the history is "no condition")
};

/// The names of EmptyHistory in field tables: reference | null.
constexpr std::array<io::FieldChoice<EmptyHistory>, 2> fieldChoices(EmptyHistory) {
  return {{{"reference", EmptyHistory::kReference}, {"null", EmptyHistory::kNullVector}}};
}

/// The names of DreamRecArchitecture in field tables: mlp1 | mlp2.
constexpr std::array<io::FieldChoice<DreamRecArchitecture>, 2> fieldChoices(DreamRecArchitecture) {
  return {{{"mlp1", DreamRecArchitecture::kMlp1}, {"mlp2", DreamRecArchitecture::kMlp2}}};
}

/// DreamRec's hyperparameters; the defaults are the authors' YooChoose command (flags in brackets).
struct DreamRecOptions {
  Index hidden = 64;          ///< [--hidden_factor] H
  Index maxLength = 10;       ///< history length N (the reference's seq_size)
  Index heads = 1;            ///< T-enc attention heads
  double dropout = 0.1;       ///< [--dropout_rate] T-enc dropout
  DreamRecArchitecture architecture = DreamRecArchitecture::kMlp1;  ///< [--diffuser_type]
  /// [--beta_sche --beta_start --beta_end] exp, linear, cosine or sqrt with DreamRec's conventions (namedSchedule()).
  ScheduleSpec schedule = namedSchedule("exp");
  Index steps = 500;          ///< [--timesteps] T
  double guidance = 2.0;      ///< [--w]
  double nullProbability = 0.1;  ///< [--p] probability of training a row with n instead of h
  double learningRate = 1e-3; ///< [--lr]
  double weightDecay = 0.0;   ///< [--l2_decay] (AdamW, decoupled)
  Index batchSize = 256;      ///< [--batch_size]
  /// Threads of the training loop (0: all available). At batch 256 a step's products and loops are too small
  /// for a split to pay for its fork and join: bench_dreamrec on the quiet 2-core machine ran 127k samples/s on
  /// one thread and 69k on two. Inference uses all threads. The results do not depend on it.
  int trainingThreads = 1;
  EmptyHistory emptyHistory = EmptyHistory::kReference;
  /// The reference back-propagates the loss into E[target] both through x_t and as the regression target
  /// x0; with detachTarget the target x0 is a constant (stop-gradient), which keeps the loss from shrinking E.
  bool detachTarget = false;
  /// Leave the item table E at its N(0, 1) initialisation (no gradient step touches it).
  bool freezeItems = false;
  /// Weight of an auxiliary softmax cross-entropy of x̂0·Eᵀ against the target (DiffuRec's loss; not in
  /// DreamRec): 0 is the reference's pure x0-MSE objective.
  double crossEntropyWeight = 0.0;

  /// DreamRec's schedule of a `--beta_sche` name: `exp` and `sqrt` as makeSchedule() defines them, `linear` =
  /// linspace(1e-4, 0.02) (noiseScale 1; `beta_start` / `beta_end` override), `cosine` clipped to [1e-4, 0.9999].
  /// Throws std::invalid_argument for any other name.
  static ScheduleSpec namedSchedule(const std::string& name) {
    ScheduleSpec s;
    s.name = name;
    if (name == "linear") {
      s.noiseScale = 1.0;
      s.noiseMin = 1e-4;
      s.noiseMax = 0.02;
    } else if (name == "cosine") {
      s.minBeta = 1e-4;
      s.maxBeta = 0.9999;
    } else {
      RECDIFF_REQUIRE(name == "exp" || name == "sqrt", "DreamRec: schedule '", name,
                      "' is not one of exp, linear, cosine, sqrt");
    }
    return s;
  }

  /// The field table (io/fields.hpp); Self is DreamRecOptions or const DreamRecOptions.
  template <class Self, class V>
  static void fields(Self& o, V&& v) {
    using io::Field;
    v(Field("hidden_factor", "H, the embedding size").flag("--hidden"), o.hidden);
    v(Field("seq_size", "history length (last N items)").flag("--max-len"), o.maxLength);
    v(Field("heads", "T-enc attention heads"), o.heads);
    v(Field("dropout_rate", "T-enc dropout").flag("--dropout"), o.dropout);
    v(Field("diffuser_type", "mlp1 | mlp2"), o.architecture);
    io::scheduleFields(v, o.schedule, &DreamRecOptions::namedSchedule,
                       Field("beta_sche", "exp | linear | cosine | sqrt").flag("--schedule"),
                       Field("beta_start", "linear schedule: first beta"),
                       Field("beta_end", "linear schedule: last beta"));
    v(Field("timesteps", "diffusion steps T").flag("--steps"), o.steps);
    v(Field("w", "guidance weight"), o.guidance);
    v(Field("p", "probability of training with the null vector instead of the history"), o.nullProbability);
    v(Field("lr", "learning rate (AdamW)"), o.learningRate);
    v(Field("l2_decay", "AdamW weight decay").flag("--weight-decay"), o.weightDecay);
    v(Field("batch_size", "samples per batch"), o.batchSize);
    v(Field("training_threads", "threads of the training loop (0: all; inference uses all)").execution(),
      o.trainingThreads);
    v(Field("empty_history", "reference (h = LN3 bias) | null (h = the null vector)"), o.emptyHistory);
    v(Field("detach_target", "not the reference: the regression target E[target] is a constant"), o.detachTarget);
    v(Field("freeze_items", "not the reference: keep the item table at its N(0, 1) initialisation"), o.freezeItems);
    v(Field("ce_weight", "not the reference: weight of an auxiliary cross-entropy of x0-hat E^T (0: off)"),
      o.crossEntropyWeight);
  }
};

}  // namespace recdiff

#endif  // RECDIFF_MODELS_DREAMREC_OPTIONS_HPP
