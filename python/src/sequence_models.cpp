// recdiff.DiffuRec and recdiff.DreamRec: the options' field tables (models/diffurec_options.hpp,
// dreamrec_options.hpp) and SequenceFitSettings as keywords; fit on a list of item sequences through the model's
// fit() with the callbacks diffurec_movielens / dreamrec_movielens pass (early stopping, keep-best, progress bar)
// plus the Python hooks, and every random stream of those examples: a model trained and evaluated in Python with
// seed s is the model `<example> --seed s` trains and reports (python/tests/test_sequence_models.py).

#include <pybind11/pybind11.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include <recdiff/models/diffurec.hpp>
#include <recdiff/models/dreamrec.hpp>

#include "bindings.hpp"
#include "common.hpp"
#include "common/sequence_data.hpp"  // examples/common: the examples' CachedScorer and firstSamples
#include "fit_hooks.hpp"
#include "sequences.hpp"

namespace recdiff::python {

namespace {

/// fit()'s settings of the sequence models: the budget, the truncation of epochs, the seed, and the validation
/// protocol (the defaults: the examples' `reference` presets).
struct SequenceFitSettings {
  Index epochs = 0;
  Index maxBatches = 0;
  std::uint64_t seed = 1;
  Index evalEvery = 1;
  Index patience = 1;
  std::string metric;
  Index validUsers = 0;

  template <class Self, class V>
  static void fields(Self& o, V&& v) {
    v(io::Field("epochs", "epochs at most (with validation=, early stopping ends training sooner)"), o.epochs);
    v(io::Field("max_batches_per_epoch", "stop each epoch after this many batches (0: no limit)"), o.maxBatches);
    v(io::Field("seed", "seed of the initial weights, of every training draw and of the evaluation streams"), o.seed);
    v(io::Field("eval_every", "with validation=: evaluate every N epochs (and after the last)"), o.evalEvery);
    v(io::Field("patience", "with validation=: stop after N epochs (DreamRec) / evaluations (DiffuRec) without a "
                            "better metric"), o.patience);
    v(io::Field("metric", "with validation=: the validation metric that selects the epoch"), o.metric);
    v(io::Field("valid_users", "with validation=: validate on the first N histories only (0: all)"), o.validUsers);
  }
};

/// What differs between the two models: names, the examples' streams and protocols.
template <class M>
struct Traits;

template <>
struct Traits<DiffuRec<float>> {
  static constexpr const char* kName = "DiffuRec";
  using Options = DiffuRecOptions;
  static constexpr std::uint64_t kStream = 0xD1F0;  // diffurec_movielens: epoch e trains with Rng(seed, kStream).fork(e)
  static constexpr train::PatienceUnit kUnit = train::PatienceUnit::kEvaluations;
  static constexpr bool kOneEigenThread = false;
  static SequenceFitSettings defaults() { return {.epochs = 500, .evalEvery = 20, .patience = 5, .metric = "ndcg@10"}; }
  static nn::ParameterBuffer<float>* parameters(DiffuRec<float>& m) { return &m.approximator().parameters(); }
  static NextItemProtocol protocol(const DiffuRec<float>& m, bool reference) {
    NextItemProtocol p = reference ? NextItemProtocol::reference(m.options().batchSize) : NextItemProtocol{};
    p.batchSize = m.options().batchSize;
    return p;
  }
  /// As diffurec_movielens: validation after epoch e through CachedScorer(seed + 1000 e), the test through
  /// CachedScorer(seed + 78).
  static metrics::LabelMetrics evaluate(DiffuRec<float>& m, const HeldOut& x, const data::SequenceSamples& samples,
                                        std::span<const Index> ks, bool reference, std::uint64_t seed,
                                        std::optional<Index> epoch) {
    examples::CachedScorer<DiffuRec<float>> scorer(m, epoch ? seed + 1000u * static_cast<std::uint64_t>(*epoch) : seed + 78);
    return evaluateNextItem(x.sequences, samples, ks, protocol(m, reference), m.padding(), m.columns(), scorer);
  }
  static metrics::TopK<float> recommend(DiffuRec<float>& m, const data::HistoryBatch& b, Index k, Rng& rng,
                                        const metrics::CsrMatrix* exclude) {
    return m.recommend(b.history, k, rng, exclude);
  }
};

template <>
struct Traits<DreamRec<float>> {
  static constexpr const char* kName = "DreamRec";
  using Options = DreamRecOptions;
  static constexpr std::uint64_t kStream = 0xD8EA;  // dreamrec_movielens
  static constexpr train::PatienceUnit kUnit = train::PatienceUnit::kEpochs;
  static constexpr bool kOneEigenThread = true;  // as dreamrec_movielens (Eigen::setNbThreads(1))
  static SequenceFitSettings defaults() { return {.epochs = 100, .evalEvery = 5, .patience = 20, .metric = "hr@20"}; }
  static nn::ParameterBuffer<float>* parameters(DreamRec<float>& m) { return &m.parameters(); }
  /// As dreamrec_movielens: validation after epoch e with Rng(seed, kStream).fork(0xE0000000 + e), the test with
  /// .fork(0xF0000000).
  static metrics::LabelMetrics evaluate(DreamRec<float>& m, const HeldOut& x, const data::SequenceSamples& samples,
                                        std::span<const Index> ks, bool reference, std::uint64_t seed,
                                        std::optional<Index> epoch) {
    Rng rng = Rng(seed, kStream).fork(epoch ? 0xE0000000ull + static_cast<std::uint64_t>(*epoch) : 0xF0000000ull);
    const NextItemProtocol p = reference ? NextItemProtocol::reference() : NextItemProtocol{};
    const metrics::MetricTable t = m.evaluate(x.sequences, samples, ks, rng, p);
    metrics::LabelMetrics out;
    out.ks.assign(ks.begin(), ks.end());
    for (const Index k : ks) {
      out.hitRate.push_back(t.at("hr@" + std::to_string(k)));
      out.ndcg.push_back(t.at("ndcg@" + std::to_string(k)));
    }
    out.rows = samples.size();
    return out;
  }
  static metrics::TopK<float> recommend(DreamRec<float>& m, const data::HistoryBatch& b, Index k, Rng& rng,
                                        const metrics::CsrMatrix* exclude) {
    return m.recommend(b.history, b.lengths, k, rng, exclude);
  }
};

/// Eigen's GEMM threads set to 1 while it lives (DreamRec: its products are small; see dreamrec_movielens).
class EigenThreadScope {
 public:
  explicit EigenThreadScope(bool one) : set_(one) {
    if (set_) Eigen::setNbThreads(1);
  }
  ~EigenThreadScope() {
    if (set_) Eigen::setNbThreads(0);  // back to the default (OpenMP's)
  }
  EigenThreadScope(const EigenThreadScope&) = delete;
  EigenThreadScope& operator=(const EigenThreadScope&) = delete;

 private:
  bool set_;
};

template <class M>
struct SequenceModel : TrainedModel<M, SequenceFitSettings> {
  using T = Traits<M>;
  static inline const char* kName = T::kName;
  typename T::Options options;

  explicit SequenceModel(const py::kwargs& kwargs) {
    this->settings = T::defaults();
    const std::string who = std::string(kName) + "()";
    applyAllKeywords(kwargs, who, options, this->settings, this->execution);
    if constexpr (std::is_same_v<M, DiffuRec<float>>)  // as diffurec_movielens: inference follows --precision
      if (!kwargs.contains("inference_precision")) options.inferencePrecision = options.trainingPrecision;
    const SequenceFitSettings& s = this->settings;
    RECDIFF_REQUIRE(s.epochs >= 0 && s.maxBatches >= 0 && s.validUsers >= 0, who,
                    ": epochs, max_batches_per_epoch and valid_users must be >= 0");
    RECDIFF_REQUIRE(s.evalEvery > 0 && s.patience > 0, who, ": eval_every and patience must be positive");
    validationCutoffs(s.metric, who);
    M probe(options, 1, s.seed);  // the model's own checks of the options (with one item)
    this->seed = s.seed;
  }

  /// The fitted model, its Eigen threads and the model's lock (withoutGil) for `f(model)`.
  template <class F>
  decltype(auto) run(const char* who, F&& f) {
    return withoutGil(*this, [&]() -> decltype(auto) {
      const EigenThreadScope eigen(T::kOneEigenThread);
      return f(this->fitted(who));
    });
  }

  /// The bound on Python item ids: the fitted model's items (none before fit(): run() then raises).
  Index idLimit() const { return this->model ? this->model->items() : -1; }

  std::map<std::string, std::string> hyperparameters() const {
    return this->model ? this->model->hyperparameters() : io::fieldsToText(options);
  }
};

template <class W>
W& fitSequences(W& w, const py::object& sequences, const py::object& validation, bool showProgress,
                const py::object& callback, std::optional<Index> items) {
  using T = typename W::T;
  const std::string who = std::string(W::kName) + ".fit()";
  RECDIFF_REQUIRE(!items || *items > 0, who, ": items must be positive, got ", items.value_or(0));
  const Index limit = items.value_or(-1);
  const data::Sequences train = sequencesFromPython(sequences, limit, true, who + ": sequences");
  std::optional<HeldOut> valid;
  if (!validation.is_none()) {
    if (!py::isinstance<py::tuple>(validation) || py::len(validation) != 2)
      throw py::type_error(who + ": validation must be a tuple (histories, targets)");
    valid.emplace(validation.cast<py::tuple>()[0], validation.cast<py::tuple>()[1], limit, true, who + ": validation");
  }
  const Index n = items.value_or(std::max<Index>(train.maxItem(), valid ? valid->sequences.maxItem() : 0));
  RECDIFF_REQUIRE(n > 0, who, ": no items (every sequence is empty)");
  const data::SequenceSamples samples = data::prefixSamples(train);
  RECDIFF_REQUIRE(samples.size() > 0, who, ": no training samples (every sequence has fewer than 2 items)");
  const SequenceFitSettings& s = w.settings;
  const std::vector<Index> ks = validationCutoffs(s.metric, who);
  return fitFrame(w, callback, [&](PythonHooks& hooks, std::optional<train::EarlyStopping>& early) {
    const EigenThreadScope eigen(T::kOneEigenThread);
    auto fresh = std::make_unique<typename W::Model>(w.options, n, s.seed);
    const FitOptions fo{.epochs = s.epochs, .maxBatchesPerEpoch = s.maxBatches, .seed = s.seed, .stream = T::kStream};
    const data::SequenceSamples validSamples =
        valid ? examples::firstSamples(valid->samples, s.validUsers) : data::SequenceSamples();
    if (valid)
      early.emplace(
          [&](Index epoch) {
            metrics::MetricTable t;
            t.add("valid", T::evaluate(*fresh, *valid, validSamples, ks, false, s.seed, epoch));
            return t;
          },
          "valid." + s.metric, train::EarlyStoppingOptions{.patience = s.patience, .every = s.evalEvery, .unit = T::kUnit});
    const TrainResult result = fitWithCallbacks([&](auto&... cb) { return fresh->fit(train, samples, fo, cb...); },
                                                early, {T::parameters(*fresh)}, showProgress, hooks);
    w.model = std::move(fresh);
    return result;
  });
}

/// The histories' padded batch and, with `filter`, the mask of their items.
template <class M>
std::pair<data::HistoryBatch, metrics::CsrMatrix> batchOf(const M& model, const HeldOut& h, bool filter) {
  data::HistoryBatch b;
  std::vector<Index> rows(static_cast<std::size_t>(h.size()));
  for (Index r = 0; r < h.size(); ++r) rows[static_cast<std::size_t>(r)] = r;
  data::fillHistoryBatch(h.sequences, h.samples, rows, model.padding(), b);
  return {std::move(b), filter ? historyMask(h.sequences, h.samples, model.columns()) : metrics::CsrMatrix()};
}

template <class W>
void bindSequenceModel(py::module_& m, const char* doc) {
  using T = typename W::T;
  using Options = typename T::Options;
  py::class_<W> c(m, W::kName,
                  (std::string(doc) + "\n\nKeywords (default: help):\n" + keywordHelp(Options{}) +
                   keywordHelp(T::defaults()) + keywordHelp(Execution{}))
                      .c_str());
  c.def(py::init<const py::kwargs&>());
  c.def_static("_keywords", [] { return keywordList(Options{}, T::defaults(), Execution{}); },
               "(names, type, default, help) per keyword");
  c.def("fit", &fitSequences<W>, py::arg("sequences"), py::arg("validation") = py::none(),
        py::arg("show_progress") = true, py::arg("callback") = py::none(), py::arg("items") = py::none(),
        "Trains a fresh model on every prefix of each sequence (a list of 1-d arrays of item ids 0 … items-1, "
        "oldest first) for `epochs` epochs. validation = (histories, targets): evaluated every eval_every epochs "
        "(hr@K, ndcg@K of each target after its history), with early stopping on `metric` and the best weights "
        "kept. items: the catalogue size (default: 1 + the largest id seen). callback(epoch, metrics) runs after "
        "every epoch. Ctrl-C stops after the current batch (KeyboardInterrupt; the model keeps the weights "
        "trained so far). Returns self.");
  c.def_readonly("fit_result", &W::fitResult, "What the last fit() did: epochs, stop_reason, losses, best_epoch, best.");
  c.def(
      "recommend",
      [](W& w, const py::object& histories, Index n, bool filter) {
        const std::string who = std::string(W::kName) + ".recommend()";
        bool single = false;
        const HeldOut h = historiesFromPython(histories, w.idLimit(), true, single, who);
        RECDIFF_REQUIRE(n > 0, who, ": N must be positive, got ", n);
        auto top = w.run(who.c_str(), [&](auto& model) {
          RECDIFF_REQUIRE(n <= model.items(), who, ": N = ", n, " exceeds the ", model.items(), " items");
          const auto [batch, mask] = batchOf(model, h, filter);
          Rng rng(w.seed, 0x5EC0);
          metrics::TopK<float> t = T::recommend(model, batch, n, rng, filter ? &mask : nullptr);
          t.ids.array() -= 1;  // Python ids
          return t;
        });
        return topKToPython(std::move(top), single);
      },
      py::arg("histories"), py::arg("N") = 10, py::arg("filter_already_liked_items") = true,
      "(ids, scores) of the N most likely next items after each history (a list of 1-d arrays of item ids, oldest "
      "first; one 1-d array gives 1-d results), best first. filter_already_liked_items: never return an item of "
      "the history.");
  c.def(
      "scores",
      [](W& w, const py::object& histories) {
        const std::string who = std::string(W::kName) + ".scores()";
        bool single = false;
        const HeldOut h = historiesFromPython(histories, w.idLimit(), true, single, who);
        RowMatrix<float> out = w.run(who.c_str(), [&](auto& model) {
          const auto [batch, mask] = batchOf(model, h, false);
          Rng rng(w.seed, 0x5EC0);
          RowMatrix<float> s;
          model.scores(batch, s, rng);
          return RowMatrix<float>(s.rightCols(model.items()));  // column 0 is the padding item
        });
        return ownedArray(std::move(out), single);
      },
      py::arg("histories"), "Scores [histories × items] (numpy, read-only) of the next item after each history.");
  c.def(
      "_evaluate_next_item",
      [](W& w, const py::object& histories, const py::object& targets, const py::object& k, const std::string& protocol) {
        const std::string who = "recdiff.evaluate()";
        const std::vector<Index> ks = cutoffs(k);
        RECDIFF_REQUIRE(protocol == "default" || protocol == "reference", who,
                        ": protocol must be 'default' or 'reference', got '", protocol, "'");
        const HeldOut h(histories, targets, w.idLimit(), true, who);
        const metrics::MetricTable t = w.run(who.c_str(), [&](auto& model) {
          metrics::MetricTable table;
          table.add("", T::evaluate(model, h, h.samples, ks, protocol == "reference", w.seed, std::nullopt));
          return table;
        });
        return tableToDict(t);
      },
      py::arg("histories"), py::arg("targets"), py::arg("k"), py::arg("protocol"));
  c.def(
      "save", [](W& w, const std::string& path) { w.run((std::string(W::kName) + ".save()").c_str(), [&](auto& model) {
                model.save(path);
              }); },
      py::arg("path"), "Writes a checkpoint (the C++ examples' --save format) atomically; recdiff.load() reads it.");
  c.def("hyperparameters", [](W& w) { return w.hyperparameters(); },
        "The options as text: a fitted model's checkpoint hyperparameters, else the options given.");
  c.def_property_readonly("items", [](W& w) { return w.items(); }, "Items of the fitted model (0 before fit()).");
  c.def_property(
      "seed", [](const W& w) { return w.seed; },
      [](W& w, std::uint64_t s) {
        w.seed = s;
        w.settings.seed = s;
      },
      "The seed of fit() and of the evaluation and recommend streams (a loaded model: 1; set it to the C++ run's "
      "--seed to reproduce that run's test table from its checkpoint).");
  registerLoader(W::kName, [](const std::string& path) {
    const io::CheckpointInfo info = io::readCheckpointInfo(path);
    const auto [options, items] = W::Model::optionsFromHyperparameters(info.hyperparameters);
    auto w = std::make_unique<W>(py::kwargs());
    w->options = options;
    {
      py::gil_scoped_release release;
      auto model = std::make_unique<typename W::Model>(options, items, 1);
      model->load(path);
      w->model = std::move(model);
    }
    return py::cast(std::move(w));
  });
}

}  // namespace

void bindSequenceModels(py::module_& m) {
  bindSequenceModel<SequenceModel<DiffuRec<float>>>(
      m, "DiffuRec (Li, Sun, Li, TOIS 2023): a diffusion model of the next item's embedding, conditioned on the "
         "history through a transformer; the defaults are the authors' (diffurec_movielens --preset reference).");
  bindSequenceModel<SequenceModel<DreamRec<float>>>(
      m, "DreamRec (Yang et al., NeurIPS 2023): guided diffusion generates the next item's embedding from the "
         "history's encoding; the defaults are the authors' (dreamrec_movielens --preset reference).");
}

}  // namespace recdiff::python
