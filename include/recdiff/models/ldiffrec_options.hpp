#ifndef RECDIFF_MODELS_LDIFFREC_OPTIONS_HPP
#define RECDIFF_MODELS_LDIFFREC_OPTIONS_HPP

/// \file ldiffrec_options.hpp
/// L-DiffRec's options and their field table (io/fields.hpp). The keys it shares with DiffRecOptions (dims of
/// the denoiser aside) name the same settings, so one command line can set both (examples/common/options_cli.hpp).

#include <vector>

#include "../io/fields.hpp"
#include "../io/schedule_fields.hpp"
#include "../schedules/make_schedule.hpp"
#include "../types.hpp"

namespace recdiff {

/// L-DiffRec's hyperparameters; defaults are the authors' ml-1m_clean preset (reference flags in brackets).
struct LDiffRecOptions {
  // autoencoder
  std::vector<Index> inDims = {300};  ///< [--in_dims]
  std::vector<Index> outDims = {};    ///< [--out_dims]
  bool variational = true;            ///< [--reparam]
  double aeDropout = 0.1;
  double lamda = 0.03;                ///< [--lamda]
  double annealCap = 0.005;           ///< [--anneal_cap]
  Index annealSteps = 500;            ///< [--anneal_steps] (counted in epochs, as the reference)
  double vaeAnnealCap = 0.3;          ///< [--vae_anneal_cap]
  Index vaeAnnealSteps = 200;         ///< [--vae_anneal_steps] (counted in batches)
  double lr1 = 1e-3, wd1 = 0.0;       ///< [--lr1 --wd1] autoencoder AdamW
  // denoiser
  std::vector<Index> mlpDims = {300};  ///< [--mlp_dims]
  Index timeEmbeddingSize = 10;        ///< [--emb_size]
  bool normalizeInput = false;         ///< [--norm]
  double dropout = 0.5;                ///< denoiser input dropout
  double lr2 = 5e-4, wd2 = 0.0;        ///< [--lr2 --wd2] denoiser AdamW
  // diffusion
  ScheduleSpec schedule = defaultSchedule();
  Index steps = 40;
  bool reweight = true;
  Index samplingSteps = 0;
  bool samplingNoise = false;
  Index lossHistory = 10;
  double uniformMix = 1e-3;
  Index batchSize = 400;

  /// linear-var(0.005, 0.005, 0.02), β_0 not fixed (L-DiffRec's beta_fixed=False).
  static ScheduleSpec defaultSchedule() {
    ScheduleSpec s;
    s.name = "linear-var";
    s.noiseScale = 0.005;
    s.noiseMin = 0.005;
    s.noiseMax = 0.02;
    return s;
  }

  /// The field table (io/fields.hpp); Self is LDiffRecOptions or const LDiffRecOptions.
  template <class Self, class V>
  static void fields(Self& o, V&& v) {
    using io::Field;
    v(Field("in_dims", "autoencoder encoder dims, e.g. [300]"), o.inDims);
    v(Field("out_dims", "autoencoder decoder dims, e.g. [] (empty: one decoder layer)"), o.outDims);
    v(Field("reparam", "plain (not variational) autoencoder").flag("--no-reparam"), o.variational);
    v(Field("ae_dropout", "autoencoder input dropout"), o.aeDropout);
    v(Field("lamda", "weight between the diffusion and the autoencoder losses"), o.lamda);
    v(Field("anneal_cap", "floor of the annealed lamda"), o.annealCap);
    v(Field("anneal_steps", "epochs over which lamda decays to the cap (0: no decay)"), o.annealSteps);
    v(Field("vae_anneal_cap", "ceiling of the KL weight"), o.vaeAnnealCap);
    v(Field("vae_anneal_steps", "batches over which the KL weight grows to its cap (0: the cap at once)"),
      o.vaeAnnealSteps);
    v(Field("lr1", "autoencoder learning rate"), o.lr1);
    v(Field("wd1", "autoencoder weight decay"), o.wd1);
    v(Field("mlp_dims", "denoiser hidden dims, e.g. [300]"), o.mlpDims);
    v(Field("emb_size", "timestep embedding size"), o.timeEmbeddingSize);
    v(Field("norm", "L2-normalise the input rows"), o.normalizeInput);
    v(Field("dropout", "dropout on the input row during training"), o.dropout);
    v(Field("lr2", "denoiser learning rate"), o.lr2);
    v(Field("wd2", "denoiser weight decay"), o.wd2);
    io::scheduleFields(v, o.schedule, &io::plainSchedule,
                       Field("noise_schedule", "linear-var | linear | cosine | binomial | ... (resets the noise "
                                               "parameters to the schedule's defaults)"),
                       Field("noise_min", "noise lower bound"), Field("noise_max", "noise upper bound"));
    v(Field("steps", "diffusion steps"), o.steps);
    v(Field("reweight", "turn off the SNR loss reweighting").flag("--no-reweight"), o.reweight);
    v(Field("sampling_steps", "forward steps before inference (0: start from the clean latent)"), o.samplingSteps);
    v(Field("sampling_noise", "add noise in the reverse steps at inference"), o.samplingNoise);
    v(Field("loss_history", "losses kept per step by the loss-aware timestep sampler").optional(), o.lossHistory);
    v(Field("uniform_mix", "uniform share of the timestep importance distribution").optional(), o.uniformMix);
    v(Field("batch_size", "users per batch"), o.batchSize);
  }
};

}  // namespace recdiff

#endif  // RECDIFF_MODELS_LDIFFREC_OPTIONS_HPP
