// recdiff.LDiffRec: L-DiffRec (diffusion in the latent space of an item-cluster autoencoder). Keywords: the
// LDiffRecOptions field table, the clustering settings, FitSettings and Execution. The item clusters come from
// fit(item_clusters=labels), else k-means on fit(item_embeddings=[items × d]), else k-means on a truncated SVD
// of the train interactions — the example's order (examples/common/diffrec_run.hpp itemClusters, where the
// embeddings default to <data>/item_emb.npy: pass np.load(".../item_emb.npy") for the same clusters).

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <recdiff/cluster/svd_embeddings.hpp>
#include <recdiff/models/ldiffrec.hpp>

#include "bindings.hpp"
#include "common.hpp"
#include "fit_hooks.hpp"

namespace recdiff::python {

namespace {

/// How fit() clusters the items when no labels are given.
struct ClusterSettings {
  Index clusters = 2;
  Index svdDims = 64;

  template <class Self, class V>
  static void fields(Self& o, V&& v) {
    v(io::Field("n_cate", "item clusters (1: no clustering)"), o.clusters);
    v(io::Field("svd_dims", "width of the SVD item embeddings (without item_embeddings=)"), o.svdDims);
  }
};

struct LDiffRecModel : TrainedModel<LDiffRec<float>> {
  static inline const char* kName = "LDiffRec";
  LDiffRecOptions options;
  ClusterSettings clusters;
  std::optional<Eigen::ArrayXi> labels;       // fit(item_clusters=)
  std::optional<RowMatrix<float>> embeddings;  // fit(item_embeddings=)

  explicit LDiffRecModel(const py::kwargs& kwargs) {
    const std::string who = "LDiffRec()";
    applyAllKeywords(kwargs, who, options, clusters, settings, execution);
    RECDIFF_REQUIRE(clusters.clusters >= 1 && clusters.svdDims >= 1, who, ": n_cate and svd_dims must be positive");
    validationCutoffs(settings.metric, who);
    seed = settings.seed;
  }

  data::Interactions input(const data::Interactions& x) const { return x; }
  std::map<std::string, std::string> hyperparameters() const {
    return model ? model->hyperparameters() : io::fieldsToText(options);
  }

  std::unique_ptr<Model> makeModel(const data::Interactions& train) const {
    const Index items = train.items();
    const Rng rng(settings.seed, 0xC1);
    Eigen::ArrayXi l;
    if (labels) {
      RECDIFF_REQUIRE(labels->size() == items, "LDiffRec.fit(): item_clusters has ", labels->size(), " labels for ",
                      items, " items");
      l = *labels;
    } else if (embeddings) {
      RECDIFF_REQUIRE(embeddings->rows() == items, "LDiffRec.fit(): item_embeddings has ", embeddings->rows(),
                      " rows for ", items, " items");
      l = clusterItems(*embeddings, clusters.clusters, rng);
    } else if (clusters.clusters == 1) {
      l = Eigen::ArrayXi::Zero(items);
    } else {
      const Index dims = std::min(clusters.svdDims, std::min(train.users(), items));
      const auto svd = cluster::svdItemEmbeddings(train.matrix(), {.dims = dims}, rng.fork(1));
      l = clusterItems(svd.itemFactors, clusters.clusters, rng);
    }
    return std::make_unique<Model>(options, l, settings.seed);
  }
  static std::vector<nn::ParameterBuffer<float>*> buffers(Model& m) {
    return {&m.autoencoder().parameters(), &m.model().parameters()};
  }
};

}  // namespace

void bindLDiffRec(py::module_& m) {
  using W = LDiffRecModel;
  py::class_<W> c(m, "LDiffRec",
                  ("L-DiffRec (Wang et al., SIGIR 2023, Sec. 3.4): items clustered, one autoencoder per cluster, "
                   "diffusion in the concatenated latent; the defaults are the authors' ml-1m_clean settings.\n\n"
                   "Keywords (default: help):\n" +
                   keywordHelp(LDiffRecOptions{}) + keywordHelp(ClusterSettings{}) + keywordHelp(FitSettings{}) +
                   keywordHelp(Execution{}))
                      .c_str());
  c.def(py::init<const py::kwargs&>());
  c.def_static("_keywords", [] { return keywordList(LDiffRecOptions{}, ClusterSettings{}, FitSettings{}, Execution{}); },
               "(names, type, default, help) per keyword");
  c.def(
      "fit",
      [](W& w, const py::object& userItems, const py::object& validation, bool showProgress, const py::object& callback,
         const py::object& itemEmbeddings, const py::object& itemClusters) -> W& {
        w.labels.reset();
        w.embeddings.reset();
        if (!itemClusters.is_none()) {
          const auto a = py::cast<py::array_t<int, py::array::c_style | py::array::forcecast>>(itemClusters);
          RECDIFF_REQUIRE(a.ndim() == 1, "LDiffRec.fit(): item_clusters must be a 1-d array of labels");
          Eigen::ArrayXi l = Eigen::Map<const Eigen::ArrayXi>(a.data(), a.shape(0));
          RECDIFF_REQUIRE(l.size() == 0 || l.minCoeff() >= 0, "LDiffRec.fit(): item_clusters has a negative label");
          w.labels = std::move(l);
        } else if (!itemEmbeddings.is_none()) {
          const auto a = py::cast<py::array_t<float, py::array::c_style | py::array::forcecast>>(itemEmbeddings);
          RECDIFF_REQUIRE(a.ndim() == 2, "LDiffRec.fit(): item_embeddings must be a 2-d array [items x dim]");
          w.embeddings = Eigen::Map<const RowMatrix<float>>(a.data(), a.shape(0), a.shape(1));
          RECDIFF_REQUIRE(w.embeddings->allFinite(), "LDiffRec.fit(): item_embeddings has non-finite values");
        }
        return fitModel(w, userItems, validation, showProgress, callback);
      },
      py::arg("user_items"), py::arg("validation") = py::none(), py::arg("show_progress") = true,
      py::arg("callback") = py::none(), py::arg("item_embeddings") = py::none(), py::arg("item_clusters") = py::none(),
      "DiffRec.fit() plus the item clusters: item_clusters (labels [items]) or item_embeddings ([items x d], "
      "k-means into n_cate clusters), else k-means on a truncated SVD of user_items. Returns self.");
  c.def_readonly("fit_result", &W::fitResult, "What the last fit() did: epochs, stop_reason, losses, best_epoch, best.");
  c.def_property_readonly("item_clusters", [](W& w) -> py::object {
    if (!w.model) return py::none();
    const Eigen::ArrayXi& l = w.model->clusterLabels();
    return py::array_t<int>(l.size(), l.data());
  }, "The item cluster labels of the fitted model.");
  bindInteractionMethods<W>(c);
  registerLoader("LDiffRec", [](const std::string& path) {
    const io::CheckpointInfo info = io::readCheckpointInfo(path);
    auto w = std::make_unique<W>(py::kwargs());
    w->options = W::Model::optionsFromHyperparameters(info.hyperparameters);
    const Eigen::ArrayXi labels = W::Model::clusterLabels(info, path);
    {
      py::gil_scoped_release release;
      auto model = std::make_unique<W::Model>(w->options, labels, 1);
      model->load(path);
      w->model = std::move(model);
    }
    return py::cast(std::move(w));
  });
}

}  // namespace recdiff::python
