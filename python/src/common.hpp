#ifndef RECDIFF_PYTHON_COMMON_HPP
#define RECDIFF_PYTHON_COMMON_HPP

// What every bound interaction model shares: the execution settings (threads), the GIL-free call with the model's
// lock held, and the methods of the model concept in implicit's shape (recommend, scores, save, hyperparameters,
// and the _evaluate behind recdiff.evaluate). A bound class `W` provides
//   static constexpr const char* kName;                      the Python class name
//   Model& fitted(const char* who);                          the C++ model; RuntimeError before fit()/load()
//   data::Interactions input(const data::Interactions&);     the model's input rows (T-DiffRec: time-weighted)
//   Execution execution;  std::mutex mutex;  std::uint64_t seed;

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include <recdiff/metrics/metric_table.hpp>
#include <recdiff/metrics/ranking.hpp>
#include <recdiff/random.hpp>

#include "convert.hpp"
#include "options.hpp"

namespace recdiff::python {

/// How a model runs (not what it is): not checkpointed.
struct Execution {
  Index threads = 0;  ///< OpenMP threads of fit / recommend / evaluate; 0 = the process default (all cores)

  template <class Self, class V>
  static void fields(Self& o, V&& v) {
    v(io::Field("threads", "OpenMP threads of fit, recommend and evaluate (0: the process default)").execution(),
      o.threads);
  }
};

/// Sets the OpenMP thread count of this thread while it lives (0: unchanged), restoring the previous one.
class ThreadScope {
 public:
  explicit ThreadScope(Index threads) {
#if defined(_OPENMP)
    if (threads > 0) {
      previous_ = omp_get_max_threads();
      omp_set_num_threads(static_cast<int>(threads));
    }
#else
    (void)threads;
#endif
  }
  ~ThreadScope() {
#if defined(_OPENMP)
    if (previous_ > 0) omp_set_num_threads(previous_);
#endif
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_ = 0;
};

/// Runs `f` with the GIL released, the model's lock held and its thread count set.
template <class W, class F>
decltype(auto) withoutGil(W& w, F&& f) {
  py::gil_scoped_release release;
  const std::lock_guard<std::mutex> lock(w.mutex);
  const ThreadScope threads(w.execution.threads);
  return f();
}

/// The cut-offs of recdiff.evaluate (an int or a sequence of ints > 0).
inline std::vector<Index> cutoffs(const py::handle& k) {
  std::vector<Index> ks;
  if (py::isinstance<py::int_>(k)) ks.push_back(k.cast<Index>());
  else ks = k.cast<std::vector<Index>>();
  RECDIFF_REQUIRE(!ks.empty(), "recdiff.evaluate(): no cut-offs (k=)");
  for (const Index c : ks) RECDIFF_REQUIRE(c > 0, "recdiff.evaluate(): cut-off ", c, " must be positive");
  return ks;
}

/// Ranks every user of `train` (its rows are the model's input; train and `exclude` masked) and scores the
/// top-max(ks) against `test`: "recall@20", "ndcg@20", ... averaged over all users (DiffRec's protocol; users
/// without test items count 0) or over users with test items. One pass over all users at once, as the
/// models' own evaluate() makes, so the numbers are the C++ binaries'.
template <class Model>
metrics::MetricTable evaluateModel(Model& model, const data::Interactions& input, const data::Interactions& train,
                                   const data::Interactions& test, const data::Interactions* exclude,
                                   std::span<const Index> ks, metrics::UserAverage average, Rng& rng) {
  const char* who = "recdiff.evaluate()";
  RECDIFF_REQUIRE(test.users() == train.users() && test.items() == train.items(), who, ": test is ", test.users(), " x ",
                  test.items(), ", train ", train.users(), " x ", train.items(), "; they must have one shape");
  RECDIFF_REQUIRE(exclude == nullptr || (exclude->users() == train.users() && exclude->items() == train.items()), who,
                  ": exclude must have train's shape ", train.users(), " x ", train.items());
  const Index k = *std::max_element(ks.begin(), ks.end());
  RECDIFF_REQUIRE(k <= train.items(), who, ": cut-off ", k, " exceeds the ", train.items(), " items");
  std::vector<Index> users(static_cast<std::size_t>(train.users()));
  for (Index u = 0; u < train.users(); ++u) users[static_cast<std::size_t>(u)] = u;
  std::vector<const metrics::CsrMatrix*> masks;
  if (exclude != nullptr) masks.push_back(&exclude->matrix());
  const metrics::TopK<typename Model::ScalarType> top = model.recommend(input, users, k, true, rng, masks);
  metrics::MetricTable table;
  table.add("", metrics::evaluateSets(top.ids, test.matrix(), ks, {.average = average}));
  return table;
}

inline py::dict tableToDict(const metrics::MetricTable& t) {
  py::dict d;
  for (const auto& [k, v] : t.entries()) d[py::str(k)] = v;
  return d;
}

inline metrics::UserAverage averageOf(const std::string& a) {
  if (a == "all") return metrics::UserAverage::AllUsers;
  RECDIFF_REQUIRE(a == "with_test", "recdiff.evaluate(): average must be 'all' or 'with_test', got '", a, "'");
  return metrics::UserAverage::UsersWithTruth;
}

/// recommend / scores / save / hyperparameters / items / _evaluate on a bound interaction model class.
template <class W, class Class>
void bindInteractionMethods(Class& c) {
  c.def(
      "recommend",
      [](W& w, const py::object& userid, const py::object& userItems, Index n, bool filter) {
        const std::string who = std::string(W::kName) + ".recommend()";
        bool single = false;
        const std::vector<Index> users = userIds(userid, single, who.c_str());
        const data::Interactions rows = fromScipy(userItems, who + ": user_items");
        RECDIFF_REQUIRE(rows.users() == static_cast<Index>(users.size()), who, ": user_items has ", rows.users(),
                        " rows for ", users.size(), " user ids (pass user_items[userid], one row per id)");
        RECDIFF_REQUIRE(n > 0, who, ": N must be positive, got ", n);
        auto top = withoutGil(w, [&] {
          auto& model = w.fitted(who.c_str());
          const data::Interactions x = w.input(rows);
          std::vector<Index> local(users.size());
          for (std::size_t r = 0; r < local.size(); ++r) local[r] = static_cast<Index>(r);
          RECDIFF_REQUIRE(n <= x.items(), who, ": N = ", n, " exceeds the ", x.items(), " items");
          Rng rng(w.seed, 0x5EC0);
          return model.recommend(x, local, n, filter, rng);
        });
        return topKToPython(std::move(top), single);
      },
      py::arg("userid"), py::arg("user_items"), py::arg("N") = 10, py::arg("filter_already_liked_items") = true,
      "(ids, scores) of the top N items of each user, best first, from their rows of user_items (one row per "
      "id); 1-d arrays for an int userid, 2-d for an array of ids. filter_already_liked_items: never return "
      "an item of the user's row.");
  c.def(
      "scores",
      [](W& w, const py::object& userItems) {
        const std::string who = std::string(W::kName) + ".scores()";
        const data::Interactions rows = fromScipy(userItems, who + ": user_items");
        auto out = withoutGil(w, [&] {
          auto& model = w.fitted(who.c_str());
          const data::Interactions x = w.input(rows);
          std::vector<Index> users(static_cast<std::size_t>(x.users()));
          for (Index u = 0; u < x.users(); ++u) users[static_cast<std::size_t>(u)] = u;
          RowMatrix<typename std::remove_reference_t<decltype(model)>::ScalarType> s;
          Rng rng(w.seed, 0x5EC0);
          model.scores(x, users, s, rng);
          return s;
        });
        return ownedArray(std::move(out), false);
      },
      py::arg("user_items"), "Scores [rows × items] (numpy, read-only) of the rows of user_items.");
  c.def(
      "_evaluate",
      [](W& w, const py::object& train, const py::object& test, const py::object& k, const py::object& exclude,
         const std::string& average) {
        const std::vector<Index> ks = cutoffs(k);
        const data::Interactions tr = fromScipy(train, "recdiff.evaluate(): train");
        const data::Interactions te = fromScipy(test, "recdiff.evaluate(): test");
        std::optional<data::Interactions> ex;
        if (!exclude.is_none()) ex = fromScipy(exclude, "recdiff.evaluate(): exclude");
        const metrics::UserAverage avg = averageOf(average);
        const metrics::MetricTable t = withoutGil(w, [&] {
          auto& model = w.fitted("recdiff.evaluate()");
          Rng rng(w.seed, 0xE7A1);
          return evaluateModel(model, w.input(tr), tr, te, ex ? &*ex : nullptr, ks, avg, rng);
        });
        return tableToDict(t);
      },
      py::arg("train"), py::arg("test"), py::arg("k"), py::arg("exclude"), py::arg("average"));
  c.def(
      "save",
      [](W& w, const std::string& path) {
        withoutGil(w, [&] { w.fitted((std::string(W::kName) + ".save()").c_str()).save(path); });
      },
      py::arg("path"), "Writes a checkpoint (the C++ binaries' format) atomically; recdiff.load() reads it.");
  c.def("hyperparameters", [](W& w) { return w.hyperparameters(); },
        "The options as text: a fitted model's checkpoint hyperparameters, else the options given.");
  c.def_property_readonly("items", [](W& w) { return w.items(); }, "Items of the fitted model (0 before fit()).");
}

}  // namespace recdiff::python

#endif  // RECDIFF_PYTHON_COMMON_HPP
