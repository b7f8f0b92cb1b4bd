// baselines_movielens: the honest baselines (MostPopular, ItemKNN, EASE, RP3beta) on DiffRec's MovieLens-1M
// splits, under DiffRec's own protocol and through the same top-K and metrics code as the diffusion models.
//
//   baselines_movielens --data ../shared/data/diffrec/ml-1m_clean --threads 2 --report out.json
//
// Protocol (YiyanXu/DiffRec main.py): every model is fitted on train; validation ranks all items from the
// train row with the train items masked and scores against valid; test ranks from the same train row with
// train and valid masked and scores against test. Recall / Precision / NDCG / MRR at 10, 20, 50, 100 are
// averaged over ALL users. Hyperparameters are chosen on validation Recall@20 over the grids of
// recdiff/baselines/tuning.hpp (ties to the earlier grid point); the chosen model is then refitted once on
// train to time its fit, and tested. Nothing is random.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <recdiff/baselines/ease.hpp>
#include <recdiff/baselines/evaluate.hpp>
#include <recdiff/baselines/item_knn.hpp>
#include <recdiff/baselines/most_popular.hpp>
#include <recdiff/baselines/rp3beta.hpp>
#include <recdiff/baselines/tuning.hpp>
#include <recdiff/data/diffrec_splits.hpp>

#include "common/cli.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using recdiff::Index;
using recdiff::baselines::InteractionMatrix;
namespace bl = recdiff::baselines;
namespace metrics = recdiff::metrics;

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU seconds of the whole process (all threads; examples/common/cli.hpp): with wall time, it shows whether a
// timing was taken on a busy machine (on an idle one, wall ≈ cpu / threads for the parallel parts).
using recdiff::examples::cpuSeconds;

/// The 1-minute load average (/proc/loadavg), or -1 when unavailable.
double loadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = -1.0;
  in >> load;
  return in ? load : -1.0;
}

/// The splits and the two evaluation settings of DiffRec's protocol.
struct Protocol {
  InteractionMatrix train, valid, test;
  std::vector<Index> ks{10, 20, 50, 100};
  Index batch = 1024;

  template <class Model>
  metrics::SetMetrics validation(const Model& model) const {
    return bl::evaluateModel(model, train, {&train}, valid, ks, {.batch = batch});
  }
  template <class Model>
  metrics::SetMetrics testing(const Model& model) const {
    return bl::evaluateModel(model, train, {&train, &valid}, test, ks, {.batch = batch});
  }
  static double recallAt20(const metrics::SetMetrics& m) {
    for (std::size_t c = 0; c < m.ks.size(); ++c)
      if (m.ks[c] == 20) return m.recall[c];
    return 0.0;
  }
};

/// What one baseline produced: chosen hyperparameters, tuning trace, timings, metrics.
struct Outcome {
  std::string name;
  std::string params;
  nlohmann::json paramsJson = nlohmann::json::object();
  nlohmann::json tuning = nlohmann::json::array();
  double fitSeconds = 0.0;
  double fitCpuSeconds = 0.0;
  double tuneSeconds = 0.0;
  metrics::SetMetrics valid, test;
};

/// Tunes `Model` over `grid` on validation Recall@20, refits the best once (timed) and tests it.
template <class Model, class Options, class ToJson>
Outcome runTuned(const std::string& name, const Protocol& p, const std::vector<Options>& grid, ToJson toJson) {
  Outcome out;
  out.name = name;
  const auto tuneStart = std::chrono::steady_clock::now();
  const auto result = bl::selectOnValidation(grid, [&](const Options& options) {
    const auto start = std::chrono::steady_clock::now();
    Model model(options);
    model.fit(p.train);
    const double fit = secondsSince(start);
    const double recall = Protocol::recallAt20(p.validation(model));
    std::fprintf(stderr, "  %-8s %-40s valid recall@20 %.4f  (fit %.2f s)\n", name.c_str(), bl::describe(options).c_str(),
                 recall, fit);
    out.tuning.push_back({{"params", toJson(options)}, {"valid.recall@20", recall}, {"fit_seconds", fit}});
    return recall;
  });
  out.tuneSeconds = secondsSince(tuneStart);
  Model model(result.best);
  const double cpuStart = cpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  model.fit(p.train);
  out.fitSeconds = secondsSince(start);
  out.fitCpuSeconds = cpuSeconds() - cpuStart;
  out.params = bl::describe(result.best);
  out.paramsJson = toJson(result.best);
  out.valid = p.validation(model);
  out.test = p.testing(model);
  return out;
}

Outcome runMostPopular(const Protocol& p) {
  Outcome out;
  out.name = "most_popular";
  out.params = "ties to the lower item index";
  out.paramsJson = {{"ties", "lower item index first"}};
  bl::MostPopular<float> model;
  const double cpuStart = cpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  model.fit(p.train);
  out.fitSeconds = secondsSince(start);
  out.fitCpuSeconds = cpuSeconds() - cpuStart;
  out.valid = p.validation(model);
  out.test = p.testing(model);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"MostPopular, ItemKNN, EASE and RP3beta on DiffRec's MovieLens splits, under DiffRec's protocol"};
  std::string dataDir;
  int threads = 0;
  std::string reportPath;
  std::vector<std::string> models{"most_popular", "itemknn", "ease", "rp3beta"};
  Index batch = 1024;
  bool easeDouble = false;
  app.add_option("--data", dataDir, "folder with DiffRec's train_list.npy, valid_list.npy, test_list.npy")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--threads", threads, "OpenMP / Eigen threads (0: the machine's default)")->check(CLI::NonNegativeNumber);
  app.add_option("--report", reportPath, "write the metrics, fit seconds and chosen hyperparameters as JSON");
  app.add_option("--models", models, "which baselines to run")
      ->check(CLI::IsMember({"most_popular", "itemknn", "ease", "rp3beta"}))
      ->capture_default_str();
  app.add_option("--batch", batch, "users scored at once")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_flag("--ease-double", easeDouble, "fit EASE in double precision (default: float)");
  CLI11_PARSE(app, argc, argv);

#if defined(_OPENMP)
  if (threads > 0) omp_set_num_threads(threads);
  const int usedThreads = omp_get_max_threads();
#else
  const int usedThreads = 1;
#endif
  Eigen::setNbThreads(usedThreads);

  const auto loadStart = std::chrono::steady_clock::now();
  Protocol p;
  p.batch = batch;
  try {
    auto splits = recdiff::data::loadDiffRecSplits(dataDir);
    p.train = splits.train.matrix();
    p.valid = splits.valid.matrix();
    p.test = splits.test.matrix();
  } catch (const std::exception& e) {
    std::cerr << "baselines_movielens: " << e.what() << '\n';
    return 1;
  }
  std::printf("%s: %ld users, %ld items; train %ld, valid %ld, test %ld interactions (loaded in %.2f s, %d threads)\n",
              dataDir.c_str(), static_cast<long>(p.train.rows()), static_cast<long>(p.train.cols()),
              static_cast<long>(p.train.nonZeros()), static_cast<long>(p.valid.nonZeros()),
              static_cast<long>(p.test.nonZeros()), secondsSince(loadStart), usedThreads);

  const std::set<std::string> wanted(models.begin(), models.end());
  std::vector<Outcome> outcomes;
  try {
    if (wanted.count("most_popular")) outcomes.push_back(runMostPopular(p));
    if (wanted.count("itemknn"))
      outcomes.push_back(runTuned<bl::ItemKNN<float>>("itemknn", p, bl::itemKnnGrid(), [](const bl::ItemKNNOptions& o) {
        return nlohmann::json{{"neighbours", o.neighbours}, {"shrink", o.shrink}, {"normalize", o.normalizeNeighbours}};
      }));
    const auto easeJson = [](const bl::EASEOptions& o) { return nlohmann::json{{"lambda", o.lambda}}; };
    if (wanted.count("ease"))
      outcomes.push_back(easeDouble ? runTuned<bl::EASE<double>>("ease", p, bl::easeGrid(), easeJson)
                                    : runTuned<bl::EASE<float>>("ease", p, bl::easeGrid(), easeJson));
    if (wanted.count("rp3beta"))
      outcomes.push_back(runTuned<bl::RP3beta<float>>("rp3beta", p, bl::rp3betaGrid(), [](const bl::RP3betaOptions& o) {
        return nlohmann::json{{"alpha", o.alpha}, {"beta", o.beta}, {"neighbours", o.neighbours}};
      }));
  } catch (const std::exception& e) {
    std::cerr << "baselines_movielens: " << e.what() << '\n';
    return 1;
  }

  // The table: test metrics of the chosen models.
  std::printf("\nDiffRec protocol, test split (train+valid masked), averaged over all %ld users\n",
              static_cast<long>(p.train.rows()));
  std::printf("%-13s %8s %8s %8s %8s %8s %8s %8s %8s %7s %7s  %s\n", "model", "valid@20", "R@10", "R@20", "N@10",
              "N@20", "R@50", "N@50", "R@100", "fit s", "cpu s", "hyperparameters");
  for (const Outcome& o : outcomes) {
    const auto& t = o.test;
    std::printf("%-13s %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %7.2f %7.2f  %s\n", o.name.c_str(),
                Protocol::recallAt20(o.valid), t.recall[0], t.recall[1], t.ndcg[0], t.ndcg[1], t.recall[2], t.ndcg[2],
                t.recall[3], o.fitSeconds, o.fitCpuSeconds, o.params.c_str());
  }
  std::printf("fit s = wall seconds of the chosen model's fit; cpu s = CPU seconds of all threads; load average %.2f\n",
              loadAverage());

  if (!reportPath.empty()) {
    nlohmann::ordered_json report;
    report["data"] = dataDir;
    report["threads"] = usedThreads;
    report["load_average_1min"] = loadAverage();
    report["users"] = p.train.rows();
    report["items"] = p.train.cols();
    report["protocol"] =
        "DiffRec: rank all items from the train row; valid masks train, test masks train+valid; "
        "metrics averaged over all users; hyperparameters chosen on valid recall@20";
    for (const Outcome& o : outcomes) {
      for (const auto& [split, m] : {std::pair<const char*, const metrics::SetMetrics*>{"valid", &o.valid},
                                     std::pair<const char*, const metrics::SetMetrics*>{"test", &o.test}}) {
        for (std::size_t c = 0; c < m->ks.size(); ++c) {
          const std::string at = "@" + std::to_string(m->ks[c]);
          const std::string prefix = o.name + "." + split + ".";
          report[prefix + "recall" + at] = m->recall[c];
          report[prefix + "precision" + at] = m->precision[c];
          report[prefix + "ndcg" + at] = m->ndcg[c];
          report[prefix + "mrr" + at] = m->mrr[c];
        }
      }
      report[o.name + ".fit_seconds"] = o.fitSeconds;
      report[o.name + ".fit_cpu_seconds"] = o.fitCpuSeconds;
      report[o.name + ".tune_seconds"] = o.tuneSeconds;
      report[o.name + ".params"] = o.paramsJson;
      report[o.name + ".tuning"] = o.tuning;
    }
    const std::filesystem::path path(reportPath);
    const std::filesystem::path tmp = path.string() + ".tmp";
    {
      std::ofstream os(tmp);
      os << report.dump(2) << '\n';
      if (!os) {
        std::cerr << "baselines_movielens: cannot write " << tmp << '\n';
        return 1;
      }
    }
    std::filesystem::rename(tmp, path);
    std::printf("report written to %s\n", reportPath.c_str());
  }
  return 0;
}
