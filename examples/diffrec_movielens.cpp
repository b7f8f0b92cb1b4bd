// DiffRec (Wang et al., SIGIR 2023) on MovieLens: train, select the epoch on validation Recall@20, report
// validation and test metrics at the best epoch, beside the most-popular and EASE baselines.
//
//   diffrec_movielens --preset ml-1m_clean --data ../shared/data/diffrec/ml-1m_clean --seed 1 --threads 2
//                     --report out.json
//   diffrec_movielens --preset ml-100k --data data/ml-100k            (a raw MovieLens folder)
//   diffrec_movielens --model tdiffrec --w-min 0.1 --w-max 1.0 --preset ml-1m_clean --data ...   (T-DiffRec)
//
// --model diffrec (default) trains on the 0/1 train rows; tdiffrec trains and infers on T-DiffRec's time-weighted
// rows (models/tdiffrec.hpp); masks and metrics use the unweighted splits either way. ldiffrec is L-DiffRec
// (models/ldiffrec.hpp: diffusion over the latents of an item-cluster autoencoder; items clustered by k-means on
// --item-emb, default <data>/item_emb.npy when it exists, else — or with --item-emb svd — on a truncated SVD of
// the train interactions; --n-cate 1 for no clustering) with the authors' ml-1m_clean preset as defaults;
// ltdiffrec is L-DiffRec on T-DiffRec's weighted rows. --save/--load work for all four.
//
// The model flags come from the options' field tables (models/*_options.hpp, examples/common/options_cli.hpp);
// a flag both DiffRec and L-DiffRec have (--steps, --noise-schedule, ...) sets both. The epoch loop is the
// library's: model.fit() with train/callbacks.hpp's EarlyStopping (patience counts epochs, as DiffRec's
// reference), KeepBest, CsvLog, ProgressBar and ProgressLog (examples/common/training.hpp).
//
// Data parallel: under `mpirun -np N` (diffrec and tdiffrec) every rank trains its shard of each batch and
// the evaluation's users are split over the ranks (recdiff/distributed/, docs/distributed.md); --threads is
// then threads per rank, rank 0 alone writes --save, --log, --report and prints, and --report gains
// world_size and per-rank throughput and communication seconds. Without mpirun nothing changes.
//
// Timing: medians of the per-epoch and per-evaluation wall and process CPU times, training samples (users) per
// second and evaluated users per second are printed and written to --report.
//
// --data is either a folder with DiffRec's own splits (train_list.npy, valid_list.npy, test_list.npy), used as
// they are, or a raw MovieLens release (u.data, ratings.dat or ratings.csv), loaded with the preset's rating
// threshold and split 7:1:2 by time within each user.
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <recdiff/distributed/data_parallel.hpp>
#include <recdiff/distributed/evaluation.hpp>

#include "common/cli.hpp"
#include "common/diffrec_run.hpp"
#include "common/distributed.hpp"
#include "common/options_cli.hpp"
#include "common/run_info.hpp"
#include "common/training.hpp"

using recdiff::Index;
namespace ex = recdiff::examples;

namespace {

/// Every random number of a run: epoch e trains with Rng(seed, kStream).fork(e) and evaluates with
/// .fork(0xE0000000 + e).
constexpr std::uint64_t kStream = 0x7EA1;

struct Config {
  std::string preset = "ml-100k", modelName = "diffrec", meanType = "x0", data;
  recdiff::DiffRecOptions model;
  recdiff::LDiffRecOptions latent;  // L-DiffRec (defaults: the authors' ml-1m_clean preset)
  recdiff::TimeWeightOptions time;  // T-DiffRec's w_min / w_max
  ex::ClusterSource clusters;       // L-DiffRec's item clusters
  ex::LoopFlags loop;
  double minRating = 4.0;
  std::vector<Index> ks = {10, 20, 50, 100};
  std::uint64_t seed = 1;
  int threads = 0;
  std::string save, load, report;
  bool baselines = true;
  bool latentModel() const { return modelName == "ldiffrec" || modelName == "ltdiffrec"; }
  bool timeAware() const { return modelName == "tdiffrec" || modelName == "ltdiffrec"; }
};

/// The authors' settings per dataset (DiffRec's run.sh / README for ml-1m_clean: evaluate every 5 epochs, stop
/// 20 epochs after the best validation recall@20), and our ML-100K choice: the ml-1m_clean architecture and
/// schedule with a capped epoch budget (the README's main command, < 3 minutes).
void applyPreset(Config& c) {
  c.model = recdiff::DiffRecOptions{};
  c.latent = recdiff::LDiffRecOptions{};
  c.loop.evalEvery = 5;
  c.loop.patience = 20;
  if (c.preset == "ml-1m_clean" || c.preset == "ml-1m") c.loop.epochs = 1000;
  else if (c.preset == "ml-100k") c.loop.epochs = 100;
  else throw CLI::ValidationError("--preset", "unknown preset '" + c.preset + "' (ml-100k, ml-1m, ml-1m_clean)");
}

/// The metric the epoch is selected on: validation recall@20, or without a cut-off 20 the evaluation's first
/// entry (validation precision at the first cut-off).
std::string selectionMetric(const std::vector<Index>& ks) {
  for (const Index k : ks)
    if (k == 20) return "valid.recall@20";
  return "valid.precision@" + std::to_string(ks.front());
}

/// What the run prints and reports beside its metrics.
struct RunInfo {
  std::string name;
  Index parameters = 0;
  nlohmann::json hyperparameters = nlohmann::json::object();
  double trainGflop = 0.0, evalGflop = 0.0;  ///< per epoch and per evaluation (0: not computed)
};

/// Trains with the authors' protocol through the library's callbacks (evaluate validation and test every
/// evalEvery epochs and after the last, keep the parameters of the best validation recall@20 and write them to
/// --save at every new best, stop `patience` epochs after it, restore the kept ones at the end), then prints the
/// table (with the baselines) and the speed, and writes --report.
template <class Model>
int fitAndReport(Model& model, std::vector<recdiff::nn::ParameterBuffer<float>*> buffers, const ex::PreparedData& d,
                 const Config& c, RunInfo info, const ex::Stopwatch& total, ex::World& world) {
  const recdiff::Rng rng(c.seed, kStream);
  ex::Callbacks cb(
      c.loop,
      [&](Index epoch) {
        recdiff::Rng evalRng = rng.fork(0xE0000000ull + static_cast<std::uint64_t>(epoch));
        if (world.size() == 1) return model.evaluate(d.input(), d.split.valid, d.split.test, c.ks, evalRng);
        // Sharded: DiffRec::evaluate's batches of batchSize users, the same scores, the ids gathered.
        return recdiff::distributed::evaluateSplits(model, world.comm(), d.input(), d.split.valid, d.split.test, c.ks,
                                                    evalRng, {.batch = c.model.batchSize});
      },
      selectionMetric(c.ks), recdiff::train::PatienceUnit::kEpochs, std::move(buffers),
      {"valid.recall@20", "valid.ndcg@20", "test.recall@20", "test.ndcg@20"},
      [&](Index, const recdiff::metrics::MetricTable&) {
        if (!c.save.empty()) model.save(c.save);
      });
  std::map<std::string, std::string> h = model.hyperparameters();
  h["topk"] = ex::join(c.ks);
  ex::resumable(cb, c.loop, c.modelName, ex::splitFingerprint(d), std::move(h), c.seed, model);
  const recdiff::TrainResult r =
      model.fit(d.input(), c.loop.fitOptions(c.seed, kStream), cb.early, cb.keep, cb.log, cb.bar, cb.lines, cb.state);
  std::cout << r.stopReason << "\n";
  if (cb.early.bestEpoch() == 0) {
    std::cerr << "diffrec_movielens: no evaluation was completed (epochs " << c.loop.epochs << ", eval every "
              << c.loop.evalEvery << ")\n";
    return r.diverged ? 3 : 2;
  }
  const Index users = d.split.train.users();
  nlohmann::json j;
  recdiff::metrics::MetricTable table = cb.early.bestTable();
  std::cout << "\nbest epoch " << cb.early.bestEpoch() << " (validation recall@20 " << *cb.early.best() << ")\n";
  if (c.baselines && world.isRoot()) ex::addBaselines(d.split, c.ks, table, j);
  table.print(std::cout);
  const ex::Speed s = ex::printSpeed(info.name, info.parameters, users, users, ex::RunTimes(r, cb.early), info.trainGflop,
                                     info.evalGflop, total);
  world.addRunToReport(j, r, c.model.batchSize, [&](Index n) {
    return recdiff::train::rowShard(n, world.comm().rank(), world.size()).rows();
  });
  if (c.report.empty()) return r.diverged ? 3 : 0;
  j.update({{"dataset", d.description}, {"data", c.data}, {"model", c.modelName}, {"preset", c.preset}, {"seed", c.seed},
            {"threads", c.threads},
            {"precision", recdiff::io::FieldCodec<recdiff::nn::GemmPrecision>::toText(c.model.trainingPrecision)}});
  info.hyperparameters.update(c.loop.json());
  if (d.timeAware) info.hyperparameters.update(ex::fieldsJson(c.time));
  j["hyperparameters"] = info.hyperparameters;
  j.update({{"users", users}, {"items", d.split.train.items()}, {"parameters", info.parameters}});
  ex::addRunResult(j, r, cb.early, table);
  ex::addSpeed(j, s);
  ex::writeJsonAtomically(c.report, j);
  std::cout << "report written to " << c.report << "\n";
  return r.diverged ? 3 : 0;
}

/// DiffRec and T-DiffRec.
template <class Parameterization>
int run(const Config& c, ex::World& world) {
  const ex::Stopwatch total;
  const ex::PreparedData d = ex::prepareData(c.data, c.minRating, c.timeAware(), c.time);
  const Index users = d.split.train.users(), items = d.split.train.items();
  recdiff::DiffRec<Parameterization> model(c.model, items, c.seed);
  if (!c.load.empty()) {
    model.load(c.load);
    std::cout << "loaded parameters from " << c.load << "\n";
  }
  // Rank 0's parameters on every rank (after --load too), then every batch sharded; one process: no-op.
  recdiff::distributed::makeDataParallel(model, world.comm());
  if (world.size() > 1) std::cout << "data parallel: " << world.size() << " ranks, threads per rank " << c.threads << "\n";
  RunInfo info{.name = d.timeAware ? "T-DiffRec" : "DiffRec", .parameters = model.model().parameters().size()};
  const auto& o = c.model;
  const bool folded = o.foldedReverse != recdiff::DiffRecOptions::Folding::kNever && !o.normalizeInput && !o.samplingNoise;
  info.evalGflop =
      (folded ? ex::foldedEvalFlops(o, items, users) : ex::mlpFlops(o, items, users, false) * static_cast<double>(o.steps)) * 1e-9;
  info.trainGflop = ex::mlpFlops(o, items, users, true) * 1e-9;
  std::cout << "model: " << info.name << ", dims [" << ex::join(o.dims) << "], " << info.parameters << " parameters, "
            << o.steps << " steps, " << o.schedule.name << ", mean type " << c.meanType << ", threads " << c.threads
            << ", seed " << c.seed << "\n";
  for (const auto& [k, v] : model.hyperparameters()) info.hyperparameters[k] = v;
  return fitAndReport(model, {&model.model().parameters()}, d, c, std::move(info), total, world);
}

/// L-DiffRec and LT-DiffRec.
int runLatent(const Config& c, ex::World& world) {
  if (world.size() > 1) throw std::runtime_error("--model " + c.modelName + " does not run data-parallel yet (diffrec and "
                                                 "tdiffrec do): start it without mpirun");
  const ex::Stopwatch total;
  const ex::PreparedData d = ex::prepareData(c.data, c.minRating, c.timeAware(), c.time);
  std::string source;
  const ex::Stopwatch clustering;
  const Eigen::ArrayXi labels = ex::itemClusters(c.clusters, d.split.train, source);
  const double clusteringSeconds = clustering.seconds();
  recdiff::LDiffRec<float> model(c.latent, labels, c.seed);
  if (!c.load.empty()) {
    model.load(c.load);
    std::cout << "loaded parameters from " << c.load << "\n";
  }
  RunInfo info{.name = d.timeAware ? "LT-DiffRec" : "L-DiffRec", .parameters = model.parameterCount()};
  nlohmann::json& hp = info.hyperparameters;
  for (const auto& [k, v] : model.hyperparameters())
    if (k != "item_clusters") hp[k] = v;
  const auto& ae = model.autoencoder();
  std::vector<Index> sizes(static_cast<std::size_t>(ae.clusters()), 0);
  for (Index i = 0; i < labels.size(); ++i) ++sizes[static_cast<std::size_t>(labels(i))];
  hp.update({{"n_cate", ae.clusters()}, {"item_clusters_from", source}, {"clustering_seconds", clusteringSeconds},
             {"cluster_sizes", ex::join(sizes)}, {"cluster_latent_sizes", ex::join(ae.clusterLatentSizes())}});
  std::cout << "item clusters: " << ae.clusters() << " from " << source << ", sizes [" << ex::join(sizes) << "], latents ["
            << ex::join(ae.clusterLatentSizes()) << "] (" << clusteringSeconds << " s)\n";
  std::cout << "model: " << info.name << ", latent " << ae.latentSize() << ", mlp dims [" << ex::join(c.latent.mlpDims)
            << "], " << info.parameters << " parameters (autoencoder " << ae.parameters().size() << "), " << c.latent.steps
            << " steps, threads " << c.threads << ", seed " << c.seed << "\n";
  return fitAndReport(model, {&model.autoencoder().parameters(), &model.model().parameters()}, d, c, std::move(info),
                      total, world);
}

}  // namespace

int main(int argc, char** argv) {
  ex::World world(argc, argv);
  Config c;
  CLI::App app{"Train and evaluate DiffRec (Wang et al., SIGIR 2023) on MovieLens"};
  std::string ks;
  bool noBaselines = false;
  app.add_option("--preset", c.preset, "ml-100k | ml-1m | ml-1m_clean: the authors' settings per dataset")->capture_default_str();
  app.add_option("--model", c.modelName, "diffrec | tdiffrec (time-weighted rows, see --w-min/--w-max) | ldiffrec (latent, "
                                         "item clusters) | ltdiffrec")
      ->capture_default_str()
      ->check(CLI::IsMember({"diffrec", "tdiffrec", "ldiffrec", "ltdiffrec"}));
  ex::DataFlags data;
  data.add(app, "folder: DiffRec's .npy splits, or a raw MovieLens release");
  app.add_option("--mean-type", c.meanType, "x0 | eps: what the denoiser predicts")->capture_default_str()->check(CLI::IsMember({"x0", "eps"}));
  ex::OptionsCli cli(app);
  cli.add(c.model, "DiffRec");
  cli.add(c.time, "T-DiffRec");
  cli.add(c.latent, "L-DiffRec");
  app.add_option("--n-cate", c.clusters.clusters, "L-DiffRec: item clusters (1: no clustering)")->capture_default_str()->check(ex::wholeNumberAtLeast(1));
  app.add_option("--item-emb", c.clusters.itemEmb, "L-DiffRec: item embeddings .npy for clustering, or 'svd' (default: "
                 "<data>/item_emb.npy if it exists, else svd = a truncated SVD of the train interactions)");
  app.add_option("--svd-dims", c.clusters.svdDims, "L-DiffRec: width of the SVD item embeddings")->capture_default_str()->check(ex::wholeNumberAtLeast(1));
  c.loop.add(app, "stop after N epochs without a better validation recall@20 (preset: 20; evaluation every 5)");
  app.add_option("--min-rating", c.minRating, "raw MovieLens: keep ratings >= this")->capture_default_str();
  app.add_option("--topk", ks, "cut-offs, e.g. [10,20,50,100]");
  ex::addRunFlags(app, c.seed, c.threads, c.save, c.load, c.report);
  app.add_flag("--no-baselines", noBaselines, "skip the most-popular and EASE rows");
  try {
    app.parse(argc, argv);
    c.data = data.folder();
    applyPreset(c);
    cli.apply();
    c.loop.applyOverrides();
    ex::requireOutputFolders({{"--save", c.save}, {"--report", c.report}});
    if (!ks.empty()) c.ks = ex::parseList<Index>(ks, "--topk");
    c.baselines = !noBaselines;
    c.clusters = {.load = c.load, .clusters = c.clusters.clusters, .clustersGiven = app.count("--n-cate") > 0,
                  .itemEmb = c.clusters.itemEmb, .svdDims = c.clusters.svdDims, .data = c.data, .seed = c.seed};
    if (c.latentModel() && c.meanType != "x0") throw CLI::ValidationError("--mean-type", "L-DiffRec supports x0 only");
    if (c.latentModel() && c.model.trainingPrecision != recdiff::nn::GemmPrecision::kFloat)
      throw CLI::ValidationError("--precision", "bf16 is implemented for diffrec and tdiffrec only");
    if (!(c.time.wMin > 0.0 && c.time.wMax >= c.time.wMin)) throw CLI::ValidationError("--w-min/--w-max", "need 0 < w-min <= w-max");
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!ex::setThreads(c.threads, "diffrec_movielens")) return 2;
  if (!world.allowsResume("diffrec_movielens", c.loop.resume)) return 2;
  world.quietUnlessRoot(c.save, c.loop.log, c.report, c.loop.progress);
  const auto dispatch = [&] {
    if (c.latentModel()) return runLatent(c, world);
    return c.meanType == "eps" ? run<recdiff::PredictEpsilon>(c, world) : run<recdiff::PredictX0>(c, world);
  };
  return world.main("diffrec_movielens", dispatch);  // under mpirun an error on one rank stops every rank
}
