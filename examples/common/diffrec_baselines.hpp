#ifndef RECDIFF_EXAMPLES_COMMON_DIFFREC_BASELINES_HPP
#define RECDIFF_EXAMPLES_COMMON_DIFFREC_BASELINES_HPP
// Shared by baselines_movielens and diffrec_movielens (its most-popular and EASE rows): --data (DiffRec's splits
// or a raw MovieLens release), and a baseline fitted on train, tuned on validation over a grid of
// recdiff/baselines/tuning.hpp (ties to the earlier grid point), refitted once to time its fit, and evaluated under DiffRec's protocol through the model concept's
// evaluate(train, valid, test, ks, rng) (docs/concepts.md#model): validation ranks every item from the train row
// with the train items masked, test with train and valid masked; metrics over all users. Nothing is random.

#include <recdiff/baselines/most_popular.hpp>
#include <recdiff/baselines/tuning.hpp>
#include <recdiff/data/diffrec_splits.hpp>
#include <recdiff/data/movielens.hpp>
#include <recdiff/data/split.hpp>
#include <recdiff/metrics/metric_table.hpp>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "run_info.hpp"

namespace recdiff::examples {

/// The DiffRec examples' --data (diffrec_movielens, recommend, baselines_movielens): DiffRec's own .npy splits
/// used as they are, or a raw MovieLens release (u.data, ratings.dat or ratings.csv) with a rating threshold, split 7:1:2 by time
/// within each user. `description` receives a one-line account of what was loaded.
inline data::Split loadDiffRecData(const std::filesystem::path& folder, double minRating, std::string& description) {
  if (!std::filesystem::is_directory(folder)) throw std::runtime_error("--data " + folder.string() + ": not a folder");
  if (std::filesystem::exists(folder / "train_list.npy")) {
    description = "DiffRec splits (" + folder.string() + ")";
    return data::loadDiffRecSplits(folder);
  }
  data::BuildOptions build;
  build.minRating = minRating;
  const data::Interactions all = data::loadMovieLens(folder, build);
  char threshold[32];
  std::snprintf(threshold, sizeof threshold, "%g", minRating);
  description = "MovieLens " + folder.filename().string() + " (rating >= " + threshold +
                ", per-user chronological split 7:1:2)";
  // Per user, not global: DiffRec's released ML-1M splits give every user validation and test interactions,
  // which a global time cut cannot (see docs/protocols.md).
  return data::temporalSplit(all, {0.7, 0.1, 0.2}, data::SplitScope::PerUser);
}

/// What one baseline produced: chosen hyperparameters, tuning trace, timings, metrics.
struct BaselineOutcome {
  std::string name;
  std::string params;
  nlohmann::json paramsJson = nlohmann::json::object();
  nlohmann::json tuning = nlohmann::json::array();
  double fitSeconds = 0.0;     ///< wall seconds of the chosen model's fit
  double fitCpuSeconds = 0.0;  ///< CPU seconds of all threads during it
  double tuneSeconds = 0.0;
  metrics::MetricTable metrics;  ///< valid.* and test.* of the chosen model
};

/// valid.* and test.* metrics of a fitted baseline under DiffRec's protocol.
template <class Model>
metrics::MetricTable evaluateBaseline(const Model& model, const data::Split& split, const std::vector<Index>& ks) {
  Rng unused(0);  // the baselines draw nothing
  return model.evaluate(split.train, split.valid, split.test, ks, unused);
}

/// Fits `model` on train (timed, wall and CPU) and evaluates it into `out`.
template <class Model>
void fitAndEvaluate(Model& model, const data::Split& split, const std::vector<Index>& ks, BaselineOutcome& out) {
  const double cpuStart = cpuSeconds();
  const Stopwatch fit;
  model.fit(split.train);
  out.fitSeconds = fit.seconds();
  out.fitCpuSeconds = cpuSeconds() - cpuStart;
  out.metrics = evaluateBaseline(model, split, ks);
}

/// Tunes `Model` over `grid` on the validation metric `select` (e.g. "valid.recall@20"), refits the best once
/// (timed) and evaluates it. `trace`, when given, gets a line per grid point.
template <class Model, class Options, class ToJson>
BaselineOutcome tuneBaseline(const std::string& name, const data::Split& split, const std::vector<Index>& ks,
                             const std::vector<Options>& grid, ToJson toJson, const std::string& select,
                             std::FILE* trace = nullptr) {
  BaselineOutcome out;
  out.name = name;
  const Stopwatch tune;
  const auto result = baselines::selectOnValidation(grid, [&](const Options& options) {
    const Stopwatch fit;
    Model model(options);
    model.fit(split.train);
    const double fitSeconds = fit.seconds();
    const double score = evaluateBaseline(model, split, ks).at(select);
    if (trace != nullptr)
      std::fprintf(trace, "  %-8s %-40s %s %.4f  (fit %.2f s)\n", name.c_str(), baselines::describe(options).c_str(),
                   select.c_str(), score, fitSeconds);
    out.tuning.push_back({{"params", toJson(options)}, {select, score}, {"fit_seconds", fitSeconds}});
    return score;
  });
  out.tuneSeconds = tune.seconds();
  Model model(result.best);
  fitAndEvaluate(model, split, ks, out);
  out.params = baselines::describe(result.best);
  out.paramsJson = toJson(result.best);
  return out;
}

/// MostPopular (ties to the lower item index), fitted and evaluated.
inline BaselineOutcome mostPopularBaseline(const data::Split& split, const std::vector<Index>& ks) {
  BaselineOutcome out;
  out.name = "most_popular";
  out.params = "ties to the lower item index";
  out.paramsJson = {{"ties", "lower item index first"}};
  baselines::MostPopular<float> model;
  fitAndEvaluate(model, split, ks, out);
  return out;
}

}  // namespace recdiff::examples

#endif  // RECDIFF_EXAMPLES_COMMON_DIFFREC_BASELINES_HPP
