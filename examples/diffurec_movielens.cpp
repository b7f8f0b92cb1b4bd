// DiffuRec (Li, Sun, Li, TOIS 2023) on MovieLens: train on every prefix of each user's training sequence, select
// the epoch on validation NDCG@10, and report HR@5/10/20 and NDCG@5/10/20 on test under our default protocol
// (history masked, padding excluded, per-user mean) and under the reference code's protocol (nothing masked,
// padding ranked, mean of per-batch means), beside the most-popular baseline under the same protocols.
//
//   diffurec_movielens --preset cpu --data ../shared/data/diffurec/ml-1m --seed 1 --threads 2 --report out.json
//   diffurec_movielens --preset reference --data ../shared/data/diffurec/ml-1m --epochs 2 --max-batches-per-epoch 200
//   diffurec_movielens --preset cpu --data data/ml-1m            (a raw MovieLens folder, chronological)
//
// --data is a folder with DiffuRec's export (sequences.txt) or a raw MovieLens release (u.data, ratings.dat,
// ratings.csv), loaded through the library's loaders in time order (examples/common/sequence_data.hpp).
// Presets: `reference` = the authors' defaults (H 128, 4 blocks, batch 512, lr 1e-3, StepLR 100/0.1, dropout 0.1,
// embedding dropout 0.3, T 32 trunc_lin, λ 0.001, max_len 50, every prefix every epoch); `cpu` = see applyPreset().
// --attention-mask keys (default, padded keys hidden) | query-rows (the reference code's mask); the report states
// which one produced the numbers.
#include <recdiff/models/diffurec.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>
#if defined(_OPENMP)
#include <omp.h>
#endif
#include <unistd.h>

#include "common/cli.hpp"
#include "common/run_info.hpp"
#include "common/sequence_data.hpp"

namespace fs = std::filesystem;
using recdiff::Index;
using recdiff::examples::Stopwatch;

namespace {

struct Config {
  std::string preset = "cpu";
  std::string data;
  std::optional<double> minRating;
  recdiff::DiffuRecOptions model;
  int epochs = 0;
  int evalEvery = 1;
  int patience = 5;            ///< evaluations without a better validation NDCG@10
  Index maxBatchesPerEpoch = 0;
  Index validUsers = 0;        ///< 0: every validation user (model selection)
  Index finalUsers = 0;        ///< 0: every user in the final validation and test tables
  recdiff::NextItemProtocol protocol;  ///< the main protocol (validation, test.* keys)
  std::vector<Index> ks = {5, 10, 20};
  std::uint64_t seed = 1;
  int threads = 0;
  std::string save, load, log, report;
  bool baselines = true;
  bool progress = true;
  std::string precision = "float";           ///< GEMM arithmetic of training: float | bf16 (docs/bf16.md)
  std::string inferencePrecision;            ///< of inference; empty: as precision
};

/// `reference`: the authors' defaults (DiffuRecOptions{}); 500 epochs, evaluation every 20 (their main.py).
/// `cpu`: converges on ML-1M in under 30 minutes on 2 cores (see docs/diffurec.md for the measurements):
/// H 64 and 2 blocks instead of 128 and 4 (≈ 6× fewer FLOPs per sample), E initialised N(0, 1/H) instead of
/// N(0, 1) (with N(0, 1) the first ~1,000 Adam steps only shrink the logits from std √H·1 to order 1; the loss
/// sits above ln(items) for a whole short epoch), a fresh random quarter of the 982,089 prefix samples per epoch,
/// batch 256 (more updates per second), 5 epochs with validation on the first 1,000 users after each, and StepLR
/// 4/0.3 (the last epoch at 3e-4). Histories (last 50 items), dropout, λ, T and the schedule are the reference's.
void applyPreset(Config& c) {
  recdiff::DiffuRecOptions& m = c.model;
  m = recdiff::DiffuRecOptions{};
  if (c.preset == "reference") {
    c.epochs = 500;
    c.evalEvery = 20;
    c.patience = 5;
    return;
  }
  if (c.preset == "cpu") {
    m.hidden = 64;
    m.blocks = 2;
    m.itemInitStd = 0.125;  // 1/√H
    m.batchSize = 256;
    m.samplesPerEpoch = 250000;
    m.decayStep = 4;
    m.gamma = 0.3;
    c.epochs = 5;
    c.evalEvery = 1;
    c.patience = 2;
    c.validUsers = 1000;
    return;
  }
  throw CLI::ValidationError("--preset", "unknown preset '" + c.preset + "' (reference, cpu)");
}

using recdiff::examples::parseList;
using recdiff::examples::cpuSeconds;

/// A one-line progress bar over the batches of an epoch (stderr, only on a terminal).
class BatchProgress {
 public:
  explicit BatchProgress(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}
  void show(int epoch, Index done, Index total, double seconds) const {
    if (!enabled_ || total <= 0) return;
    const int width = 30;
    const auto filled = static_cast<int>(width * done / total);
    std::fprintf(stderr, "\repoch %d [%s%s] %ld/%ld batches, %.0f s   ", epoch, std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), '.').c_str(), static_cast<long>(done),
                 static_cast<long>(total), seconds);
    std::fflush(stderr);
  }
  void clear() const {
    if (enabled_) std::fprintf(stderr, "\r%80s\r", "");
  }

 private:
  bool enabled_;
};

/// Scores held-out samples with one reverse run per user, whatever the number of protocols evaluated: the
/// representations of each batch are computed on the first pass and reused afterwards (scores = x̂0·Eᵀ).
class CachedScorer {
 public:
  CachedScorer(recdiff::DiffuRec<float>& model, std::uint64_t seed) : model_(model), rng_(seed, 0x5C0E) {}

  /// Starts a pass over the samples (call before each evaluateNextItem).
  void rewind() { row_ = 0; }
  double inferenceSeconds() const { return seconds_; }
  double inferenceCpuSeconds() const { return cpuSeconds_; }
  Index inferredUsers() const { return x0_.rows(); }

  void operator()(const recdiff::data::HistoryBatch& b, recdiff::RowMatrix<float>& scores) {
    const Index n = b.targets.size();
    if (row_ + n > x0_.rows()) {
      Stopwatch sw;
      const double cpu = cpuSeconds();
      recdiff::Rng batchRng = rng_.fork(static_cast<std::uint64_t>(row_));
      model_.representations(b.history, batch_, batchRng);
      x0_.conservativeResize(row_ + n, batch_.cols());
      x0_.middleRows(row_, n) = batch_;
      seconds_ += sw.seconds();
      cpuSeconds_ += cpuSeconds() - cpu;
    }
    scores.resize(n, model_.columns());
    scores.noalias() = x0_.middleRows(row_, n) * model_.approximator().itemEmbedding().weight().transpose();
    row_ += n;
  }

 private:
  recdiff::DiffuRec<float>& model_;
  recdiff::Rng rng_;
  recdiff::RowMatrix<float> x0_, batch_;
  Index row_ = 0;
  double seconds_ = 0.0, cpuSeconds_ = 0.0;
};

/// The first `count` samples of a set (all when count is 0 or larger).
recdiff::data::SequenceSamples firstSamples(const recdiff::data::SequenceSamples& s, Index count) {
  if (count <= 0 || count >= s.size()) return s;
  recdiff::data::SequenceSamples out;
  out.user.assign(s.user.begin(), s.user.begin() + count);
  out.end.assign(s.end.begin(), s.end.begin() + count);
  return out;
}

int run(const Config& c) {
  Stopwatch total;
  const auto d = recdiff::examples::loadSequenceData(c.data, c.minRating);
  std::cout << "data: " << d.description << ": " << d.full.users() << " users, " << d.items << " items, "
            << d.full.totalLength() << " interactions, " << d.train.size() << " training samples, "
            << d.split.valid.size() << " validation and " << d.split.test.size() << " test users\n";
  recdiff::DiffuRec<float> model(c.model, d.items, c.seed);
  if (!c.load.empty()) {
    model.load(c.load);
    std::cout << "loaded parameters from " << c.load << "\n";
  }
  const recdiff::DiffuRecOptions& o = c.model;
  const bool keys = o.attentionMask == recdiff::nn::PaddingMask::kKeys;
  std::cout << "model: DiffuRec, H " << o.hidden << ", " << o.blocks << " blocks, " << o.heads << " heads, max_len "
            << o.maxLength << ", " << model.parameterCount() << " parameters, " << o.steps << " steps " << o.schedule
            << ", lambda " << o.lambda << ", attention mask " << (keys ? "keys" : "query-rows (reference)")
            << ", timesteps " << (o.lossAwareTimesteps ? "loss-aware" : "uniform") << ", batch " << o.batchSize
            << ", lr " << o.learningRate << ", StepLR " << o.decayStep << "/" << o.gamma << ", preset " << c.preset
            << ", threads " << c.threads << ", seed " << c.seed << ", precision " << c.precision << " (inference "
            << c.inferencePrecision << ")\n";

  std::ofstream log;
  if (!c.log.empty()) {
    if (fs::path(c.log).has_parent_path()) fs::create_directories(fs::path(c.log).parent_path());
    log.open(c.log);
    if (!log) throw std::runtime_error("cannot write --log " + c.log);
    log << "epoch,loss,last_loss,samples,seconds,cpu_seconds,samples_per_second,valid_hr@10,valid_ndcg@10,eval_seconds\n";
  }
  const recdiff::data::SequenceSamples validSamples = firstSamples(d.split.valid, c.validUsers);
  const recdiff::data::PaddingOptions padding{.maxLen = o.maxLength, .side = recdiff::data::Padding::Left, .padId = 0};
  const std::vector<Index> selectKs{10};
  recdiff::Rng rng(c.seed, 0xD1F0);
  const BatchProgress bar(c.progress);
  std::vector<double> epochSeconds, epochCpu, epochRate, evalRate;
  recdiff::ColVector<float> best = model.approximator().parameters().values();
  double bestNdcg = -1.0;
  int bestEpoch = 0, evaluationsSinceBest = 0, epoch = 0;
  std::string stopReason = "epoch budget reached";
  bool diverged = false;
  for (epoch = 1; epoch <= c.epochs; ++epoch) {
    recdiff::Rng epochRng = rng.fork(static_cast<std::uint64_t>(epoch));
    Stopwatch sw;
    const double cpu = cpuSeconds();
    const recdiff::DiffuRecEpoch r = model.trainEpoch(d.split.train, d.train, epochRng, c.maxBatchesPerEpoch,
                                                      [&](Index done, Index batches, double) {
                                                        if (done % 16 == 0 || done == batches) bar.show(epoch, done, batches, sw.seconds());
                                                      });
    epochSeconds.push_back(sw.seconds());
    epochCpu.push_back(cpuSeconds() - cpu);
    epochRate.push_back(static_cast<double>(r.samples) / epochSeconds.back());
    bar.clear();
    if (!r.finite) {
      stopReason = "diverged: non-finite loss or gradient in epoch " + std::to_string(epoch);
      diverged = true;
      break;
    }
    std::ostringstream row;
    row << epoch << ',' << r.meanLoss << ',' << r.lastLoss << ',' << r.samples << ',' << epochSeconds.back() << ','
        << epochCpu.back() << ',' << epochRate.back();
    std::printf("epoch %d: loss %.4f, %ld samples in %.1f s (%.1f s CPU), %.0f samples/s", epoch, r.meanLoss,
                static_cast<long>(r.samples), epochSeconds.back(), epochCpu.back(), epochRate.back());
    if (epoch % c.evalEvery == 0 || epoch == c.epochs) {
      CachedScorer scorer(model, c.seed + 1000u * static_cast<std::uint64_t>(epoch));
      const auto m = recdiff::evaluateNextItem(d.full, validSamples, selectKs, c.protocol, padding, d.columns(), scorer);
      evalRate.push_back(static_cast<double>(scorer.inferredUsers()) / scorer.inferenceSeconds());
      row << ',' << m.hitRate[0] << ',' << m.ndcg[0] << ',' << scorer.inferenceSeconds();
      std::printf(", valid HR@10 %.4f NDCG@10 %.4f (%.0f users/s)", m.hitRate[0], m.ndcg[0], evalRate.back());
      if (m.ndcg[0] > bestNdcg) {
        bestNdcg = m.ndcg[0];
        bestEpoch = epoch;
        evaluationsSinceBest = 0;
        best = model.approximator().parameters().values();
        if (!c.save.empty()) model.save(c.save);
      } else if (++evaluationsSinceBest >= c.patience) {
        stopReason = "early stop: no better validation NDCG@10 for " + std::to_string(c.patience) + " evaluations";
      }
    } else {
      row << ",,,";
    }
    std::printf("\n");
    std::fflush(stdout);
    if (log) log << row.str() << '\n' << std::flush;
    if (evaluationsSinceBest >= c.patience) break;
  }
  const int epochsRun = std::min(epoch, c.epochs);
  if (bestEpoch > 0) model.approximator().parameters().values() = best;
  std::cout << stopReason << "; best epoch " << bestEpoch << " (validation NDCG@10 " << bestNdcg << ")\n";

  // Final evaluation: one reverse run per user serves both protocols.
  recdiff::metrics::MetricTable table;
  const auto reference = recdiff::NextItemProtocol::reference(o.batchSize);
  CachedScorer validScorer(model, c.seed + 77), testScorer(model, c.seed + 78);
  const recdiff::data::SequenceSamples finalValid = firstSamples(d.split.valid, c.finalUsers);
  const recdiff::data::SequenceSamples finalTest = firstSamples(d.split.test, c.finalUsers);
  table.add("valid", recdiff::evaluateNextItem(d.full, finalValid, c.ks, c.protocol, padding, d.columns(), validScorer));
  table.add("test", recdiff::evaluateNextItem(d.full, finalTest, c.ks, c.protocol, padding, d.columns(), testScorer));
  testScorer.rewind();
  table.add("reference.test", recdiff::evaluateNextItem(d.full, finalTest, c.ks, reference, padding, d.columns(), testScorer));
  if (c.baselines) {
    table.add("popularity.valid", recdiff::examples::popularityMetrics(d, finalValid, c.ks, c.protocol, padding));
    table.add("popularity.test", recdiff::examples::popularityMetrics(d, finalTest, c.ks, c.protocol, padding));
    table.add("popularity.reference.test", recdiff::examples::popularityMetrics(d, finalTest, c.ks, reference, padding));
  }
  std::cout << "\n";
  table.print(std::cout);
  std::cout << "(test/valid: " << (c.protocol.maskHistory ? "history masked" : "history not masked") << ", padding "
            << (c.protocol.rankPadding ? "ranked" : "excluded") << "; reference.test: DiffuRec's own evaluation code; "
            << "attention mask " << (keys ? "keys" : "query-rows") << ")\n";

  const double testRate = static_cast<double>(testScorer.inferredUsers()) / testScorer.inferenceSeconds();
  const double epochMedian = recdiff::examples::median(epochSeconds);
  const double cpuMedian = recdiff::examples::median(epochCpu);
  const double trainRate = recdiff::examples::median(epochRate);
  const recdiff::DiffuRecFlops flops = recdiff::diffuRecFlops(o, d.items);
  const double trainGflops = trainRate * flops.trainPerSample * 1e-9;
  const double evalGflops = testRate * flops.inferencePerUser * 1e-9;
  std::printf("\ntraining: %.0f samples/s (median epoch %.1f s wall, %.1f s CPU; %.1f GFLOP/s)\n", trainRate, epochMedian,
              cpuMedian, trainGflops);
  std::printf("inference: %.1f users/s (%d reverse steps x %ld runs + scoring; %.1f GFLOP/s; test pass %.1f s wall, %.1f s CPU)\n",
              testRate, static_cast<int>(o.steps), static_cast<long>(o.inferenceRuns), evalGflops,
              testScorer.inferenceSeconds(), testScorer.inferenceCpuSeconds());
  std::printf("total seconds: %.1f (%.1f CPU), peak RSS: %.1f MiB\n", total.seconds(), cpuSeconds(),
              static_cast<double>(recdiff::examples::peakRssBytes()) / (1024.0 * 1024.0));
  if (c.report.empty()) return diverged ? 3 : 0;

  nlohmann::json j;
  j["dataset"] = d.description;
  j["data"] = c.data;
  j["model"] = "diffurec";
  j["preset"] = c.preset;
  j["seed"] = c.seed;
  j["threads"] = c.threads;
  j["precision"] = c.precision;
  j["inference_precision"] = c.inferencePrecision;
  j["training_tile"] = model.options().trainingTile;
  j["inference_tile"] = model.options().inferenceTile;
  nlohmann::json hp;
  for (const auto& [k, v] : model.hyperparameters()) hp[k] = v;
  hp["epochs"] = c.epochs;
  hp["eval_every"] = c.evalEvery;
  hp["patience"] = c.patience;
  hp["max_batches_per_epoch"] = c.maxBatchesPerEpoch;
  hp["valid_users"] = validSamples.size();
  hp["final_users"] = finalTest.size();
  j["hyperparameters"] = hp;
  j["protocol"] = {{"mask_history", c.protocol.maskHistory},
                   {"rank_padding", c.protocol.rankPadding},
                   {"batch_means", c.protocol.average == recdiff::metrics::RowAverage::BatchMeans},
                   {"attention_mask", keys ? "keys" : "query_rows"}};
  j["users"] = d.full.users();
  j["items"] = d.items;
  j["training_samples"] = d.train.size();
  j["parameters"] = model.parameterCount();
  j["best_epoch"] = bestEpoch;
  j["epochs_run"] = epochsRun;
  j["stop_reason"] = stopReason;
  j["diverged"] = diverged;
  nlohmann::json metrics;
  for (const auto& [k, v] : table.entries()) metrics[k] = v;
  j["metrics"] = metrics;
  for (const auto& [k, v] : table.entries()) j[k] = v;
  j["seconds_per_epoch"] = epochMedian;
  j["cpu_seconds_per_epoch"] = cpuMedian;
  j["epoch_seconds"] = epochSeconds;
  j["train_samples_per_second"] = trainRate;
  j["eval_users_per_second"] = testRate;
  j["train_gflops"] = trainGflops;
  j["eval_gflops"] = evalGflops;
  j["train_gflop_per_sample"] = flops.trainPerSample * 1e-9;
  j["eval_gflop_per_user"] = flops.inferencePerUser * 1e-9;
  j["total_seconds"] = total.seconds();
  j["total_cpu_seconds"] = cpuSeconds();
  j["peak_rss_bytes"] = recdiff::examples::peakRssBytes();
  recdiff::examples::writeJsonAtomically(c.report, j);
  std::cout << "report written to " << c.report << "\n";
  return diverged ? 3 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{"Train and evaluate DiffuRec (Li, Sun, Li, TOIS 2023) on MovieLens sequences"};
  std::optional<Index> hidden, blocks, heads, maxLen, steps, batch, decayStep, samplesPerEpoch, runs;
  std::optional<double> dropout, embDropout, lambda, lr, wd, gamma, itemInitStd;
  std::optional<int> epochs, evalEvery, patience;
  std::optional<Index> validUsers, trainingTile, inferenceTile;
  std::string schedule, mask = "keys", ks;
  bool positions = false, lossAware = false, noMaskHistory = false, rankPadding = false, batchMeans = false;
  bool noBaselines = false, noProgress = false;
  app.add_option("--preset", c.preset, "reference (the authors' defaults) | cpu (converges in minutes on 2 cores)")
      ->capture_default_str();
  app.add_option("--data", c.data, "folder: DiffuRec's export (sequences.txt) or a raw MovieLens release")->required();
  app.add_option("--min-rating", c.minRating, "raw MovieLens: keep ratings >= this (default: every rating)");
  app.add_option("--hidden", hidden, "hidden size H");
  app.add_option("--blocks", blocks, "transformer blocks");
  app.add_option("--heads", heads, "attention heads");
  app.add_option("--max-len", maxLen, "history positions (the most recent items, left padding)");
  app.add_option("--dropout", dropout, "dropout in and after the blocks");
  app.add_option("--emb-dropout", embDropout, "dropout on the history's item embeddings");
  app.add_option("--lambda", lambda, "lambda_uncertainty: Λ ~ N(λ, λ²)");
  app.add_flag("--positions", positions, "add learned position embeddings (the reference does not)");
  app.add_option("--item-init-std", itemInitStd, "initial item embeddings ~ N(0, std^2) (reference: 1)");
  app.add_option("--attention-mask", mask, "keys (padded keys hidden) | query-rows (the reference code's mask)")
      ->capture_default_str();
  app.add_option("--schedule", schedule, "noise schedule (trunc_lin, linear, cosine, sqrt, ...)");
  app.add_option("--steps", steps, "diffusion steps T");
  app.add_flag("--loss-aware", lossAware, "loss-aware timestep sampling, updated and importance-weighted");
  app.add_option("--lr", lr, "Adam learning rate");
  app.add_option("--weight-decay", wd, "Adam L2 weight decay");
  app.add_option("--batch-size", batch, "training samples per batch");
  app.add_option("--decay-step", decayStep, "StepLR step in epochs");
  app.add_option("--gamma", gamma, "StepLR factor");
  app.add_option("--samples-per-epoch", samplesPerEpoch, "random training samples per epoch (0: all)");
  app.add_option("--precision", c.precision, "GEMM arithmetic of training: float | bf16 (docs/bf16.md)")
      ->capture_default_str();
  app.add_option("--inference-precision", c.inferencePrecision, "GEMM arithmetic of inference: float | bf16 (default: --precision)");
  app.add_option("--inference-runs", runs, "reverse runs averaged per user at inference");
  app.add_option("--training-tile", trainingTile, "rows per data-parallel training tile (0: none; default 64)");
  app.add_option("--inference-tile", inferenceTile, "histories per data-parallel inference tile (0: none; default 32)");
  app.add_option("--epochs", epochs, "epochs");
  app.add_option("--max-batches-per-epoch", c.maxBatchesPerEpoch, "stop each epoch after this many batches (0: no limit)");
  app.add_option("--eval-every", evalEvery, "validate every N epochs (and after the last)");
  app.add_option("--patience", patience, "stop after N validations without a better NDCG@10");
  app.add_option("--valid-users", validUsers, "validate on the first N users only (0: all)");
  app.add_option("--final-users", c.finalUsers, "final tables on the first N users only (0: all; a quick look)");
  app.add_flag("--no-mask-history", noMaskHistory, "protocol: rank the user's earlier items too (reference)");
  app.add_flag("--rank-padding", rankPadding, "protocol: rank the padding item 0 (reference)");
  app.add_flag("--batch-means", batchMeans, "protocol: mean of per-batch means (reference)");
  app.add_option("--topk", ks, "cut-offs, e.g. 5,10,20");
  app.add_option("--seed", c.seed, "seed of every random number")->capture_default_str();
  app.add_option("--threads", c.threads, "OpenMP threads (0: all cores)")->capture_default_str();
  app.add_option("--save", c.save, "write the best model's checkpoint here (atomically)");
  app.add_option("--load", c.load, "start from this checkpoint's parameters (with --epochs 0: evaluate only)");
  app.add_option("--log", c.log, "per-epoch CSV log");
  app.add_option("--report", c.report, "JSON report (metrics keyed like test.ndcg@10, speed, peak memory)");
  app.add_flag("--no-baselines", noBaselines, "skip the most-popular rows");
  app.add_flag("--no-progress", noProgress, "no progress bar");
  try {
    app.parse(argc, argv);
    applyPreset(c);
    recdiff::DiffuRecOptions& m = c.model;
    if (hidden) m.hidden = *hidden;
    if (blocks) m.blocks = *blocks;
    if (heads) m.heads = *heads;
    if (maxLen) m.maxLength = *maxLen;
    if (dropout) m.dropout = *dropout;
    if (embDropout) m.embeddingDropout = *embDropout;
    if (lambda) m.lambda = *lambda;
    m.learnedPositions = positions;
    if (itemInitStd) m.itemInitStd = *itemInitStd;
    if (mask != "keys" && mask != "query-rows") throw CLI::ValidationError("--attention-mask", "keys or query-rows, got " + mask);
    m.attentionMask = mask == "keys" ? recdiff::nn::PaddingMask::kKeys : recdiff::nn::PaddingMask::kQueryRows;
    if (!schedule.empty()) m.schedule = schedule;
    if (steps) m.steps = *steps;
    m.lossAwareTimesteps = lossAware;
    if (lr) m.learningRate = *lr;
    if (wd) m.weightDecay = *wd;
    if (batch) m.batchSize = *batch;
    if (decayStep) m.decayStep = *decayStep;
    if (gamma) m.gamma = *gamma;
    if (samplesPerEpoch) m.samplesPerEpoch = *samplesPerEpoch;
    if (runs) m.inferenceRuns = *runs;
    if (trainingTile) m.trainingTile = *trainingTile;
    if (inferenceTile) m.inferenceTile = *inferenceTile;
    if (c.inferencePrecision.empty()) c.inferencePrecision = c.precision;
    const std::pair<const char*, const std::string*> precisionFlags[] = {{"--precision", &c.precision},
                                                                          {"--inference-precision", &c.inferencePrecision}};
    for (const auto& [flag, value] : precisionFlags) {
      if (*value != "float" && *value != "bf16") throw CLI::ValidationError(flag, "float or bf16, got " + *value);
      if (*value == "bf16" && !recdiff::nn::bf16GemmAvailable())
        throw CLI::ValidationError(flag, "bf16 is unavailable: " + recdiff::nn::bf16GemmUnavailableReason());
    }
    const auto precisionOf = [](const std::string& v) {
      return v == "bf16" ? recdiff::nn::GemmPrecision::kBf16 : recdiff::nn::GemmPrecision::kFloat;
    };
    m.trainingPrecision = precisionOf(c.precision);
    m.inferencePrecision = precisionOf(c.inferencePrecision);
    if (epochs) c.epochs = *epochs;
    if (evalEvery) c.evalEvery = *evalEvery;
    if (patience) c.patience = *patience;
    if (validUsers) c.validUsers = *validUsers;
    if (!ks.empty()) c.ks = parseList<Index>(ks, "--topk");
    c.protocol.maskHistory = !noMaskHistory;
    c.protocol.rankPadding = rankPadding;
    if (batchMeans) c.protocol.average = recdiff::metrics::RowAverage::BatchMeans;
    c.protocol.batchSize = m.batchSize;
    c.baselines = !noBaselines;
    c.progress = !noProgress;
    if (c.epochs < 0) throw CLI::ValidationError("--epochs", "must be >= 0");
    if (c.evalEvery <= 0) throw CLI::ValidationError("--eval-every", "must be positive");
    if (c.patience <= 0) throw CLI::ValidationError("--patience", "must be positive");
    if (c.maxBatchesPerEpoch < 0) throw CLI::ValidationError("--max-batches-per-epoch", "must be >= 0");
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (c.threads < 0) {
    std::cerr << "diffurec_movielens: --threads must be >= 0\n";
    return 2;
  }
#if defined(_OPENMP)
  if (c.threads > 0) omp_set_num_threads(c.threads);
  c.threads = omp_get_max_threads();
#else
  c.threads = 1;
#endif
  try {
    return run(c);
  } catch (const std::exception& e) {
    std::cerr << "diffurec_movielens: " << e.what() << "\n";
    return 1;
  }
}
