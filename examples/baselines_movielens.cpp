// baselines_movielens: the honest baselines (MostPopular, ItemKNN, EASE, RP3beta) on DiffRec's MovieLens-1M
// splits, under DiffRec's own protocol and through the same top-K and metrics code as the diffusion models.
//
//   baselines_movielens --data ../shared/data/diffrec/ml-1m_clean --threads 2 --report out.json
//   baselines_movielens --synthetic ml-32m --threads 2     # a raw release: rating >= 4, per-user split 7:1:2
//
// A baseline whose dense item-item matrices would not fit (recdiff/memory.hpp: MemAvailable, the cgroup limit,
// --memory-limit) is refused up front with its estimate in one line on stderr; the others still run, and the
// exit code is then 3 (after the table and the report, which records "<model>.refused").
//
// Protocol (YiyanXu/DiffRec main.py): every model is fitted on train; validation ranks all items from the
// train row with the train items masked and scores against valid; test ranks from the same train row with
// train and valid masked and scores against test. Recall / Precision / NDCG / MRR at 10, 20, 50, 100 are
// averaged over ALL users. Hyperparameters are chosen on validation Recall@20 over the grids of
// recdiff/baselines/tuning.hpp (ties to the earlier grid point); the chosen model is then refitted once on
// train to time its fit, and tested. Nothing is random. Every model is scored through the model concept's
// evaluate(train, valid, test, ks, rng) (docs/concepts.md#model: one scoring pass serves both splits).

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <recdiff/baselines/ease.hpp>
#include <recdiff/baselines/item_knn.hpp>
#include <recdiff/baselines/rp3beta.hpp>
#include <recdiff/data/diffrec_splits.hpp>

#include "common/cli.hpp"
#include "common/diffrec_baselines.hpp"
#include "common/run_info.hpp"

namespace {

using recdiff::Index;
namespace bl = recdiff::baselines;
namespace ex = recdiff::examples;

/// The 1-minute load average (/proc/loadavg), or -1 when unavailable.
double loadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = -1.0;
  in >> load;
  return in ? load : -1.0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"MostPopular, ItemKNN, EASE and RP3beta on DiffRec's MovieLens splits, under DiffRec's protocol"};
  ex::DataFlags data;
  double minRating = 4.0;
  int threads = 0;
  std::string reportPath;
  std::vector<std::string> models{"most_popular", "itemknn", "ease", "rp3beta"};
  bool easeDouble = false;
  data.add(app, "folder: DiffRec's train_list.npy, valid_list.npy, test_list.npy, or a raw MovieLens release");
  app.add_option("--min-rating", minRating, "raw MovieLens: keep ratings >= this")->capture_default_str();
  app.add_option("--threads", threads, "OpenMP / Eigen threads (0: the machine's default)")->check(CLI::NonNegativeNumber);
  app.add_option("--report", reportPath, "write the metrics, fit seconds and chosen hyperparameters as JSON");
  app.add_option("--models", models, "which baselines to run")
      ->check(CLI::IsMember({"most_popular", "itemknn", "ease", "rp3beta"}))
      ->capture_default_str();
  app.add_flag("--ease-double", easeDouble, "fit EASE in double precision (default: float)");
  std::string dataDir;
  try {
    app.parse(argc, argv);
    dataDir = data.folder();
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!ex::setThreads(threads, "baselines_movielens")) return 2;
  Eigen::setNbThreads(threads);

  const ex::Stopwatch load;
  recdiff::data::Split p;
  const std::vector<Index> ks{10, 20, 50, 100};
  std::string description;
  try {
    p = ex::loadDiffRecData(dataDir, minRating, description);
  } catch (const std::exception& e) {
    std::cerr << "baselines_movielens: " << e.what() << '\n';
    return 1;
  }
  std::printf("%s: %ld users, %ld items; train %ld, valid %ld, test %ld interactions (loaded in %.2f s, %d threads)\n",
              description.c_str(), static_cast<long>(p.train.users()), static_cast<long>(p.train.items()),
              static_cast<long>(p.train.nnz()), static_cast<long>(p.valid.nnz()), static_cast<long>(p.test.nnz()),
              load.seconds(), threads);

  const std::set<std::string> wanted(models.begin(), models.end());
  std::vector<ex::BaselineOutcome> outcomes;
  const std::string select = "valid.recall@20";
  const auto knnJson = [](const bl::ItemKNNOptions& o) {
    return nlohmann::json{{"neighbours", o.neighbours}, {"shrink", o.shrink}, {"normalize", o.normalizeNeighbours}};
  };
  const auto easeJson = [](const bl::EASEOptions& o) { return nlohmann::json{{"lambda", o.lambda}}; };
  const auto rp3Json = [](const bl::RP3betaOptions& o) {
    return nlohmann::json{{"alpha", o.alpha}, {"beta", o.beta}, {"neighbours", o.neighbours}};
  };
  std::map<std::string, std::string> refused;  // model → the MemoryError's one line
  const auto run = [&](const std::string& name, const auto& fit) {
    if (!wanted.count(name)) return;
    try {
      outcomes.push_back(fit());
    } catch (const recdiff::MemoryError& e) {  // refused up front: the other baselines still run
      std::fprintf(stderr, "baselines_movielens: %s refused: %s\n", name.c_str(), e.what());
      refused[name] = e.what();
    }
  };
  try {
    run("most_popular", [&] { return ex::mostPopularBaseline(p, ks); });
    run("itemknn", [&] {
      return ex::tuneBaseline<bl::ItemKNN<float>>("itemknn", p, ks, bl::itemKnnGrid(), knnJson, select, stderr);
    });
    run("ease", [&] {
      return easeDouble ? ex::tuneBaseline<bl::EASE<double>>("ease", p, ks, bl::easeGrid(), easeJson, select, stderr)
                        : ex::tuneBaseline<bl::EASE<float>>("ease", p, ks, bl::easeGrid(), easeJson, select, stderr);
    });
    run("rp3beta", [&] {
      return ex::tuneBaseline<bl::RP3beta<float>>("rp3beta", p, ks, bl::rp3betaGrid(), rp3Json, select, stderr);
    });
  } catch (const std::exception& e) {
    std::cerr << "baselines_movielens: " << e.what() << '\n';
    return 1;
  }
  const int status = refused.empty() ? 0 : 3;

  // The table: test metrics of the chosen models.
  std::printf("\nDiffRec protocol, test split (train+valid masked), averaged over all %ld users\n",
              static_cast<long>(p.train.users()));
  std::printf("%-13s %8s %8s %8s %8s %8s %8s %8s %8s %7s %7s  %s\n", "model", "valid@20", "R@10", "R@20", "N@10",
              "N@20", "R@50", "N@50", "R@100", "fit s", "cpu s", "hyperparameters");
  for (const ex::BaselineOutcome& o : outcomes) {
    const auto at = [&](const char* key) { return o.metrics.at(key); };
    std::printf("%-13s %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %7.2f %7.2f  %s\n", o.name.c_str(),
                at("valid.recall@20"), at("test.recall@10"), at("test.recall@20"), at("test.ndcg@10"), at("test.ndcg@20"),
                at("test.recall@50"), at("test.ndcg@50"), at("test.recall@100"), o.fitSeconds, o.fitCpuSeconds,
                o.params.c_str());
  }
  std::printf("fit s = wall seconds of the chosen model's fit; cpu s = CPU seconds of all threads; load average %.2f\n",
              loadAverage());
  if (reportPath.empty()) return status;

  nlohmann::ordered_json report;
  report["data"] = dataDir;
  report["threads"] = threads;
  report["load_average_1min"] = loadAverage();
  report["users"] = p.train.users();
  report["items"] = p.train.items();
  report["protocol"] =
      "DiffRec: rank all items from the train row; valid masks train, test masks train+valid; "
      "metrics averaged over all users; hyperparameters chosen on valid recall@20";
  for (const ex::BaselineOutcome& o : outcomes) {
    for (const auto& [key, value] : o.metrics.entries()) report[o.name + "." + key] = value;
    report[o.name + ".fit_seconds"] = o.fitSeconds;
    report[o.name + ".fit_cpu_seconds"] = o.fitCpuSeconds;
    report[o.name + ".tune_seconds"] = o.tuneSeconds;
    report[o.name + ".params"] = o.paramsJson;
    report[o.name + ".tuning"] = o.tuning;
  }
  for (const auto& [name, message] : refused) report[name + ".refused"] = message;
  try {
    ex::writeJsonAtomically(reportPath, report);
  } catch (const std::exception& e) {
    std::cerr << "baselines_movielens: " << e.what() << '\n';
    return 1;
  }
  std::printf("report written to %s\n", reportPath.c_str());
  return status;
}
