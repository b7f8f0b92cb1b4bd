#ifndef RECDIFF_CONCEPTS_HPP
#define RECDIFF_CONCEPTS_HPP

/// \file concepts.hpp
/// The contracts user types must meet, each in two spellings that must agree: a C++17-style trait
/// (`isSchedule<S>`, usable in static_assert messages) and a C++20 concept (`Schedule<S>`). The prose
/// version, with a class skeleton per contract, is docs/concepts.md.

#include <concepts>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include "random/rng.hpp"
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

// ----------------------------------------------------------------------------------------------- Model

// The types the model concepts name; declared here so that this header stays light (a concept is only checked
// where it is used, and there the full types are known).
namespace data {
class Interactions;
class Sequences;
struct SequenceSamples;
struct HistoryBatch;
}  // namespace data
namespace metrics {
class MetricTable;
template <class Scalar>
struct TopK;
}  // namespace metrics
struct FitOptions;   // train/trainer.hpp
struct TrainResult;  // train/trainer.hpp

namespace detail {
/// A callback with no hooks: what the model concept passes to check that fit() takes a callback pack.
struct NoHooksCallback {};
}  // namespace detail

/// What every model has, whatever its input (docs/concepts.md#model): a score type `ScalarType`, its
/// hyperparameters as text (what a checkpoint header records), and save / load of its fitted state.
template <class M>
concept PersistentModel = requires(M& m, const M& cm, const std::filesystem::path& file) {
  typename M::ScalarType;
  { cm.hyperparameters() } -> std::convertible_to<std::map<std::string, std::string>>;
  cm.save(file);
  m.load(file);
};

/// An interaction model (docs/concepts.md#model): users × items interactions in, scores over the items out.
/// DiffRec, L-DiffRec, T-DiffRec and the baselines (EASE, ItemKNN, RP3beta, MostPopular).
///   scores(input, users, out, rng)                   [users.size() × items], from the users' rows of input
///   recommend(input, users, k, filterSeen, rng)      -> metrics::TopK<ScalarType>
///   evaluate(train, valid, test, ks, rng)            -> metrics::MetricTable ("valid.recall@20", …)
template <class M>
concept InteractionRecommender =
    PersistentModel<M> &&
    requires(M& m, const data::Interactions& x, std::span<const Index> users, Index k, bool filterSeen, Rng& rng,
             RowMatrix<typename M::ScalarType>& out, std::span<const Index> ks) {
      m.scores(x, users, out, rng);
      { m.recommend(x, users, k, filterSeen, rng) } -> std::same_as<metrics::TopK<typename M::ScalarType>>;
      { m.evaluate(x, x, x, ks, rng) } -> std::same_as<metrics::MetricTable>;
    };

/// A sequence model (docs/concepts.md#model): item histories in, scores over the item ids (column 0 = the
/// padding item) out. DreamRec and DiffuRec. "Users" are histories here: a next-item model scores a history,
/// not a row of a user × item matrix, so this flavour takes a data::HistoryBatch where the interaction
/// flavour takes (input, users).
///   scores(batch, out, rng)                          [batch × (items + 1)]
///   recommend(batch, k, filterSeen, rng)             -> metrics::TopK<ScalarType>
///   evaluate(full, samples, ks, rng)                 -> metrics::MetricTable ("hr@10", "ndcg@10", …)
template <class M>
concept SequenceRecommender =
    PersistentModel<M> &&
    requires(M& m, const data::HistoryBatch& b, const data::Sequences& full, const data::SequenceSamples& samples,
             Index k, bool filterSeen, Rng& rng, RowMatrix<typename M::ScalarType>& out, std::span<const Index> ks) {
      m.scores(b, out, rng);
      { m.recommend(b, k, filterSeen, rng) } -> std::same_as<metrics::TopK<typename M::ScalarType>>;
      { m.evaluate(full, samples, ks, rng) } -> std::same_as<metrics::MetricTable>;
    };

/// A model that can be fitted on `Train...` (data::Interactions, or data::Sequences + data::SequenceSamples):
///   fit(train...)                                    default fit options (well-formed; see the doc for the result)
///   fit(train..., options, callbacks...)             -> TrainResult; callbacks of train/callbacks.hpp, any number
/// The training loop of train/ for the diffusion models; a closed form, similarity or count for the baselines.
template <class M, class... Train>
concept Fittable = requires(M& m, const FitOptions& options, detail::NoHooksCallback& callback, const Train&... train) {
  m.fit(train...);
  { m.fit(train..., options) } -> std::same_as<TrainResult>;
  { m.fit(train..., options, callback) } -> std::same_as<TrainResult>;
};

/// The whole model concept of docs/concepts.md#model, interaction flavour: fit on data::Interactions plus
/// InteractionRecommender. DiffRec, L-DiffRec, T-DiffRec, EASE, ItemKNN, RP3beta, MostPopular.
template <class M>
concept InteractionModel = InteractionRecommender<M> && Fittable<M, data::Interactions>;

/// The whole model concept, sequence flavour: fit on (training sequences, their samples) plus
/// SequenceRecommender. DreamRec, DiffuRec.
template <class M>
concept SequenceModel = SequenceRecommender<M> && Fittable<M, data::Sequences, data::SequenceSamples>;

}  // namespace recdiff

#endif  // RECDIFF_CONCEPTS_HPP
