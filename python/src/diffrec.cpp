// recdiff.DiffRec and recdiff.TDiffRec: the options' field tables (models/diffrec_options.hpp, T-DiffRec's
// TimeWeightOptions), the mean type and FitSettings as keywords, fit through train::fit() with the library's
// callbacks (early stopping on validation recall@20, keep-best, progress bar) plus the Python hooks (Ctrl-C,
// callback). The mean type (x0 or eps) is DiffRec's template parameter: AnyDiffRec holds either instantiation,
// so one Python class trains, saves and loads both.

#include <pybind11/pybind11.h>

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include <recdiff/models/diffrec.hpp>
#include <recdiff/models/tdiffrec.hpp>

#include "bindings.hpp"
#include "common.hpp"
#include "fit_hooks.hpp"

namespace recdiff::python {

namespace {

/// What DiffRec's denoiser predicts: the keyword mean_type (the C++ template parameter, diffrec_movielens'
/// --mean-type, the checkpoints' mean_type).
enum class MeanType { x0, eps };
constexpr std::array<io::FieldChoice<MeanType>, 2> fieldChoices(MeanType) {
  return {{{"x0", MeanType::x0}, {"eps", MeanType::eps}}};
}
struct MeanTypeOption {
  MeanType meanType = MeanType::x0;
  template <class Self, class V>
  static void fields(Self& o, V&& v) {
    v(io::Field("mean_type", "what the denoiser predicts: x0 (the authors' default) or eps"), o.meanType);
  }
};

/// DiffRec<PredictX0> or DiffRec<PredictEpsilon>, chosen at run time, with the model concept's methods that the
/// bindings call (each forwards to the instantiation held).
class AnyDiffRec {
 public:
  using ScalarType = float;

  AnyDiffRec(MeanType type, const DiffRecOptions& options, Index items, std::uint64_t seed) {
    if (type == MeanType::eps) model_ = std::make_unique<DiffRec<PredictEpsilon, float>>(options, items, seed);
    else model_ = std::make_unique<DiffRec<PredictX0, float>>(options, items, seed);
  }

  /// f(the DiffRec held).
  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit([&](auto& m) -> decltype(auto) { return f(*m); }, model_);
  }

  template <class... Callbacks>
  TrainResult fit(const data::Interactions& train, const FitOptions& options, Callbacks&... callbacks) {
    return visit([&](auto& m) { return m.fit(train, options, callbacks...); });
  }
  metrics::TopK<float> recommend(const data::Interactions& input, std::span<const Index> users, Index k,
                                 bool filterSeen, Rng& rng, std::vector<const metrics::CsrMatrix*> masks = {}) {
    return visit([&](auto& m) { return m.recommend(input, users, k, filterSeen, rng, std::move(masks)); });
  }
  void scores(const data::Interactions& input, std::span<const Index> users, RowMatrix<float>& out, Rng& rng) {
    visit([&](auto& m) { m.scores(input, users, out, rng); });
  }
  metrics::MetricTable evaluate(const data::Interactions& train, const data::Interactions& valid,
                                const data::Interactions& test, std::span<const Index> ks, Rng& rng,
                                metrics::UserAverage average) {
    return visit([&](auto& m) { return m.evaluate(train, valid, test, ks, rng, average); });
  }
  void save(const std::string& path) { visit([&](auto& m) { m.save(path); }); }
  void load(const std::string& path) { visit([&](auto& m) { m.load(path); }); }
  Index items() const { return std::visit([](const auto& m) { return m->items(); }, model_); }
  std::map<std::string, std::string> hyperparameters() const {
    return std::visit([](const auto& m) { return m->hyperparameters(); }, model_);
  }
  nn::ParameterBuffer<float>& parameters() {
    return visit([](auto& m) -> nn::ParameterBuffer<float>& { return m.model().parameters(); });
  }

 private:
  std::variant<std::unique_ptr<DiffRec<PredictX0, float>>, std::unique_ptr<DiffRec<PredictEpsilon, float>>> model_;
};

template <bool TimeAware>
struct DiffRecModel : TrainedModel<AnyDiffRec> {
  static inline const char* kName = TimeAware ? "TDiffRec" : "DiffRec";
  using Time = std::conditional_t<TimeAware, TimeWeightOptions, NoFields>;
  DiffRecOptions options;
  MeanTypeOption mean;
  Time time;

  explicit DiffRecModel(const py::kwargs& kwargs) {
    const std::string who = std::string(kName) + "()";
    applyAllKeywords(kwargs, who, options, mean, time, settings, execution);
    RECDIFF_REQUIRE(settings.evalEvery > 0 && settings.patience > 0, who, ": eval_every and patience must be positive");
    validationCutoffs(settings.metric, who);
    if constexpr (TimeAware) timeWeighted(data::Interactions(), time, StoredOrder::Chronological);  // checks w_min, w_max
    seed = settings.seed;
  }

  /// T-DiffRec: each row's stored order is its time order (recdiff.datasets keeps the files' order).
  data::Interactions input(const data::Interactions& x) const {
    if constexpr (TimeAware) return timeWeighted(x, time, StoredOrder::Chronological);
    else return x;
  }
  std::unique_ptr<Model> makeModel(const data::Interactions& train) const {
    return std::make_unique<Model>(mean.meanType, options, train.items(), settings.seed);
  }
  static std::vector<nn::ParameterBuffer<float>*> buffers(Model& m) { return {&m.parameters()}; }
  std::map<std::string, std::string> hyperparameters() const {
    if (model) return model->hyperparameters();
    auto h = io::fieldsToText(options);
    for (auto& [k, v] : io::fieldsToText(mean)) h[k] = v;
    for (auto& [k, v] : io::fieldsToText(time)) h[k] = v;
    return h;
  }
};

template <bool TimeAware>
void bindOne(py::module_& m, const char* doc) {
  using W = DiffRecModel<TimeAware>;
  py::class_<W> c(m, W::kName,
                  (std::string(doc) + "\n\nKeywords (default: help):\n" + keywordHelp(DiffRecOptions{}) +
                   keywordHelp(MeanTypeOption{}) + keywordHelp(typename W::Time{}) + keywordHelp(FitSettings{}) + keywordHelp(Execution{}))
                      .c_str());
  c.def(py::init<const py::kwargs&>());
  c.def_static("_keywords", [] { return keywordList(DiffRecOptions{}, MeanTypeOption{}, typename W::Time{}, FitSettings{}, Execution{}); },
               "(names, type, default, help) per keyword");
  c.def("fit", &fitModel<W>, py::arg("user_items"), py::arg("validation") = py::none(),
        py::arg("show_progress") = true, py::arg("callback") = py::none(),
        "Trains a fresh model on user_items (scipy.sparse CSR, users × items) for `epochs` epochs; with "
        "validation (same shape) evaluates every eval_every epochs, stops `patience` epochs after the best "
        "validation metric and keeps the best weights. callback(epoch, metrics) runs after every epoch "
        "(metrics: loss, seconds and, when evaluated, valid.recall@K, ...). Ctrl-C stops after the current "
        "batch (KeyboardInterrupt; the model keeps the weights trained so far). Returns self.");
  c.def_readonly("fit_result", &W::fitResult, "What the last fit() did: epochs, stop_reason, losses, best_epoch, best.");
  bindInteractionMethods<W>(c);
  c.def(
      "_evaluate_with_validation",
      [](W& w, const py::object& train, const py::object& valid, const py::object& test, const py::object& k,
         const std::string& average) {
        const std::vector<Index> ks = cutoffs(k);
        const data::Interactions tr = fromScipy(train, "recdiff.evaluate(): train");
        const data::Interactions va = fromScipy(valid, "recdiff.evaluate(): validation");
        const data::Interactions te = fromScipy(test, "recdiff.evaluate(): test");
        const metrics::UserAverage avg = averageOf(average);
        const metrics::MetricTable t = withoutGil(w, [&] {
          auto& model = w.fitted("recdiff.evaluate()");
          Rng rng(w.seed, 0xE7A1);
          return model.evaluate(w.input(tr), va, te, ks, rng, avg);  // the C++ examples' evaluation
        });
        return tableToDict(t);
      },
      py::arg("train"), py::arg("validation"), py::arg("test"), py::arg("k"), py::arg("average"));
}

/// A DiffRec checkpoint as the bound model W (the options and the mean type from its header; a checkpoint
/// without mean_type, written before it was recorded, is x0).
template <class W>
py::object loadDiffRec(const std::string& path, const std::string& who) {
  const io::CheckpointInfo info = io::readCheckpointInfo(path);
  RECDIFF_REQUIRE(info.modelType == "DiffRec", who, ": ", path, " holds a '", info.modelType,
                  "' checkpoint, not a DiffRec one");
  const auto [options, items] = DiffRec<>::optionsFromHyperparameters(info.hyperparameters);  // checks mean_type
  const auto it = info.hyperparameters.find("mean_type");
  auto w = std::make_unique<W>(py::kwargs());
  w->options = options;
  w->mean.meanType = it != info.hyperparameters.end() && it->second == "eps" ? MeanType::eps : MeanType::x0;
  {
    py::gil_scoped_release release;
    auto model = std::make_unique<AnyDiffRec>(w->mean.meanType, options, items, 1);
    model->load(path);
    w->model = std::move(model);
  }
  return py::cast(std::move(w));
}

}  // namespace

void bindDiffRec(py::module_& m) {
  bindOne<false>(m, "DiffRec (Wang et al., SIGIR 2023): a diffusion model over each user's interaction row; the "
                    "defaults are the authors' ml-1m_clean settings.");
  bindOne<true>(m, "T-DiffRec (Wang et al., SIGIR 2023, Sec. 3.5): DiffRec on rows weighted by recency, from w_min "
                   "(oldest) to w_max (newest); each row's stored order is its time order (recdiff.datasets keeps "
                   "the files' order).");
  registerLoader("DiffRec", [](const std::string& path) { return loadDiffRec<DiffRecModel<false>>(path, "recdiff.load()"); });
  // A T-DiffRec checkpoint is a DiffRec checkpoint (diffrec_movielens --model tdiffrec writes no time weights:
  // they weight the input, not the model), so recdiff.load() gives a DiffRec; TDiffRec.load() needs the weights.
  py::object tdiffrec = m.attr("TDiffRec");
  tdiffrec.attr("load") = py::cpp_function(
      [](const std::string& path, double wMin, double wMax) {
        py::object o = loadDiffRec<DiffRecModel<true>>(path, "TDiffRec.load()");
        auto& w = o.cast<DiffRecModel<true>&>();
        w.time = {.wMin = wMin, .wMax = wMax};
        timeWeighted(data::Interactions(), w.time, StoredOrder::Chronological);  // checks w_min, w_max
        return o;
      },
      py::arg("path"), py::kw_only(), py::arg("w_min"), py::arg("w_max"),
      "A T-DiffRec from a DiffRec checkpoint (model.save() or diffrec_movielens --model tdiffrec --save) and the "
      "time weights it was trained with: the checkpoint does not record them, so both are required.");
  tdiffrec.attr("load") = py::reinterpret_borrow<py::object>(PyStaticMethod_New(tdiffrec.attr("load").ptr()));
}

}  // namespace recdiff::python
