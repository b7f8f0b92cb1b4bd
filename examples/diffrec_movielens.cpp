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
// latents of an item-cluster autoencoder; items clustered by k-means on --item-emb, default <data>/item_emb.npy,
// or --n-cate 1 for no clustering) with the authors' ml-1m_clean preset as defaults; ltdiffrec is L-DiffRec on
// T-DiffRec's weighted rows.
//
// --data is either a folder with DiffRec's own splits (train_list.npy, valid_list.npy, test_list.npy), used as
// they are, or a raw MovieLens release (u.data, ratings.dat or ratings.csv), loaded with the preset's rating
// threshold and split 7:1:2 by time within each user.
#include <recdiff/baselines/ease.hpp>
#include <recdiff/baselines/evaluate.hpp>
#include <recdiff/baselines/most_popular.hpp>
#include <recdiff/baselines/tuning.hpp>
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
#include <unistd.h>

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
  std::string itemEmb;
  std::string data;
  std::string meanType = "x0";
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

std::vector<Index> parseList(const std::string& text, const char* flag) {
  std::vector<Index> out;
  std::string clean;
  for (char ch : text)
    if (ch != '[' && ch != ']' && ch != ' ') clean += ch;
  std::stringstream ss(clean);
  for (std::string part; std::getline(ss, part, ',');) {
    try {
      std::size_t used = 0;
      const long v = std::stol(part, &used);
      if (used != part.size() || v <= 0) throw std::invalid_argument(part);
      out.push_back(v);
    } catch (const std::exception&) {
      throw CLI::ValidationError(flag, "expected a list of positive integers like [200,600], got '" + text + "'");
    }
  }
  if (out.empty()) throw CLI::ValidationError(flag, "empty list");
  return out;
}

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

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}
  void show(int epoch, int epochs, double loss, double seconds, const std::string& extra) const {
    if (!enabled_) return;
    const int width = 30, done = epochs > 0 ? width * epoch / epochs : width;
    std::fprintf(stderr, "\r[%s%s] epoch %d/%d loss %.4f %.2fs/epoch %s   ", std::string(done, '#').c_str(),
                 std::string(width - done, '.').c_str(), epoch, epochs, loss, seconds, extra.c_str());
    std::fflush(stderr);
  }
  void finish() const {
    if (enabled_) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
};

/// What trainWithEarlyStopping() did.
struct TrainOutcome {
  recdiff::metrics::MetricTable best;  ///< the evaluation at the best validation recall@20
  double bestRecall = -1.0;
  int bestEpoch = 0;                   ///< 0: no evaluation completed
  int epochs = 0;                      ///< epochs trained
  std::string stopReason = "epoch budget reached";
  bool diverged = false;
  std::vector<double> epochSeconds, evalSeconds;
};

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
    recdiff::Rng epochRng = rng.fork(static_cast<std::uint64_t>(epoch));
    const recdiff::EpochResult r = model.trainEpoch(input, epochRng);
    o.epochSeconds.push_back(sw.seconds());
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
      recdiff::Rng evalRng = rng.fork(0xE0000000ull + static_cast<std::uint64_t>(epoch));
      const recdiff::metrics::MetricTable table = model.evaluate(input, data.valid, data.test, c.ks, evalRng);
      o.evalSeconds.push_back(ev.seconds());
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

template <class Parameterization>
int run(const Config& c) {
  Stopwatch total;
  std::string description;
  const recdiff::data::Split data = recdiff::examples::loadDiffRecData(c.data, c.minRating, description);
  const Index users = data.train.users(), items = data.train.items();
  std::cout << "data: " << description << ": " << users << " users, " << items << " items, train "
            << data.train.nnz() << ", valid " << data.valid.nnz() << ", test " << data.test.nnz() << " interactions\n";

  // T-DiffRec: the time-weighted train rows are x0 for training and the input of inference. Both loaders give
  // each user's train interactions in time order (the .npy splits by construction, raw releases by timestamp).
  const bool timeAware = c.modelName == "tdiffrec";
  const recdiff::data::Interactions weighted =
      timeAware ? recdiff::timeWeighted(data.train, c.time, recdiff::StoredOrder::Chronological) : recdiff::data::Interactions{};
  const recdiff::data::Interactions& input = timeAware ? weighted : data.train;
  if (timeAware) std::cout << "T-DiffRec time weights: w_min " << c.time.wMin << ", w_max " << c.time.wMax << "\n";

  recdiff::DiffRec<Parameterization> model(c.model, items, c.seed);
  if (!c.load.empty()) {
    model.load(c.load);
    std::cout << "loaded parameters from " << c.load << "\n";
  }
  std::cout << "model: " << (timeAware ? "T-DiffRec" : "DiffRec") << ", dims [" << join(c.model.dims) << "], " << model.model().parameters().size()
            << " parameters, " << c.model.steps << " steps, " << c.model.schedule.name << ", mean type "
            << c.meanType << ", threads " << c.threads << ", seed " << c.seed << "\n";

  recdiff::ColVector<float> bestParams = model.model().parameters().values();
  const TrainOutcome o = trainWithEarlyStopping(model, input, data, c, [&] {
    bestParams = model.model().parameters().values();
    if (!c.save.empty()) model.save(c.save);
  });
  model.model().parameters().values() = bestParams;
  const std::vector<double>& epochSeconds = o.epochSeconds;
  const std::vector<double>& evalSeconds = o.evalSeconds;
  const recdiff::metrics::MetricTable& best = o.best;
  const double bestRecall = o.bestRecall;
  const int bestEpoch = o.bestEpoch, epoch = o.epochs;
  const std::string& stopReason = o.stopReason;
  const bool diverged = o.diverged;
  if (bestEpoch == 0) {
    std::cerr << "diffrec_movielens: no evaluation was completed (epochs " << c.epochs << ", eval every " << c.evalEvery
              << ")\n";
    return diverged ? 3 : 2;
  }

  recdiff::metrics::MetricTable table;
  for (const auto& [k, v] : best.entries()) table.set(k, v);
  double baselineSeconds = 0.0, easeLambda = 0.0;
  if (c.baselines) {
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
    easeLambda = bestLambda;
    baselineSeconds = bs.seconds();
  }

  const double epochMedian = recdiff::examples::median(epochSeconds);
  const double evalMedian = recdiff::examples::median(evalSeconds);
  const double trainGflop = mlpFlops(c.model, items, users, true) * 1e-9;
  const double evalGflop = mlpFlops(c.model, items, users, false) * static_cast<double>(c.model.steps) * 1e-9;
  std::cout << "\nbest epoch " << bestEpoch << " (validation recall@20 " << bestRecall << ")\n";
  table.print(std::cout);
  if (c.baselines) std::printf("(EASE lambda %.0f chosen on validation recall@20; baselines took %.1f s)\n", easeLambda, baselineSeconds);
  std::printf("\nseconds per epoch (median of %zu): %.3f  (%.1f GFLOP/s of GEMMs)\n", epochSeconds.size(), epochMedian,
              epochMedian > 0 ? trainGflop / epochMedian : 0.0);
  std::printf("evaluation seconds (median of %zu): %.3f  (%.1f GFLOP/s)\n", evalSeconds.size(), evalMedian,
              evalMedian > 0 ? evalGflop / evalMedian : 0.0);
  std::printf("total seconds: %.1f, peak RSS: %.1f MiB\n", total.seconds(),
              static_cast<double>(recdiff::examples::peakRssBytes()) / (1024.0 * 1024.0));

  if (!c.report.empty()) {
    nlohmann::json j;
    j["dataset"] = description;
    j["data"] = c.data;
    j["model"] = c.modelName;
    j["preset"] = c.preset;
    j["seed"] = c.seed;
    j["threads"] = c.threads;
    nlohmann::json hp;
    for (const auto& [k, v] : model.hyperparameters()) hp[k] = v;
    hp["epochs"] = c.epochs;
    hp["eval_every"] = c.evalEvery;
    hp["patience"] = c.patience;
    if (timeAware) {
      hp["w_min"] = c.time.wMin;
      hp["w_max"] = c.time.wMax;
    }
    j["hyperparameters"] = hp;
    j["users"] = users;
    j["items"] = items;
    j["parameters"] = model.model().parameters().size();
    j["best_epoch"] = bestEpoch;
    j["epochs_run"] = epoch;
    j["stop_reason"] = stopReason;
    j["diverged"] = diverged;
    nlohmann::json metrics;
    for (const auto& [k, v] : table.entries()) metrics[k] = v;
    j["metrics"] = metrics;
    for (const auto& [k, v] : table.entries()) j[k] = v;  // flat keys too: j["test.recall@20"]
    j["seconds_per_epoch"] = epochMedian;
    j["evaluation_seconds"] = evalMedian;
    j["baseline_seconds"] = baselineSeconds;
    if (c.baselines) j["ease.lambda"] = easeLambda;
    j["total_seconds"] = total.seconds();
    j["train_gflop_per_epoch"] = trainGflop;
    j["eval_gflop"] = evalGflop;
    j["train_gflops"] = epochMedian > 0 ? trainGflop / epochMedian : 0.0;
    j["eval_gflops"] = evalMedian > 0 ? evalGflop / evalMedian : 0.0;
    j["peak_rss_bytes"] = recdiff::examples::peakRssBytes();
    recdiff::examples::writeJsonAtomically(c.report, j);
    std::cout << "report written to " << c.report << "\n";
  }
  return diverged ? 3 : 0;
}

/// L-DiffRec / LT-DiffRec: the same protocol (train, evaluate every evalEvery epochs, keep the best validation
/// recall@20, early stop) and the same report keys as run().
int runLatent(const Config& c) {
  if (!c.save.empty() || !c.load.empty())
    throw std::runtime_error("--save/--load are not supported for --model " + c.modelName + " yet (DiffRec and T-DiffRec only)");
  Stopwatch total;
  std::string description;
  const recdiff::data::Split data = recdiff::examples::loadDiffRecData(c.data, c.minRating, description);
  const Index users = data.train.users(), items = data.train.items();
  std::cout << "data: " << description << ": " << users << " users, " << items << " items, train "
            << data.train.nnz() << ", valid " << data.valid.nnz() << ", test " << data.test.nnz() << " interactions\n";
  const bool timeAware = c.modelName == "ltdiffrec";
  const recdiff::data::Interactions weighted =
      timeAware ? recdiff::timeWeighted(data.train, c.time, recdiff::StoredOrder::Chronological) : recdiff::data::Interactions{};
  const recdiff::data::Interactions& input = timeAware ? weighted : data.train;
  Eigen::ArrayXi labels = Eigen::ArrayXi::Zero(items);
  std::string embPath;
  if (c.nCate > 1) {
    embPath = c.itemEmb.empty() ? (fs::path(c.data) / "item_emb.npy").string() : c.itemEmb;
    if (!fs::exists(embPath))
      throw std::runtime_error("L-DiffRec with --n-cate " + std::to_string(c.nCate) + " needs item embeddings: " + embPath +
                               " does not exist (pass --item-emb FILE.npy, or --n-cate 1 for no clustering)");
    const recdiff::RowMatrix<float> emb = recdiff::data::loadItemEmbeddings(embPath);
    if (emb.rows() != items)
      throw std::runtime_error(embPath + ": " + std::to_string(emb.rows()) + " rows, expected " + std::to_string(items) + " items");
    labels = recdiff::clusterItems(emb, c.nCate, recdiff::Rng(c.seed, 0xC1));
  }
  recdiff::LDiffRec<float> model(c.latent, labels, c.seed);
  std::cout << "model: " << (timeAware ? "LT-DiffRec" : "L-DiffRec") << ", " << c.nCate << " item clusters, latent "
            << model.autoencoder().latentSize() << ", mlp dims [" << join(c.latent.mlpDims) << "], " << model.parameterCount()
            << " parameters (autoencoder " << model.autoencoder().parameters().size() << "), " << c.latent.steps
            << " steps, threads " << c.threads << ", seed " << c.seed << "\n";
  const TrainOutcome o = trainWithEarlyStopping(model, input, data, c, [] {});
  const std::vector<double>& epochSeconds = o.epochSeconds;
  const std::vector<double>& evalSeconds = o.evalSeconds;
  const recdiff::metrics::MetricTable& best = o.best;
  const double bestRecall = o.bestRecall;
  const int bestEpoch = o.bestEpoch, epoch = o.epochs;
  const std::string& stopReason = o.stopReason;
  const bool diverged = o.diverged;
  if (bestEpoch == 0) {
    std::cerr << "diffrec_movielens: no evaluation was completed\n";
    return diverged ? 3 : 2;
  }
  const double epochMedian = recdiff::examples::median(epochSeconds);
  const double evalMedian = recdiff::examples::median(evalSeconds);
  std::cout << "\nbest epoch " << bestEpoch << " (validation recall@20 " << bestRecall << ")\n";
  best.print(std::cout);
  std::printf("\nseconds per epoch (median of %zu): %.3f\nevaluation seconds (median of %zu): %.3f\n", epochSeconds.size(),
              epochMedian, evalSeconds.size(), evalMedian);
  std::printf("total seconds: %.1f, peak RSS: %.1f MiB\n", total.seconds(),
              static_cast<double>(recdiff::examples::peakRssBytes()) / (1024.0 * 1024.0));
  if (!c.report.empty()) {
    nlohmann::json j;
    j["dataset"] = description;
    j["data"] = c.data;
    j["model"] = c.modelName;
    j["preset"] = c.preset;
    j["seed"] = c.seed;
    j["threads"] = c.threads;
    const recdiff::LDiffRecOptions& o = c.latent;
    nlohmann::json hp;
    hp["lr1"] = o.lr1;
    hp["lr2"] = o.lr2;
    hp["wd1"] = o.wd1;
    hp["wd2"] = o.wd2;
    hp["batch_size"] = o.batchSize;
    hp["n_cate"] = c.nCate;
    hp["item_emb"] = embPath;
    hp["in_dims"] = join(o.inDims);
    hp["out_dims"] = join(o.outDims);
    hp["reparam"] = o.variational;
    hp["lamda"] = o.lamda;
    hp["anneal_cap"] = o.annealCap;
    hp["anneal_steps"] = o.annealSteps;
    hp["vae_anneal_cap"] = o.vaeAnnealCap;
    hp["vae_anneal_steps"] = o.vaeAnnealSteps;
    hp["mlp_dims"] = join(o.mlpDims);
    hp["emb_size"] = o.timeEmbeddingSize;
    hp["mean_type"] = "x0";
    hp["steps"] = o.steps;
    hp["noise_schedule"] = o.schedule.name;
    hp["noise_scale"] = o.schedule.noiseScale.value_or(NAN);
    hp["noise_min"] = o.schedule.noiseMin.value_or(NAN);
    hp["noise_max"] = o.schedule.noiseMax.value_or(NAN);
    hp["sampling_steps"] = o.samplingSteps;
    hp["reweight"] = o.reweight;
    hp["epochs"] = c.epochs;
    hp["eval_every"] = c.evalEvery;
    hp["patience"] = c.patience;
    if (timeAware) {
      hp["w_min"] = c.time.wMin;
      hp["w_max"] = c.time.wMax;
    }
    j["hyperparameters"] = hp;
    j["users"] = users;
    j["items"] = items;
    j["parameters"] = model.parameterCount();
    j["best_epoch"] = bestEpoch;
    j["epochs_run"] = epoch;
    j["stop_reason"] = stopReason;
    j["diverged"] = diverged;
    nlohmann::json metrics;
    for (const auto& [k, v] : best.entries()) metrics[k] = v;
    j["metrics"] = metrics;
    for (const auto& [k, v] : best.entries()) j[k] = v;
    j["seconds_per_epoch"] = epochMedian;
    j["evaluation_seconds"] = evalMedian;
    j["total_seconds"] = total.seconds();
    j["peak_rss_bytes"] = recdiff::examples::peakRssBytes();
    recdiff::examples::writeJsonAtomically(c.report, j);
    std::cout << "report written to " << c.report << "\n";
  }
  return diverged ? 3 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"Train and evaluate DiffRec (Wang et al., SIGIR 2023) on MovieLens"};
  std::string dims, ks, schedule;
  std::optional<double> noiseScale, noiseMin, noiseMax, firstBeta, lr, wd;
  std::optional<int> steps, batch, emb, epochs, samplingSteps;
  bool noReweight = false, samplingNoise = false, norm = false, noBaselines = false, noProgress = false;
  app.add_option("--preset", c.preset, "ml-100k | ml-1m | ml-1m_clean: the authors' settings per dataset")
      ->capture_default_str();
  std::string inDims, outDims, mlpDims;
  std::optional<double> lr1, lr2, wd1, wd2, lamda;
  bool noReparam = false;
  app.add_option("--model", c.modelName,
                 "diffrec | tdiffrec (time-weighted rows, see --w-min/--w-max) | ldiffrec (latent, item clusters) | ltdiffrec")
      ->capture_default_str();
  app.add_option("--w-min", c.time.wMin, "T-DiffRec: weight of each user's oldest interaction")->capture_default_str();
  app.add_option("--w-max", c.time.wMax, "T-DiffRec: weight of the newest")->capture_default_str();
  app.add_option("--n-cate", c.nCate, "L-DiffRec: item clusters (1: no clustering)")->capture_default_str();
  app.add_option("--item-emb", c.itemEmb, "L-DiffRec: item embeddings .npy for clustering (default <data>/item_emb.npy)");
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
  try {
    app.parse(argc, argv);
    applyPreset(c);
    if (!dims.empty()) c.model.dims = parseList(dims, "--dims");
    if (!ks.empty()) c.ks = parseList(ks, "--topk");
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
    if (!inDims.empty()) L.inDims = parseList(inDims, "--in-dims");
    if (!outDims.empty() && outDims != "[]") L.outDims = parseList(outDims, "--out-dims");
    if (!mlpDims.empty()) L.mlpDims = parseList(mlpDims, "--mlp-dims");
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
    L.variational = !noReparam;
    if (c.nCate < 1) throw CLI::ValidationError("--n-cate", "must be >= 1");
    if ((c.modelName == "ldiffrec" || c.modelName == "ltdiffrec") && c.meanType != "x0")
      throw CLI::ValidationError("--mean-type", "L-DiffRec supports x0 only");
    if (!(c.time.wMin > 0.0 && c.time.wMax >= c.time.wMin))
      throw CLI::ValidationError("--w-min/--w-max", "need 0 < w-min <= w-max");
    if (c.meanType != "x0" && c.meanType != "eps") throw CLI::ValidationError("--mean-type", "x0 or eps, got " + c.meanType);
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
