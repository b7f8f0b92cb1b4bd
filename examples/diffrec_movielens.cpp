// DiffRec (Wang et al., SIGIR 2023) on MovieLens: train, select the epoch on validation Recall@20, report
// validation and test metrics at the best epoch, beside the most-popular and EASE baselines.
//
//   diffrec_movielens --preset ml-1m_clean --data ../shared/data/diffrec/ml-1m_clean --seed 1 --threads 2
//                     --report out.json
//   diffrec_movielens --preset ml-100k --data data/ml-100k            (a raw MovieLens folder)
//   diffrec_movielens --model tdiffrec --w-min 0.1 --w-max 1.0 --preset ml-1m_clean --data ...   (T-DiffRec)
//
// --model diffrec (default) trains on the 0/1 train rows; tdiffrec trains and infers on T-DiffRec's time-weighted
// rows (models/tdiffrec.hpp: per user linearly from --w-min, oldest, to --w-max, newest, in time order — the
// .npy splits' row order, which is chronological within each user, or the raw releases' timestamps); masks and
// metrics use the unweighted splits either way. ldiffrec is L-DiffRec (models/ldiffrec.hpp: diffusion over the
// latents of an item-cluster autoencoder; items clustered by k-means on --item-emb, default <data>/item_emb.npy
// when it exists, else — or with --item-emb svd — on a truncated SVD of the train interactions; --n-cate 1 for
// no clustering) with the authors' ml-1m_clean preset as defaults; ltdiffrec is L-DiffRec on T-DiffRec's
// weighted rows. --save/--load work for all four (an L-DiffRec checkpoint carries its item clusters).
//
// Timing: medians of the per-epoch and per-evaluation wall and process CPU times, training samples (users) per
// second and evaluated users per second are printed and written to --report.
//
// --data is either a folder with DiffRec's own splits (train_list.npy, valid_list.npy, test_list.npy), used as
// they are, or a raw MovieLens release (u.data, ratings.dat or ratings.csv), loaded with the preset's rating
// threshold and split 7:1:2 by time within each user.
#include <recdiff/baselines/ease.hpp>
#include <recdiff/baselines/evaluate.hpp>
#include <recdiff/baselines/most_popular.hpp>
#include <recdiff/baselines/tuning.hpp>
#include <recdiff/cluster/svd_embeddings.hpp>
#include <recdiff/data/diffrec_splits.hpp>
#include <recdiff/models/diffrec.hpp>
#include <recdiff/models/ldiffrec.hpp>
#include <recdiff/models/tdiffrec.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>
#if defined(_OPENMP)
#include <omp.h>
#endif
#include <time.h>
#include <unistd.h>

#include "common/cli.hpp"
#include "common/diffrec_data.hpp"
#include "common/run_info.hpp"

namespace fs = std::filesystem;
using recdiff::Index;
using recdiff::examples::Stopwatch;

namespace {

struct Config {
  std::string preset = "ml-100k";
  std::string modelName = "diffrec";
  recdiff::TimeWeightOptions time;  // T-DiffRec's w_min / w_max
  recdiff::LDiffRecOptions latent;  // L-DiffRec (defaults: the authors' ml-1m_clean preset)
  Index nCate = 2;
  bool nCateGiven = false;  // --n-cate on the command line (checked against a --load checkpoint's clusters)
  std::string itemEmb;  // a .npy file, "svd", or empty: <data>/item_emb.npy if it exists, else svd
  Index svdDims = 64;
  std::string data;
  std::string meanType = "x0";
  std::string precision = "float";  // GEMM arithmetic of training: float | bf16 (docs/bf16.md)
  recdiff::DiffRecOptions model;
  int epochs = 1000;
  int evalEvery = 5;
  int patience = 20;
  double minRating = 4.0;
  std::vector<Index> ks = {10, 20, 50, 100};
  std::uint64_t seed = 1;
  int threads = 0;
  std::string save, load, log, report;
  bool baselines = true;
  bool progress = true;
};

/// The authors' settings per dataset (DiffRec's run.sh / README for ml-1m_clean), and our ML-100K choice.
void applyPreset(Config& c) {
  recdiff::DiffRecOptions& m = c.model;
  m = recdiff::DiffRecOptions{};  // ml-1m_clean: lr 1e-3, wd 0, batch 400, [200, 600], emb 10, 40 steps, ...
  c.epochs = 1000;
  if (c.preset == "ml-1m_clean" || c.preset == "ml-1m") {
    return;
  }
  if (c.preset == "ml-100k") {
    // ML-100K (943 users): the ml-1m_clean architecture and schedule; a capped epoch budget so the README's
    // main command finishes in well under three minutes on two cores.
    c.epochs = 100;
    return;
  }
  throw CLI::ValidationError("--preset", "unknown preset '" + c.preset + "' (ml-100k, ml-1m, ml-1m_clean)");
}

std::string join(const std::vector<Index>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

using recdiff::examples::parseList;

/// FLOPs of the DiffRec MLP's GEMMs for `rows` rows: forward only, or forward + backward without the input
/// gradient of the first layer (what training computes).
double mlpFlops(const recdiff::DiffRecOptions& o, Index items, Index rows, bool backward) {
  std::vector<Index> chain{items + o.timeEmbeddingSize};
  for (auto it = o.dims.rbegin(); it != o.dims.rend(); ++it) chain.push_back(*it);
  for (std::size_t i = 1; i < o.dims.size(); ++i) chain.push_back(o.dims[i]);
  chain.push_back(items);
  double f = 0.0;
  for (std::size_t k = 0; k + 1 < chain.size(); ++k) {
    const double gemm = 2.0 * static_cast<double>(rows) * static_cast<double>(chain[k]) * static_cast<double>(chain[k + 1]);
    f += gemm;
    if (backward) f += k == 0 ? gemm : 2.0 * gemm;
  }
  return f;
}

/// FLOPs of one evaluation (all `rows` users, `steps` reverse steps) through DiffRecFoldedReverse: forming
/// M = W_x W_L, z = W_x x per row, per step the [d_{L-1} × d_1] product and the hidden layers, W_L g at the end.
double foldedEvalFlops(const recdiff::DiffRecOptions& o, Index items, Index rows) {
  const double r = static_cast<double>(rows), n = static_cast<double>(items), d = static_cast<double>(o.dims.back());
  std::vector<double> hidden;  // the chain between the first and the last layer: dims reversed, then dims[1:]
  for (auto it = o.dims.rbegin(); it != o.dims.rend(); ++it) hidden.push_back(static_cast<double>(*it));
  for (std::size_t i = 1; i < o.dims.size(); ++i) hidden.push_back(static_cast<double>(o.dims[i]));
  double perStep = 2.0 * d * d;
  for (std::size_t k = 0; k + 1 < hidden.size(); ++k) perStep += 2.0 * hidden[k] * hidden[k + 1];
  return 2.0 * d * n * d + r * (2.0 * n * d + static_cast<double>(o.steps) * perStep + 2.0 * d * n);
}

using recdiff::examples::ProgressBar;

/// What trainWithEarlyStopping() did.
struct TrainOutcome {
  recdiff::metrics::MetricTable best;  ///< the evaluation at the best validation recall@20
  double bestRecall = -1.0;
  int bestEpoch = 0;                   ///< 0: no evaluation completed
  int epochs = 0;                      ///< epochs trained
  std::string stopReason = "epoch budget reached";
  bool diverged = false;
  std::vector<double> epochSeconds, evalSeconds;        ///< wall clock
  std::vector<double> epochCpuSeconds, evalCpuSeconds;  ///< CPU time of the process (all its threads)
};

using recdiff::examples::cpuSeconds;

/// The authors' protocol for every DiffRec variant: train, evaluate every evalEvery epochs (and at the last),
/// keep the best validation recall@20, stop after `patience` epochs without a better one, stop on divergence.
/// Writes the per-epoch CSV log and the progress bar; onImprove() runs at each new best epoch.
template <class Model, class OnImprove>
TrainOutcome trainWithEarlyStopping(Model& model, const recdiff::data::Interactions& input,
                                    const recdiff::data::Split& data, const Config& c, OnImprove onImprove) {
  std::ofstream log;
  if (!c.log.empty()) {
    if (fs::path(c.log).has_parent_path()) fs::create_directories(fs::path(c.log).parent_path());
    log.open(c.log);
    if (!log) throw std::runtime_error("cannot write --log " + c.log);
    log << "epoch,loss,seconds,valid_recall@20,valid_ndcg@20,test_recall@20,test_ndcg@20,eval_seconds\n";
  }
  recdiff::Rng rng(c.seed, 0x7EA1);
  const ProgressBar bar(c.progress);
  TrainOutcome o;
  int epoch = 0;
  for (epoch = 1; epoch <= c.epochs; ++epoch) {
    if (o.bestEpoch > 0 && epoch - o.bestEpoch >= c.patience) {
      o.stopReason = "early stop: no better validation recall@20 for " + std::to_string(c.patience) + " epochs";
      --epoch;
      break;
    }
    Stopwatch sw;
    const double cpu = cpuSeconds();
    recdiff::Rng epochRng = rng.fork(static_cast<std::uint64_t>(epoch));
    const recdiff::EpochResult r = model.trainEpoch(input, epochRng);
    o.epochSeconds.push_back(sw.seconds());
    o.epochCpuSeconds.push_back(cpuSeconds() - cpu);
    if (!r.finite) {
      o.stopReason = "diverged: non-finite loss or gradient in epoch " + std::to_string(epoch) +
                     " (the update was not applied); keeping the best epoch " + std::to_string(o.bestEpoch);
      o.diverged = true;
      break;
    }
    std::string extra;
    std::ostringstream row;
    row << epoch << ',' << r.sumLoss << ',' << o.epochSeconds.back();
    if (epoch % c.evalEvery == 0 || epoch == c.epochs) {
      Stopwatch ev;
      const double evCpu = cpuSeconds();
      recdiff::Rng evalRng = rng.fork(0xE0000000ull + static_cast<std::uint64_t>(epoch));
      const recdiff::metrics::MetricTable table = model.evaluate(input, data.valid, data.test, c.ks, evalRng);
      o.evalSeconds.push_back(ev.seconds());
      o.evalCpuSeconds.push_back(cpuSeconds() - evCpu);
      const double recall = table.get("valid.recall@20").value_or(table.entries().front().second);
      row << ',' << table.get("valid.recall@20").value_or(NAN) << ',' << table.get("valid.ndcg@20").value_or(NAN) << ','
          << table.get("test.recall@20").value_or(NAN) << ',' << table.get("test.ndcg@20").value_or(NAN) << ','
          << o.evalSeconds.back();
      if (recall > o.bestRecall) {
        o.bestRecall = recall;
        o.bestEpoch = epoch;
        o.best = table;
        onImprove();
      }
      char buf[96];
      std::snprintf(buf, sizeof buf, "valid R@20 %.4f (best %.4f @%d)", recall, o.bestRecall, o.bestEpoch);
      extra = buf;
    } else {
      row << ",,,,,";
    }
    if (log) log << row.str() << '\n' << std::flush;
    bar.show(epoch, c.epochs, r.sumLoss, o.epochSeconds.back(), extra);
  }
  bar.finish();
  o.epochs = epoch > c.epochs ? c.epochs : epoch;
  std::cout << o.stopReason << "\n";
  return o;
}

/// The splits, and the model's input: the train split, or T-DiffRec's time-weighted copy of it.
struct PreparedData {
  recdiff::data::Split split;
  std::string description;
  bool timeAware = false;
  recdiff::data::Interactions weighted;
  const recdiff::data::Interactions& input() const { return timeAware ? weighted : split.train; }
};

PreparedData prepareData(const Config& c) {
  PreparedData d;
  d.split = recdiff::examples::loadDiffRecData(c.data, c.minRating, d.description);
  const recdiff::data::Interactions& train = d.split.train;
  std::cout << "data: " << d.description << ": " << train.users() << " users, " << train.items() << " items, train "
            << train.nnz() << ", valid " << d.split.valid.nnz() << ", test " << d.split.test.nnz() << " interactions\n";
  // T-DiffRec: the time-weighted train rows are x0 for training and the input of inference. The raw releases
  // are weighted by timestamp; DiffRec's .npy splits have no timestamps, but their stored order is chronological
  // within each user by construction (the reference's assumption), which Chronological declares.
  d.timeAware = c.modelName == "tdiffrec" || c.modelName == "ltdiffrec";
  if (d.timeAware) {
    d.weighted = recdiff::timeWeighted(train, c.time, recdiff::StoredOrder::Chronological);
    std::cout << "T-DiffRec time weights: w_min " << c.time.wMin << ", w_max " << c.time.wMax << " ("
              << (train.hasTimestamps() ? "by timestamp" : "in the splits' chronological row order") << ")\n";
  }
  return d;
}

/// What the model part of a run hands to finishRun().
struct ModelSummary {
  std::string name;              ///< "DiffRec", "T-DiffRec", "L-DiffRec", "LT-DiffRec"
  Index parameters = 0;
  nlohmann::json hyperparameters;
  double trainGflop = 0.0;       ///< GEMM GFLOP per epoch (0: not computed)
  double evalGflop = 0.0;        ///< per evaluation
};

/// The most-popular and EASE rows on the same splits and evaluator (EASE's λ chosen on validation recall@20).
void addBaselines(const recdiff::data::Split& data, const Config& c, recdiff::metrics::MetricTable& table,
                  nlohmann::json& report) {
  Stopwatch bs;
  const std::vector<const recdiff::baselines::InteractionMatrix*> validMask{&data.train.matrix()};
  const std::vector<const recdiff::baselines::InteractionMatrix*> testMask{&data.train.matrix(), &data.valid.matrix()};
  recdiff::baselines::MostPopular<float> pop;
  pop.fit(data.train);
  table.add("popularity.valid", recdiff::baselines::evaluateModel(pop, data.train.matrix(), validMask, data.valid.matrix(), c.ks));
  table.add("popularity.test", recdiff::baselines::evaluateModel(pop, data.train.matrix(), testMask, data.test.matrix(), c.ks));
  double bestLambda = 0.0, bestEaseRecall = -1.0;
  recdiff::metrics::SetMetrics easeValid, easeTest;
  for (const auto& o : recdiff::baselines::easeGrid()) {
    recdiff::baselines::EASE<float> ease(o);
    ease.fit(data.train);
    const auto v = recdiff::baselines::evaluateModel(ease, data.train.matrix(), validMask, data.valid.matrix(), c.ks);
    const double r20 = v.recall[1 < v.recall.size() ? 1 : 0];
    if (r20 > bestEaseRecall) {
      bestEaseRecall = r20;
      bestLambda = o.lambda;
      easeValid = v;
      easeTest = recdiff::baselines::evaluateModel(ease, data.train.matrix(), testMask, data.test.matrix(), c.ks);
    }
  }
  table.add("ease.valid", easeValid);
  table.add("ease.test", easeTest);
  std::printf("(EASE lambda %.0f chosen on validation recall@20; baselines took %.1f s)\n", bestLambda, bs.seconds());
  report["ease.lambda"] = bestLambda;
  report["baseline_seconds"] = bs.seconds();
}

/// The shared second half of every run: baselines, the printed summary and the --report JSON.
int finishRun(const Config& c, const PreparedData& d, const TrainOutcome& o, const ModelSummary& m, const Stopwatch& total) {
  if (o.bestEpoch == 0) {
    std::cerr << "diffrec_movielens: no evaluation was completed (epochs " << c.epochs << ", eval every " << c.evalEvery
              << ")\n";
    return o.diverged ? 3 : 2;
  }
  const Index users = d.split.train.users(), items = d.split.train.items();
  nlohmann::json j;
  recdiff::metrics::MetricTable table;
  for (const auto& [k, v] : o.best.entries()) table.set(k, v);
  std::cout << "\nbest epoch " << o.bestEpoch << " (validation recall@20 " << o.bestRecall << ")\n";
  if (c.baselines) addBaselines(d.split, c, table, j);
  table.print(std::cout);

  const double epochMedian = recdiff::examples::median(o.epochSeconds);
  const double evalMedian = recdiff::examples::median(o.evalSeconds);
  const double epochCpu = recdiff::examples::median(o.epochCpuSeconds);
  const double evalCpu = recdiff::examples::median(o.evalCpuSeconds);
  const auto perSecond = [](double count, double seconds) { return seconds > 0 ? count / seconds : 0.0; };
  const double samplesPerSecond = perSecond(static_cast<double>(users), epochMedian);
  const double usersPerSecond = perSecond(static_cast<double>(users), evalMedian);
  std::printf("\n%s: %lld parameters\n", m.name.c_str(), static_cast<long long>(m.parameters));
  std::printf("seconds per epoch (median of %zu): %.3f wall, %.3f CPU; %.0f training samples/s", o.epochSeconds.size(),
              epochMedian, epochCpu, samplesPerSecond);
  if (m.trainGflop > 0) std::printf(" (%.1f GFLOP/s of GEMMs)", perSecond(m.trainGflop, epochMedian));
  std::printf("\nevaluation seconds (median of %zu): %.3f wall, %.3f CPU; %.0f users/s", o.evalSeconds.size(), evalMedian,
              evalCpu, usersPerSecond);
  if (m.evalGflop > 0) std::printf(" (%.1f GFLOP/s)", perSecond(m.evalGflop, evalMedian));
  std::printf("\ntotal seconds: %.1f, peak RSS: %.1f MiB\n", total.seconds(),
              static_cast<double>(recdiff::examples::peakRssBytes()) / (1024.0 * 1024.0));
  if (c.report.empty()) return o.diverged ? 3 : 0;

  j["dataset"] = d.description;
  j["data"] = c.data;
  j["model"] = c.modelName;
  j["preset"] = c.preset;
  j["seed"] = c.seed;
  j["threads"] = c.threads;
  j["precision"] = c.precision;
  nlohmann::json hp = m.hyperparameters;
  hp["epochs"] = c.epochs;
  hp["eval_every"] = c.evalEvery;
  hp["patience"] = c.patience;
  if (d.timeAware) {
    hp["w_min"] = c.time.wMin;
    hp["w_max"] = c.time.wMax;
  }
  j["hyperparameters"] = hp;
  j["users"] = users;
  j["items"] = items;
  j["parameters"] = m.parameters;
  j["best_epoch"] = o.bestEpoch;
  j["epochs_run"] = o.epochs;
  j["stop_reason"] = o.stopReason;
  j["diverged"] = o.diverged;
  nlohmann::json metrics;
  for (const auto& [k, v] : table.entries()) metrics[k] = v;
  j["metrics"] = metrics;
  for (const auto& [k, v] : table.entries()) j[k] = v;  // flat keys too: j["test.recall@20"]
  j["seconds_per_epoch"] = epochMedian;
  j["cpu_seconds_per_epoch"] = epochCpu;
  j["evaluation_seconds"] = evalMedian;
  j["evaluation_cpu_seconds"] = evalCpu;
  j["train_samples_per_second"] = samplesPerSecond;
  j["eval_users_per_second"] = usersPerSecond;
  j["total_seconds"] = total.seconds();
  j["total_cpu_seconds"] = cpuSeconds();
  if (m.trainGflop > 0) {
    j["train_gflop_per_epoch"] = m.trainGflop;
    j["eval_gflop"] = m.evalGflop;
    j["train_gflops"] = perSecond(m.trainGflop, epochMedian);
    j["eval_gflops"] = perSecond(m.evalGflop, evalMedian);
  }
  j["peak_rss_bytes"] = recdiff::examples::peakRssBytes();
  recdiff::examples::writeJsonAtomically(c.report, j);
  std::cout << "report written to " << c.report << "\n";
  return o.diverged ? 3 : 0;
}

/// DiffRec and T-DiffRec.
template <class Parameterization>
int run(const Config& c) {
  Stopwatch total;
  const PreparedData d = prepareData(c);
  const Index users = d.split.train.users(), items = d.split.train.items();
  recdiff::DiffRec<Parameterization> model(c.model, items, c.seed);
  if (!c.load.empty()) {
    model.load(c.load);
    std::cout << "loaded parameters from " << c.load << "\n";
  }
  ModelSummary m;
  m.name = d.timeAware ? "T-DiffRec" : "DiffRec";
  m.parameters = model.model().parameters().size();
  for (const auto& [k, v] : model.hyperparameters()) m.hyperparameters[k] = v;
  m.trainGflop = mlpFlops(c.model, items, users, true) * 1e-9;
  const bool folded = c.model.foldedReverse != recdiff::DiffRecOptions::Folding::kNever && !c.model.normalizeInput &&
                      !c.model.samplingNoise;  // as DiffRec::scores decides for a whole evaluation
  m.evalGflop = (folded ? foldedEvalFlops(c.model, items, users)
                        : mlpFlops(c.model, items, users, false) * static_cast<double>(c.model.steps)) * 1e-9;
  std::cout << "model: " << m.name << ", dims [" << join(c.model.dims) << "], " << m.parameters << " parameters, "
            << c.model.steps << " steps, " << c.model.schedule.name << ", mean type " << c.meanType << ", threads "
            << c.threads << ", seed " << c.seed << "\n";
  recdiff::ColVector<float> bestParams = model.model().parameters().values();
  const TrainOutcome o = trainWithEarlyStopping(model, d.input(), d.split, c, [&] {
    bestParams = model.model().parameters().values();
    if (!c.save.empty()) model.save(c.save);
  });
  model.model().parameters().values() = bestParams;
  return finishRun(c, d, o, m, total);
}

/// L-DiffRec's item clusters: from the checkpoint given to --load, none (--n-cate 1), or k-means on item
/// embeddings — --item-emb FILE.npy, else <data>/item_emb.npy when it exists, else (or with --item-emb svd) a
/// truncated SVD of the train interactions (cluster/svd_embeddings.hpp). `source` says which.
Eigen::ArrayXi itemClusters(const Config& c, const recdiff::data::Interactions& train, std::string& source) {
  const Index items = train.items();
  if (!c.load.empty()) {
    source = "checkpoint " + c.load;
    const Eigen::ArrayXi labels = recdiff::LDiffRec<float>::clusterLabels(recdiff::io::readCheckpointInfo(c.load), c.load);
    const Index clusters = labels.size() > 0 ? labels.maxCoeff() + 1 : 0;
    if (c.nCateGiven && clusters != c.nCate)
      throw std::runtime_error("--n-cate " + std::to_string(c.nCate) + ": the checkpoint " + c.load + " has " +
                               std::to_string(clusters) + " item clusters (omit --n-cate with --load)");
    return labels;
  }
  if (c.nCate == 1) {
    source = "none (n_cate 1)";
    return Eigen::ArrayXi::Zero(items);
  }
  const fs::path defaultEmb = fs::path(c.data) / "item_emb.npy";
  const bool useSvd = c.itemEmb == "svd" || (c.itemEmb.empty() && !fs::exists(defaultEmb));
  const recdiff::Rng rng(c.seed, 0xC1);
  if (useSvd) {
    const auto svd = recdiff::cluster::svdItemEmbeddings(train.matrix(), {.dims = std::min(c.svdDims, std::min(train.users(), items))},
                                                          rng.fork(1));
    source = "truncated SVD of the train interactions (" + std::to_string(svd.itemFactors.cols()) + " dims)";
    return recdiff::clusterItems(svd.itemFactors, c.nCate, rng);
  }
  const std::string path = c.itemEmb.empty() ? defaultEmb.string() : c.itemEmb;
  if (!fs::exists(path)) throw std::runtime_error("--item-emb " + path + " does not exist (or pass --item-emb svd)");
  const recdiff::RowMatrix<float> emb = recdiff::data::loadItemEmbeddings(path);
  if (emb.rows() != items)
    throw std::runtime_error(path + ": " + std::to_string(emb.rows()) + " rows, expected " + std::to_string(items) + " items");
  source = path;
  return recdiff::clusterItems(emb, c.nCate, rng);
}

/// L-DiffRec and LT-DiffRec.
int runLatent(const Config& c) {
  Stopwatch total;
  const PreparedData d = prepareData(c);
  std::string clusterSource;
  Stopwatch clustering;
  const Eigen::ArrayXi labels = itemClusters(c, d.split.train, clusterSource);
  const double clusteringSeconds = clustering.seconds();
  recdiff::LDiffRec<float> model(c.latent, labels, c.seed);
  if (!c.load.empty()) {
    model.load(c.load);
    std::cout << "loaded parameters from " << c.load << "\n";
  }
  ModelSummary m;
  m.name = d.timeAware ? "LT-DiffRec" : "L-DiffRec";
  m.parameters = model.parameterCount();
  for (const auto& [k, v] : model.hyperparameters())
    if (k != "item_clusters") m.hyperparameters[k] = v;
  const Index clusters = model.autoencoder().clusters();
  m.hyperparameters["n_cate"] = clusters;
  m.hyperparameters["item_clusters_from"] = clusterSource;
  m.hyperparameters["clustering_seconds"] = clusteringSeconds;
  std::vector<Index> sizes(static_cast<std::size_t>(clusters), 0);
  for (Index i = 0; i < labels.size(); ++i) ++sizes[static_cast<std::size_t>(labels(i))];
  m.hyperparameters["cluster_sizes"] = join(sizes);
  m.hyperparameters["cluster_latent_sizes"] = join(model.autoencoder().clusterLatentSizes());
  std::cout << "item clusters: " << clusters << " from " << clusterSource << ", sizes [" << join(sizes) << "], latents ["
            << join(model.autoencoder().clusterLatentSizes()) << "] (" << clusteringSeconds << " s)\n";
  std::cout << "model: " << m.name << ", latent " << model.autoencoder().latentSize() << ", mlp dims [" << join(c.latent.mlpDims)
            << "], " << m.parameters << " parameters (autoencoder " << model.autoencoder().parameters().size() << "), "
            << c.latent.steps << " steps, threads " << c.threads << ", seed " << c.seed << "\n";
  recdiff::ColVector<float> bestAe = model.autoencoder().parameters().values(), bestMlp = model.model().parameters().values();
  const TrainOutcome o = trainWithEarlyStopping(model, d.input(), d.split, c, [&] {
    bestAe = model.autoencoder().parameters().values();
    bestMlp = model.model().parameters().values();
    if (!c.save.empty()) model.save(c.save);
  });
  model.autoencoder().parameters().values() = bestAe;
  model.model().parameters().values() = bestMlp;
  return finishRun(c, d, o, m, total);
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"Train and evaluate DiffRec (Wang et al., SIGIR 2023) on MovieLens"};
  std::string dims, ks, schedule;
  std::optional<double> noiseScale, noiseMin, noiseMax, firstBeta, lr, wd;
  std::optional<int> steps, batch, emb, epochs, samplingSteps;
  bool noReweight = false, samplingNoise = false, norm = false, noBaselines = false, noProgress = false;
  std::string reverse;  // folded | stepwise (empty: the model's default)
  app.add_option("--preset", c.preset, "ml-100k | ml-1m | ml-1m_clean: the authors' settings per dataset")
      ->capture_default_str();
  std::string inDims, outDims, mlpDims;
  std::optional<double> lr1, lr2, wd1, wd2, lamda, annealCap, vaeAnnealCap;
  std::optional<Index> annealSteps, vaeAnnealSteps;
  bool noReparam = false;
  app.add_option("--model", c.modelName,
                 "diffrec | tdiffrec (time-weighted rows, see --w-min/--w-max) | ldiffrec (latent, item clusters) | ltdiffrec")
      ->capture_default_str();
  app.add_option("--w-min", c.time.wMin, "T-DiffRec: weight of each user's oldest interaction")->capture_default_str();
  app.add_option("--w-max", c.time.wMax, "T-DiffRec: weight of the newest")->capture_default_str();
  app.add_option("--n-cate", c.nCate, "L-DiffRec: item clusters (1: no clustering)")->capture_default_str();
  app.add_option("--item-emb", c.itemEmb,
                 "L-DiffRec: item embeddings .npy for clustering, or 'svd' (default: <data>/item_emb.npy if it exists, "
                 "else svd = a truncated SVD of the train interactions)");
  app.add_option("--svd-dims", c.svdDims, "L-DiffRec: width of the SVD item embeddings")->capture_default_str();
  app.add_option("--anneal-cap", annealCap, "L-DiffRec: floor of the annealed lamda");
  app.add_option("--anneal-steps", annealSteps, "L-DiffRec: epochs over which lamda decays to the cap (0: no decay)");
  app.add_option("--vae-anneal-cap", vaeAnnealCap, "L-DiffRec: ceiling of the KL weight");
  app.add_option("--vae-anneal-steps", vaeAnnealSteps, "L-DiffRec: batches over which the KL weight grows to its cap (0: the cap at once)");
  app.add_option("--in-dims", inDims, "L-DiffRec: encoder dims, e.g. [300]");
  app.add_option("--out-dims", outDims, "L-DiffRec: decoder dims, e.g. [] (empty: one decoder layer)");
  app.add_option("--mlp-dims", mlpDims, "L-DiffRec: denoiser hidden dims, e.g. [300]");
  app.add_option("--lamda", lamda, "L-DiffRec: weight between the diffusion and the autoencoder losses");
  app.add_option("--lr1", lr1, "L-DiffRec: autoencoder learning rate");
  app.add_option("--lr2", lr2, "L-DiffRec: denoiser learning rate");
  app.add_option("--wd1", wd1, "L-DiffRec: autoencoder weight decay");
  app.add_option("--wd2", wd2, "L-DiffRec: denoiser weight decay");
  app.add_flag("--no-reparam", noReparam, "L-DiffRec: plain (not variational) autoencoder");
  app.add_option("--data", c.data, "folder: DiffRec's .npy splits, or a raw MovieLens release")->required();
  app.add_option("--mean-type", c.meanType, "x0 | eps: what the denoiser predicts")->capture_default_str();
  app.add_option("--dims", dims, "hidden widths, mirrored, e.g. [200,600]");
  app.add_option("--emb-size", emb, "timestep embedding size");
  app.add_flag("--norm", norm, "L2-normalise the input rows");
  app.add_option("--noise-schedule", schedule, "linear-var | linear | cosine | binomial | ...");
  app.add_option("--noise-scale", noiseScale, "noise scale");
  app.add_option("--noise-min", noiseMin, "noise lower bound");
  app.add_option("--noise-max", noiseMax, "noise upper bound");
  app.add_option("--beta1", firstBeta, "overwrite the first beta (DiffRec fixes it to 1e-5)");
  app.add_option("--steps", steps, "diffusion steps");
  app.add_option("--sampling-steps", samplingSteps, "forward steps before inference (0: start from the clean row)");
  app.add_flag("--sampling-noise", samplingNoise, "add noise in the reverse steps at inference");
  app.add_option("--reverse", reverse,
                 "inference loop: folded (the noiseless loop in hidden space, 6x fewer flops; the default when no "
                 "--norm and no --sampling-noise) or stepwise (one full MLP pass per step)")
      ->check(CLI::IsMember({"folded", "stepwise"}));
  app.add_flag("--no-reweight", noReweight, "turn off the SNR loss reweighting");
  app.add_option("--lr", lr, "learning rate (AdamW)");
  app.add_option("--weight-decay", wd, "AdamW weight decay");
  app.add_option("--batch-size", batch, "users per batch");
  app.add_option("--epochs", epochs, "upper epoch limit");
  app.add_option("--eval-every", c.evalEvery, "evaluate every N epochs")->capture_default_str();
  app.add_option("--patience", c.patience, "stop after N epochs without a better validation recall@20")
      ->capture_default_str();
  app.add_option("--min-rating", c.minRating, "raw MovieLens: keep ratings >= this")->capture_default_str();
  app.add_option("--topk", ks, "cut-offs, e.g. [10,20,50,100]");
  app.add_option("--seed", c.seed, "seed of every random number")->capture_default_str();
  app.add_option("--threads", c.threads, "OpenMP threads (0: all cores)")->capture_default_str();
  app.add_option("--save", c.save, "write the best model's checkpoint here (atomically)");
  app.add_option("--load", c.load, "start from this checkpoint's parameters");
  app.add_option("--log", c.log, "per-epoch CSV log");
  app.add_option("--report", c.report, "JSON report (metrics keyed like test.recall@20, timings, peak memory)");
  app.add_flag("--no-baselines", noBaselines, "skip the most-popular and EASE rows");
  app.add_flag("--no-progress", noProgress, "no progress bar");
  app.add_option("--precision", c.precision,
                 "GEMM arithmetic of training: float, or bf16 (bf16 operands, fp32 sums; needs oneDNN and "
                 "AVX512-BF16; DiffRec/T-DiffRec only; inference stays float)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
    applyPreset(c);
    if (!dims.empty()) c.model.dims = parseList<Index>(dims, "--dims");
    if (!ks.empty()) c.ks = parseList<Index>(ks, "--topk");
    if (emb) c.model.timeEmbeddingSize = *emb;
    c.model.normalizeInput = norm;
    if (!schedule.empty()) {
      c.model.schedule = recdiff::ScheduleSpec{};
      c.model.schedule.name = schedule;
    }
    if (noiseScale) c.model.schedule.noiseScale = *noiseScale;
    if (noiseMin) c.model.schedule.noiseMin = *noiseMin;
    if (noiseMax) c.model.schedule.noiseMax = *noiseMax;
    if (firstBeta) c.model.schedule.firstBeta = *firstBeta;
    if (steps) c.model.steps = *steps;
    if (samplingSteps) c.model.samplingSteps = *samplingSteps;
    c.model.samplingNoise = samplingNoise;
    if (!reverse.empty())
      c.model.foldedReverse = reverse == "stepwise" ? recdiff::DiffRecOptions::Folding::kNever
                                                    : recdiff::DiffRecOptions::Folding::kAlways;
    c.model.reweight = !noReweight;
    if (lr) c.model.learningRate = *lr;
    if (wd) c.model.weightDecay = *wd;
    if (batch) c.model.batchSize = *batch;
    if (epochs) c.epochs = *epochs;
    c.baselines = !noBaselines;
    c.progress = !noProgress;
    if (c.evalEvery <= 0) throw CLI::ValidationError("--eval-every", "must be positive");
    if (c.patience <= 0) throw CLI::ValidationError("--patience", "must be positive");
    if (c.modelName != "diffrec" && c.modelName != "tdiffrec" && c.modelName != "ldiffrec" && c.modelName != "ltdiffrec")
      throw CLI::ValidationError("--model", "diffrec, tdiffrec, ldiffrec or ltdiffrec, got " + c.modelName);
    // L-DiffRec: the authors' ml-1m_clean preset (LDiffRecOptions defaults), then the shared and L-DiffRec flags
    recdiff::LDiffRecOptions& L = c.latent;
    L = recdiff::LDiffRecOptions{};
    if (!inDims.empty()) L.inDims = parseList<Index>(inDims, "--in-dims");
    if (!outDims.empty() && outDims != "[]") L.outDims = parseList<Index>(outDims, "--out-dims");
    if (!mlpDims.empty()) L.mlpDims = parseList<Index>(mlpDims, "--mlp-dims");
    if (emb) L.timeEmbeddingSize = *emb;
    L.normalizeInput = norm;
    if (!schedule.empty()) {
      L.schedule = recdiff::ScheduleSpec{};
      L.schedule.name = schedule;
    }
    if (noiseScale) L.schedule.noiseScale = *noiseScale;
    if (noiseMin) L.schedule.noiseMin = *noiseMin;
    if (noiseMax) L.schedule.noiseMax = *noiseMax;
    if (firstBeta) L.schedule.firstBeta = *firstBeta;
    if (steps) L.steps = *steps;
    if (samplingSteps) L.samplingSteps = *samplingSteps;
    L.samplingNoise = samplingNoise;
    L.reweight = !noReweight;
    if (batch) L.batchSize = *batch;
    if (lr1) L.lr1 = *lr1;
    if (lr2) L.lr2 = *lr2;
    if (wd1) L.wd1 = *wd1;
    if (wd2) L.wd2 = *wd2;
    if (lamda) L.lamda = *lamda;
    if (annealCap) L.annealCap = *annealCap;
    if (annealSteps) L.annealSteps = *annealSteps;
    if (vaeAnnealCap) L.vaeAnnealCap = *vaeAnnealCap;
    if (vaeAnnealSteps) L.vaeAnnealSteps = *vaeAnnealSteps;
    L.variational = !noReparam;
    if (c.nCate < 1) throw CLI::ValidationError("--n-cate", "must be >= 1");
    c.nCateGiven = app.count("--n-cate") > 0;
    if (c.svdDims < 1) throw CLI::ValidationError("--svd-dims", "must be >= 1");
    if ((c.modelName == "ldiffrec" || c.modelName == "ltdiffrec") && c.meanType != "x0")
      throw CLI::ValidationError("--mean-type", "L-DiffRec supports x0 only");
    if (!(c.time.wMin > 0.0 && c.time.wMax >= c.time.wMin))
      throw CLI::ValidationError("--w-min/--w-max", "need 0 < w-min <= w-max");
    if (c.meanType != "x0" && c.meanType != "eps") throw CLI::ValidationError("--mean-type", "x0 or eps, got " + c.meanType);
    if (c.precision != "float" && c.precision != "bf16")
      throw CLI::ValidationError("--precision", "float or bf16, got " + c.precision);
    if (c.precision == "bf16" && (c.modelName == "ldiffrec" || c.modelName == "ltdiffrec"))
      throw CLI::ValidationError("--precision", "bf16 is implemented for diffrec and tdiffrec only");
    if (c.precision == "bf16" && !recdiff::nn::bf16GemmAvailable())
      throw CLI::ValidationError("--precision", "bf16 is unavailable: " + recdiff::nn::bf16GemmUnavailableReason());
    c.model.trainingPrecision = c.precision == "bf16" ? recdiff::nn::GemmPrecision::kBf16 : recdiff::nn::GemmPrecision::kFloat;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (c.threads < 0) {
    std::cerr << "diffrec_movielens: --threads must be >= 0\n";
    return 2;
  }
#if defined(_OPENMP)
  if (c.threads > 0) omp_set_num_threads(c.threads);
  c.threads = omp_get_max_threads();
#else
  c.threads = 1;
#endif
  try {
    if (c.modelName == "ldiffrec" || c.modelName == "ltdiffrec") return runLatent(c);
    return c.meanType == "eps" ? run<recdiff::PredictEpsilon>(c) : run<recdiff::PredictX0>(c);
  } catch (const std::exception& e) {
    std::cerr << "diffrec_movielens: " << e.what() << "\n";
    return 1;
  }
}
