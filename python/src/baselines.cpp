// recdiff.EASE, recdiff.ItemKNN, recdiff.RP3beta, recdiff.MostPopular: one generic binding over the baselines'
// options field tables (keywords) and the model concept (fit / recommend / scores / save / evaluate).

#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include <recdiff/baselines/ease.hpp>
#include <recdiff/baselines/item_knn.hpp>
#include <recdiff/baselines/most_popular.hpp>
#include <recdiff/baselines/rp3beta.hpp>

#include "bindings.hpp"
#include "common.hpp"

namespace recdiff::python {

namespace {

template <class M>
M makeBaseline(const NoFields&) {
  return M();
}
template <class M, class O>
M makeBaseline(const O& o) {
  return M(o);
}

/// A bound baseline: its options (keywords from the field table) and the fitted C++ model.
template <class M, class O>
struct Baseline {
  static inline const char* kName = M::kModelType;
  O options;
  Execution execution;
  std::uint64_t seed = 1;  // unused by the deterministic baselines; the shared signature draws nothing
  std::unique_ptr<M> model;
  std::mutex mutex;

  explicit Baseline(const py::kwargs& kwargs) {
    const std::string who = std::string(kName) + "()";
    applyAllKeywords(kwargs, who, options, execution);
    model = std::make_unique<M>(makeBaseline<M>(options));  // validates the options (ValueError)
  }
  Baseline(std::unique_ptr<M> loaded) : model(std::move(loaded)) {}

  M& fitted(const char* who) {
    RECDIFF_REQUIRE_FITTED(model && model->items() > 0, who);
    return *model;
  }
  data::Interactions input(const data::Interactions& x) const { return x; }
  Index items() const { return model ? model->items() : 0; }
  std::map<std::string, std::string> hyperparameters() const { return model->hyperparameters(); }
};

template <class M, class O>
void bindBaseline(py::module_& m, const char* doc) {
  using W = Baseline<M, O>;
  py::class_<W> c(m, W::kName, (std::string(doc) + "\n\nKeywords (default: help):\n" + keywordHelp(O{}) +
                                keywordHelp(Execution{}))
                                   .c_str());
  c.def(py::init<const py::kwargs&>());
  c.def_static("_keywords", [] { return keywordList(O{}, Execution{}); }, "(names, type, default, help) per keyword");
  c.def(
      "fit",
      [](W& w, const py::object& userItems, bool /*show_progress*/) -> W& {
        const data::Interactions x = fromScipy(userItems, std::string(W::kName) + ".fit(): user_items");
        withoutGil(w, [&] {
          auto fresh = std::make_unique<M>(makeBaseline<M>(w.options));
          fresh->fit(x);
          w.model = std::move(fresh);
        });
        return w;
      },
      py::arg("user_items"), py::arg("show_progress") = true,
      "Fits on user_items (scipy.sparse CSR, users × items; non-zero entries are interactions); returns self.");
  bindInteractionMethods<W>(c);
  registerLoader(M::kModelType, [](const std::string& path) {
    auto model = std::make_unique<M>(makeBaseline<M>(O{}));
    {
      py::gil_scoped_release release;
      model->load(path);
    }
    return py::cast(std::make_unique<W>(std::move(model)));
  });
}

}  // namespace

void bindBaselines(py::module_& m) {
  bindBaseline<baselines::EASE<float>, baselines::EASEOptions>(
      m, "EASE (Steck, WWW 2019): closed-form item-item weights with a zero diagonal; l2 = the L2 penalty lambda.");
  bindBaseline<baselines::ItemKNN<float>, baselines::ItemKNNOptions>(
      m, "Item-based k-nearest neighbours on the shrunk cosine similarity; k = neighbours per item.");
  bindBaseline<baselines::RP3beta<float>, baselines::RP3betaOptions>(
      m, "RP3beta (Paudel et al. 2017): random-walk item-item weights with a popularity penalty beta.");
  bindBaseline<baselines::MostPopular<float>, NoFields>(
      m, "Non-personalised popularity ranking (ties to the lower item id).");
}

}  // namespace recdiff::python
