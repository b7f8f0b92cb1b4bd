#ifndef RECDIFF_EXAMPLES_COMMON_DIFFREC_RUN_HPP
#define RECDIFF_EXAMPLES_COMMON_DIFFREC_RUN_HPP
// The DiffRec examples' helpers (diffrec_movielens, recommend): --data (DiffRec's splits or a raw MovieLens
// release), the prepared data (train rows or T-DiffRec's time-weighted copy), the GEMM FLOP counts for
// throughput, the most-popular and EASE baseline rows, L-DiffRec's item clusters and the speed report.

#include <recdiff/baselines/ease.hpp>
#include <recdiff/cluster/svd_embeddings.hpp>
#include <recdiff/data/diffrec_splits.hpp>
#include <recdiff/data/movielens.hpp>
#include <recdiff/data/split.hpp>
#include <recdiff/models/diffrec.hpp>
#include <recdiff/models/ldiffrec.hpp>
#include <recdiff/models/tdiffrec.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "diffrec_baselines.hpp"
#include "run_info.hpp"
#include "training.hpp"

namespace recdiff::examples {

/// The splits, and the model's input: the train split, or T-DiffRec's time-weighted copy of it.
struct PreparedData {
  data::Split split;
  std::string description;
  bool timeAware = false;
  data::Interactions weighted;
  const data::Interactions& input() const { return timeAware ? weighted : split.train; }
};

/// Loads --data (loadDiffRecData) and, when timeAware, weights the train rows by recency: the
/// raw releases by timestamp, DiffRec's .npy splits in their stored order, which is chronological within each
/// user by construction (the reference's assumption; StoredOrder::Chronological declares it).
inline PreparedData prepareData(const std::string& folder, double minRating, bool timeAware, const TimeWeightOptions& time) {
  PreparedData d;
  d.split = loadDiffRecData(folder, minRating, d.description);
  const data::Interactions& train = d.split.train;
  std::cout << "data: " << d.description << ": " << train.users() << " users, " << train.items() << " items, train "
            << train.nnz() << ", valid " << d.split.valid.nnz() << ", test " << d.split.test.nnz() << " interactions\n";
  d.timeAware = timeAware;
  if (timeAware) {
    d.weighted = timeWeighted(train, time, StoredOrder::Chronological);
    std::cout << "T-DiffRec time weights: w_min " << time.wMin << ", w_max " << time.wMax << " ("
              << (train.hasTimestamps() ? "by timestamp" : "in the splits' chronological row order") << ")\n";
  }
  return d;
}

/// The fingerprint of the splits a training state is tied to (--resume): train, valid and test, and the
/// model's input (T-DiffRec's weighted rows).
inline std::string splitFingerprint(const PreparedData& d) {
  io::Fingerprint f;
  for (const data::Interactions* x : {&d.split.train, &d.split.valid, &d.split.test, &d.input()}) f.add(x->matrix());
  return f.hex();
}

/// FLOPs of the DiffRec MLP's GEMMs for `rows` rows: forward only, or forward + backward without the input
/// gradient of the first layer (what training computes).
inline double mlpFlops(const DiffRecOptions& o, Index items, Index rows, bool backward) {
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
inline double foldedEvalFlops(const DiffRecOptions& o, Index items, Index rows) {
  const double r = static_cast<double>(rows), n = static_cast<double>(items), d = static_cast<double>(o.dims.back());
  std::vector<double> hidden;  // the chain between the first and the last layer: dims reversed, then dims[1:]
  for (auto it = o.dims.rbegin(); it != o.dims.rend(); ++it) hidden.push_back(static_cast<double>(*it));
  for (std::size_t i = 1; i < o.dims.size(); ++i) hidden.push_back(static_cast<double>(o.dims[i]));
  double perStep = 2.0 * d * d;
  for (std::size_t k = 0; k + 1 < hidden.size(); ++k) perStep += 2.0 * hidden[k] * hidden[k + 1];
  return 2.0 * d * n * d + r * (2.0 * n * d + static_cast<double>(o.steps) * perStep + 2.0 * d * n);
}

/// The most-popular and EASE rows on the same splits and evaluator (diffrec_baselines.hpp; EASE's λ chosen on
/// the validation recall at the second cut-off, recall@20 by default).
inline void addBaselines(const data::Split& data, const std::vector<Index>& ks, metrics::MetricTable& table,
                         nlohmann::json& report) {
  Stopwatch bs;
  const BaselineOutcome pop = mostPopularBaseline(data, ks);
  table.add("popularity", pop.metrics);
  const std::string select = "valid.recall@" + std::to_string(ks[ks.size() > 1 ? 1 : 0]);
  try {
    const BaselineOutcome ease = tuneBaseline<baselines::EASE<float>>(
        "ease", data, ks, baselines::easeGrid(), [](const baselines::EASEOptions& o) { return o.lambda; }, select);
    table.add("ease", ease.metrics);
    std::printf("(EASE lambda %.0f chosen on validation recall@20)\n", ease.paramsJson.get<double>());
    report["ease.lambda"] = ease.paramsJson;
  } catch (const MemoryError& e) {  // refused up front: the other rows stand
    std::fprintf(stderr, "ease refused: %s\n", e.what());
    report["ease.refused"] = e.what();
  }
  std::printf("(baselines took %.1f s)\n", bs.seconds());
  report["baseline_seconds"] = bs.seconds();
}

/// Where L-DiffRec's item clusters come from (diffrec_movielens --load, --n-cate, --item-emb, --svd-dims).
struct ClusterSource {
  std::string load;      ///< a checkpoint: its clusters
  Index clusters = 2;
  bool clustersGiven = false;
  std::string itemEmb;   ///< a .npy file, "svd", or empty: <data>/item_emb.npy if it exists, else svd
  Index svdDims = 64;
  std::string data;
  std::uint64_t seed = 1;
};

/// L-DiffRec's item clusters: from the checkpoint given to --load, none (--n-cate 1), or k-means on item
/// embeddings — --item-emb FILE.npy, else <data>/item_emb.npy when it exists, else (or with --item-emb svd) a
/// truncated SVD of the train interactions (cluster/svd_embeddings.hpp). `source` says which.
inline Eigen::ArrayXi itemClusters(const ClusterSource& c, const data::Interactions& train, std::string& source) {
  namespace fs = std::filesystem;
  const Index items = train.items();
  if (!c.load.empty()) {
    source = "checkpoint " + c.load;
    const Eigen::ArrayXi labels = LDiffRec<float>::clusterLabels(io::readCheckpointInfo(c.load), c.load);
    const Index clusters = labels.size() > 0 ? labels.maxCoeff() + 1 : 0;
    if (c.clustersGiven && clusters != c.clusters)
      throw std::runtime_error("--n-cate " + std::to_string(c.clusters) + ": the checkpoint " + c.load + " has " +
                               std::to_string(clusters) + " item clusters (omit --n-cate with --load)");
    return labels;
  }
  if (c.clusters == 1) {
    source = "none (n_cate 1)";
    return Eigen::ArrayXi::Zero(items);
  }
  const fs::path defaultEmb = fs::path(c.data) / "item_emb.npy";
  const bool useSvd = c.itemEmb == "svd" || (c.itemEmb.empty() && !fs::exists(defaultEmb));
  const Rng rng(c.seed, 0xC1);
  if (useSvd) {
    const auto svd = cluster::svdItemEmbeddings(train.matrix(), {.dims = std::min(c.svdDims, std::min(train.users(), items))},
                                                rng.fork(1));
    source = "truncated SVD of the train interactions (" + std::to_string(svd.itemFactors.cols()) + " dims)";
    return clusterItems(svd.itemFactors, c.clusters, rng);
  }
  const std::string path = c.itemEmb.empty() ? defaultEmb.string() : c.itemEmb;
  if (!fs::exists(path)) throw std::runtime_error("--item-emb " + path + " does not exist (or pass --item-emb svd)");
  const RowMatrix<float> emb = data::loadItemEmbeddings(path);
  if (emb.rows() != items)
    throw std::runtime_error(path + ": " + std::to_string(emb.rows()) + " rows, expected " + std::to_string(items) + " items");
  source = path;
  return clusterItems(emb, c.clusters, rng);
}

/// The speed of a DiffRec run: medians over its epochs and evaluations.
struct Speed {
  double epochMedian = 0, epochCpu = 0, evalMedian = 0, evalCpu = 0, samplesPerSecond = 0, usersPerSecond = 0;
  double trainGflops = 0;  ///< GFLOP/s of the training GEMMs at samplesPerSecond
  double trainGflop = 0, evalGflop = 0;  ///< GEMM GFLOP per epoch and per evaluation (0: not computed)
  double totalSeconds = 0;
};

/// Prints the run's speed and returns it: training rows per second as the median over epochs of the rows each
/// applied (so a --max-batches-per-epoch epoch counts what it trained), `trainGflop` per full epoch of
/// `samples` rows, `evalGflop` per evaluation of `users` users.
inline Speed printSpeed(const std::string& name, Index parameters, Index samples, Index users, const RunTimes& o,
                 double trainGflop, double evalGflop, const Stopwatch& total) {
  Speed s;
  s.epochMedian = median(o.epochSeconds);
  s.evalMedian = median(o.evalSeconds);
  s.epochCpu = median(o.epochCpuSeconds);
  s.evalCpu = median(o.evalCpuSeconds);
  const auto perSecond = [](double count, double seconds) { return seconds > 0 ? count / seconds : 0.0; };
  s.samplesPerSecond = median(o.epochSamplesPerSecond);
  s.trainGflops = samples > 0 ? trainGflop / static_cast<double>(samples) * s.samplesPerSecond : 0.0;
  s.usersPerSecond = perSecond(static_cast<double>(users), s.evalMedian);
  s.trainGflop = trainGflop;
  s.evalGflop = evalGflop;
  std::printf("\n%s: %lld parameters\n", name.c_str(), static_cast<long long>(parameters));
  std::printf("seconds per epoch (median of %zu): %.3f wall, %.3f CPU; %.0f training samples/s", o.epochSeconds.size(),
              s.epochMedian, s.epochCpu, s.samplesPerSecond);
  if (trainGflop > 0) std::printf(" (%.1f GFLOP/s of GEMMs)", s.trainGflops);
  std::printf("\nevaluation seconds (median of %zu): %.3f wall, %.3f CPU; %.0f users/s", o.evalSeconds.size(),
              s.evalMedian, s.evalCpu, s.usersPerSecond);
  if (evalGflop > 0) std::printf(" (%.1f GFLOP/s)", perSecond(evalGflop, s.evalMedian));
  s.totalSeconds = total.seconds();
  std::printf("\ntotal seconds: %.1f, peak RSS: %.1f MiB\n", s.totalSeconds,
              static_cast<double>(peakRssBytes()) / (1024.0 * 1024.0));
  return s;
}

/// The speed entries of the --report JSON.
inline void addSpeed(nlohmann::json& j, const Speed& s) {
  const auto perSecond = [](double count, double seconds) { return seconds > 0 ? count / seconds : 0.0; };
  j["seconds_per_epoch"] = s.epochMedian;
  j["cpu_seconds_per_epoch"] = s.epochCpu;
  j["evaluation_seconds"] = s.evalMedian;
  j["evaluation_cpu_seconds"] = s.evalCpu;
  j["train_samples_per_second"] = s.samplesPerSecond;
  j["eval_users_per_second"] = s.usersPerSecond;
  j["total_seconds"] = s.totalSeconds;
  j["total_cpu_seconds"] = cpuSeconds();
  if (s.trainGflop > 0) {
    j["train_gflop_per_epoch"] = s.trainGflop;
    j["eval_gflop"] = s.evalGflop;
    j["train_gflops"] = s.trainGflops;
    j["eval_gflops"] = perSecond(s.evalGflop, s.evalMedian);
  }
  j["peak_rss_bytes"] = peakRssBytes();
}

}  // namespace recdiff::examples

#endif  // RECDIFF_EXAMPLES_COMMON_DIFFREC_RUN_HPP
