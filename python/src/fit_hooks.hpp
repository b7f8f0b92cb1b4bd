#ifndef RECDIFF_PYTHON_FIT_HOOKS_HPP
#define RECDIFF_PYTHON_FIT_HOOKS_HPP

// The Python side of train::fit(): a callback (train/trainer.hpp hooks) that takes the GIL between batches to
// honour Ctrl-C (PyErr_CheckSignals: the epoch stops after the batch, the model stays usable, the
// KeyboardInterrupt is raised when fit() returns) and calls the user's callback(epoch, metrics) after every
// epoch; an exception from it stops training and propagates. And the fit settings that are not model options
// (epochs, seed, early stopping), as a field table so that they are keywords like the options.

#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <recdiff/train/callbacks.hpp>
#include <recdiff/train/trainer.hpp>

#include "bindings.hpp"
#include "common.hpp"

namespace recdiff::python {

/// fit()'s settings: the budget, the seed of initialisation and training, and the validation protocol
/// (DiffRec's: evaluate every 5 epochs, keep the best validation recall@20, stop 20 epochs after it).
struct FitSettings {
  Index epochs = 1000;
  std::uint64_t seed = 1;
  Index evalEvery = 5;
  Index patience = 20;
  std::string metric = "recall@20";

  template <class Self, class V>
  static void fields(Self& o, V&& v) {
    v(io::Field("epochs", "epochs at most (with validation=, early stopping ends training sooner)"), o.epochs);
    v(io::Field("seed", "seed of the initial weights and of every training draw"), o.seed);
    v(io::Field("eval_every", "with validation=: evaluate every N epochs (and after the last)"), o.evalEvery);
    v(io::Field("patience", "with validation=: stop N epochs after the best validation metric"), o.patience);
    v(io::Field("metric", "with validation=: the validation metric that selects the epoch"), o.metric);
  }
};

/// The state every bound diffusion model has: fit settings, threads, the fitted C++ model (null before fit() or
/// load()), its lock and what the last fit() did.
template <class M, class Settings = FitSettings>
struct TrainedModel {
  using Model = M;
  Settings settings;
  Execution execution;
  std::uint64_t seed = 1;
  std::unique_ptr<Model> model;
  std::mutex mutex;
  py::object fitResult = py::none();

  Model& fitted(const char* who) {
    RECDIFF_REQUIRE_FITTED(model != nullptr, who);
    return *model;
  }
  Index items() const { return model ? model->items() : 0; }
};

/// Ctrl-C between batches and the user's per-epoch callback (see the file comment).
class PythonHooks {
 public:
  PythonHooks(py::object callback, const train::EarlyStopping* early) : callback_(std::move(callback)), early_(early) {}

  bool endBatch(Index /*epoch*/, Index /*batch*/, Index /*batches*/, double /*loss*/) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) {
      error_.emplace();
      reason_ = "interrupted (KeyboardInterrupt)";
      return true;
    }
    return false;
  }

  bool endEpoch(Index epoch, const EpochResult& r) {
    if (error_) return true;
    if (callback_.is_none()) return false;
    py::gil_scoped_acquire gil;
    try {
      py::dict d;
      d["loss"] = r.sumLoss;
      d["mean_loss"] = r.meanLoss;
      d["seconds"] = r.seconds;
      if (early_ != nullptr && early_->lastEvaluatedEpoch() == epoch)
        for (const auto& [k, v] : early_->lastTable().entries()) d[py::str(k)] = v;
      callback_(epoch, d);
    } catch (py::error_already_set& e) {
      error_.emplace(std::move(e));
      reason_ = "the callback raised an exception";
      return true;
    }
    return false;
  }

  const std::string& stopReason() const noexcept { return reason_; }
  /// The EarlyStopping whose evaluations the callback sees (no Python object is touched: safe without the GIL).
  void watch(const train::EarlyStopping* early) noexcept { early_ = early; }

  /// Raises the interrupt or the callback's exception, if any (with the GIL held).
  void rethrow() {
    if (error_) {
      py::error_already_set e = std::move(*error_);
      error_.reset();
      throw e;
    }
  }

 private:
  py::object callback_;
  const train::EarlyStopping* early_;
  std::optional<py::error_already_set> error_;
  std::string reason_;
};

/// What fit() did, for model.fit_result.
inline py::dict trainResultDict(const TrainResult& r, const train::EarlyStopping* early) {
  py::dict d;
  d["epochs"] = r.epochs;
  d["stop_reason"] = r.stopReason;
  d["diverged"] = r.diverged;
  py::list losses, seconds;
  for (const auto& e : r.history) {
    losses.append(e.sumLoss);
    seconds.append(e.seconds);
  }
  d["losses"] = losses;
  d["seconds"] = seconds;
  if (early != nullptr) {
    d["best_epoch"] = early->bestEpoch();
    d["best"] = tableToDict(early->bestTable());
  }
  return d;
}

/// The cut-offs evaluated on validation: 10, 20 and the selecting metric's ("recall@50" -> 50).
inline std::vector<Index> validationCutoffs(const std::string& metric, const std::string& who) {
  const auto at = metric.find('@');
  Index k = 0;
  if (at != std::string::npos && at > 0) {
    double x = 0.0;
    if (io::detail::parseNumber(std::string_view(metric).substr(at + 1), x) && x >= 1 && std::floor(x) == x)
      k = static_cast<Index>(x);
  }
  RECDIFF_REQUIRE(k > 0, who, ": metric = '", metric, "' is not <name>@<K>, e.g. recall@20");
  std::vector<Index> ks{10, 20, k};
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  return ks;
}

/// Trains through `fit(callbacks...)` (a generic lambda calling the model's fit()) with the library's callbacks
/// and the Python hooks: with `early` set, EarlyStopping, KeepBest on `buffers` and the progress bar showing the
/// early stopping's metric; else the bar only. Called without the GIL.
template <class Fit>
TrainResult fitWithCallbacks(Fit&& fit, std::optional<train::EarlyStopping>& early,
                             std::vector<nn::ParameterBuffer<float>*> buffers, bool showProgress, PythonHooks& hooks) {
  if (!early) {
    train::ProgressBar bar(showProgress ? stderr : nullptr);
    return fit(bar, hooks);
  }
  hooks.watch(&*early);
  train::KeepBest<float> keep(*early, std::move(buffers));
  train::ProgressBar bar(showProgress ? stderr : nullptr, false, 16, &*early);
  return fit(*early, keep, bar, hooks);
}

/// The frame of every fit(): the Python hooks (Ctrl-C, callback), the GIL released with the model's lock and
/// thread count held while `train(hooks, early)` builds, trains and installs the fresh model (returning what
/// fit() did; it sets `early` when it validates), then model.fit_result and the hooks' exception, if any.
template <class W, class Train>
W& fitFrame(W& w, const py::object& callback, Train&& train) {
  std::optional<train::EarlyStopping> early;
  PythonHooks hooks(callback, nullptr);
  TrainResult result;
  {
    py::gil_scoped_release release;
    const std::lock_guard<std::mutex> lock(w.mutex);
    const ThreadScope threads(w.execution.threads);
    result = train(hooks, early);
  }
  w.fitResult = trainResultDict(result, early ? &*early : nullptr);
  hooks.rethrow();
  return w;
}

/// fit() of the diffusion models: a fresh model from w.makeModel(train) trained by train::fit() with early
/// stopping + keep-best on validation (W::buffers(model): the parameter buffers kept), the progress bar and the
/// Python hooks; the model replaces the previous one also when Ctrl-C or the callback stopped training.
template <class W>
W& fitModel(W& w, const py::object& userItems, const py::object& validation,
              bool showProgress, const py::object& callback) {
  const std::string who = std::string(W::kName) + ".fit()";
  const data::Interactions train = fromScipy(userItems, who + ": user_items");
  std::optional<data::Interactions> valid;
  if (!validation.is_none()) {
    valid = fromScipy(validation, who + ": validation");
    RECDIFF_REQUIRE(valid->users() == train.users() && valid->items() == train.items(), who, ": validation is ",
                    valid->users(), " x ", valid->items(), ", user_items ", train.users(), " x ", train.items());
  }
  const std::vector<Index> ks = validationCutoffs(w.settings.metric, who);
  return fitFrame(w, callback, [&](PythonHooks& hooks, std::optional<train::EarlyStopping>& early) {
    std::unique_ptr<typename W::Model> fresh = w.makeModel(train);
    const data::Interactions x = w.input(train);
    const FitOptions fo{.epochs = w.settings.epochs, .seed = w.settings.seed};
    if (valid)
      early.emplace(
          [&](Index epoch) {
            Rng rng(w.settings.seed, 0xE0000000ull + static_cast<std::uint64_t>(epoch));
            metrics::MetricTable t;
            t.add("valid", evaluateModel(*fresh, x, train, *valid, nullptr, ks, metrics::UserAverage::AllUsers, rng));
            return t;
          },
          "valid." + w.settings.metric,
          train::EarlyStoppingOptions{.patience = w.settings.patience, .every = w.settings.evalEvery,
                                      .unit = train::PatienceUnit::kEpochs});
    const TrainResult result = fitWithCallbacks([&](auto&... cb) { return fresh->fit(x, fo, cb...); }, early,
                                                W::buffers(*fresh), showProgress, hooks);
    w.model = std::move(fresh);
    return result;
  });
}

}  // namespace recdiff::python

#endif  // RECDIFF_PYTHON_FIT_HOOKS_HPP
