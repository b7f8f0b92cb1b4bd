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
// which one produced the numbers. The model flags come from DiffuRecOptions' field table (models/diffurec_options.hpp).
//
// The epoch loop is the library's: model.fit() with train/callbacks.hpp's EarlyStopping (patience counts
// evaluations, as DiffuRec's reference), KeepBest, CsvLog, ProgressBar and ProgressLog (examples/common/training.hpp).
//
// Data parallel: under `mpirun -np N` every rank trains its block of whole training tiles of each batch
// (train::tileShard) and scores its block of the evaluation batches; rank 0 alone prints and writes
// files; the report gains world_size and per-rank throughput and communication (docs/distributed.md).
#include <recdiff/distributed/data_parallel.hpp>
#include <recdiff/models/diffurec.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/distributed.hpp"
#include "common/options_cli.hpp"
#include "common/run_info.hpp"
#include "common/sequence_data.hpp"
#include "common/training.hpp"

using recdiff::Index;
namespace ex = recdiff::examples;

namespace {

/// Epoch e trains with Rng(seed, kStream).fork(e); validation after epoch e scores with CachedScorer(seed + 1000 e).
constexpr std::uint64_t kStream = 0xD1F0;

struct Config {
  std::string preset = "cpu";
  std::string data;
  std::optional<double> minRating;
  recdiff::DiffuRecOptions model;
  ex::LoopFlags loop;
  Index validUsers = 0;        ///< 0: every validation user (model selection)
  Index finalUsers = 0;        ///< 0: every user in the final validation and test tables
  recdiff::NextItemProtocol protocol;  ///< the main protocol (validation, test.* keys)
  std::vector<Index> ks = {5, 10, 20};
  std::uint64_t seed = 1;
  int threads = 0;
  std::string save, load, report;
  bool baselines = true;
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
    c.loop.epochs = 500;
    c.loop.evalEvery = 20;
    c.loop.patience = 5;
  } else if (c.preset == "cpu") {
    m.hidden = 64;
    m.blocks = 2;
    m.itemInitStd = 0.125;  // 1/√H
    m.batchSize = 256;
    m.samplesPerEpoch = 250000;
    m.decayStep = 4;
    m.gamma = 0.3;
    c.loop.epochs = 5;
    c.loop.evalEvery = 1;
    c.loop.patience = 2;
    c.validUsers = 1000;
  } else {
    throw CLI::ValidationError("--preset", "unknown preset '" + c.preset + "' (reference, cpu)");
  }
}

std::string text(recdiff::nn::GemmPrecision p) { return recdiff::io::FieldCodec<recdiff::nn::GemmPrecision>::toText(p); }

int run(const Config& c, ex::World& world) {
  const ex::Stopwatch total;
  const auto d = ex::loadSequenceData(c.data, c.minRating);
  std::cout << "data: " << d.description << ": " << d.full.users() << " users, " << d.items << " items, "
            << d.full.totalLength() << " interactions, " << d.train.size() << " training samples, "
            << d.split.valid.size() << " validation and " << d.split.test.size() << " test users\n";
  recdiff::DiffuRec<float> model(c.model, d.items, c.seed);
  if (!c.load.empty()) {
    model.load(c.load);
    std::cout << "loaded parameters from " << c.load << "\n";
  }
  recdiff::distributed::makeDataParallel(model, world.comm());  // one process: nothing changes
  const recdiff::DiffuRecOptions& o = c.model;
  const bool keys = o.attentionMask == recdiff::nn::PaddingMask::kKeys;
  std::cout << "model: DiffuRec, H " << o.hidden << ", " << o.blocks << " blocks, " << o.heads << " heads, max_len "
            << o.maxLength << ", " << model.parameterCount() << " parameters, " << o.steps << " steps " << o.schedule.name
            << ", lambda " << o.lambda << ", attention mask " << (keys ? "keys" : "query-rows (reference)")
            << ", timesteps " << (o.lossAwareTimesteps ? "loss-aware" : "uniform") << ", batch " << o.batchSize
            << ", lr " << o.learningRate << ", StepLR " << o.decayStep << "/" << o.gamma << ", preset " << c.preset
            << ", threads " << c.threads << ", seed " << c.seed << ", precision " << text(o.trainingPrecision)
            << " (inference " << text(o.inferencePrecision) << ")\n";

  const recdiff::data::SequenceSamples validSamples = ex::firstSamples(d.split.valid, c.validUsers);
  const recdiff::data::PaddingOptions padding{.maxLen = o.maxLength, .side = recdiff::data::Padding::Left, .padId = 0};
  const std::vector<Index> selectKs{10};
  const auto validation = [&](Index epoch) {  // "valid.hr@10", "valid.ndcg@10" on the first validUsers users
    ex::CachedScorer<recdiff::DiffuRec<float>> scorer(model, c.seed + 1000u * static_cast<std::uint64_t>(epoch));
    recdiff::metrics::MetricTable t;
    t.add("valid", world.nextItem(d.full, validSamples, selectKs, c.protocol, padding, d.columns(), scorer));
    return t;
  };
  ex::Callbacks cb(c.loop, validation, "valid.ndcg@10", recdiff::train::PatienceUnit::kEvaluations,
                   {&model.approximator().parameters()}, {"valid.hr@10", "valid.ndcg@10"},
                   [&](Index, const recdiff::metrics::MetricTable&) {
                     if (!c.save.empty()) model.save(c.save);
                   }, /*everyEpoch=*/true);
  std::map<std::string, std::string> h = model.hyperparameters();
  const recdiff::NextItemProtocol& p = c.protocol;
  h["protocol"] = std::to_string(p.maskHistory) + ',' + std::to_string(p.rankPadding) + ',' +
                  std::to_string(static_cast<int>(p.average)) + ',' + std::to_string(p.batchSize);
  h["valid_users"] = std::to_string(c.validUsers);
  ex::resumable(cb, c.loop, "diffurec", ex::sequenceFingerprint(d), std::move(h), c.seed, model);
  const recdiff::TrainResult r = model.fit(d.split.train, d.train, c.loop.fitOptions(c.seed, kStream), cb.early, cb.keep,
                                           cb.log, cb.bar, cb.lines, cb.state);
  std::cout << r.stopReason << "; best epoch " << cb.early.bestEpoch() << " (validation NDCG@10 "
            << cb.early.best().value_or(-1.0) << ")\n";

  // Final evaluation: one reverse run per user serves both protocols.
  recdiff::metrics::MetricTable table;
  const auto reference = recdiff::NextItemProtocol::reference(o.batchSize);
  ex::CachedScorer<recdiff::DiffuRec<float>> validScorer(model, c.seed + 77), testScorer(model, c.seed + 78);
  const recdiff::data::SequenceSamples finalValid = ex::firstSamples(d.split.valid, c.finalUsers);
  const recdiff::data::SequenceSamples finalTest = ex::firstSamples(d.split.test, c.finalUsers);
  table.add("valid", world.nextItem(d.full, finalValid, c.ks, c.protocol, padding, d.columns(), validScorer));
  table.add("test", world.nextItem(d.full, finalTest, c.ks, c.protocol, padding, d.columns(), testScorer));
  testScorer.rewind();
  table.add("reference.test", world.nextItem(d.full, finalTest, c.ks, reference, padding, d.columns(), testScorer));
  if (c.baselines && world.isRoot()) {
    table.add("popularity.valid", ex::popularityMetrics(d, finalValid, c.ks, c.protocol, padding));
    table.add("popularity.test", ex::popularityMetrics(d, finalTest, c.ks, c.protocol, padding));
    table.add("popularity.reference.test", ex::popularityMetrics(d, finalTest, c.ks, reference, padding));
  }
  std::cout << "\n";
  table.print(std::cout);
  std::cout << "(test/valid: " << (c.protocol.maskHistory ? "history masked" : "history not masked") << ", padding "
            << (c.protocol.rankPadding ? "ranked" : "excluded") << "; reference.test: DiffuRec's own evaluation code; "
            << "attention mask " << (keys ? "keys" : "query-rows") << ")\n";

  const double testRate = static_cast<double>(testScorer.inferredUsers()) / testScorer.inferenceSeconds();
  const ex::RunTimes times(r, cb.early);
  const double epochMedian = ex::median(times.epochSeconds), cpuMedian = ex::median(times.epochCpuSeconds);
  const double trainRate = ex::median(times.epochSamplesPerSecond);
  const recdiff::DiffuRecFlops flops = recdiff::diffuRecFlops(o, d.items);
  const double trainGflops = trainRate * flops.trainPerSample * 1e-9, evalGflops = testRate * flops.inferencePerUser * 1e-9;
  std::printf("\ntraining: %.0f samples/s (median epoch %.1f s wall, %.1f s CPU; %.1f GFLOP/s)\n", trainRate, epochMedian,
              cpuMedian, trainGflops);
  std::printf("inference: %.1f users/s (%d reverse steps x %ld runs + scoring; %.1f GFLOP/s; test pass %.1f s wall, %.1f s CPU)\n",
              testRate, static_cast<int>(o.steps), static_cast<long>(o.inferenceRuns), evalGflops,
              testScorer.inferenceSeconds(), testScorer.inferenceCpuSeconds());
  std::printf("total seconds: %.1f (%.1f CPU), peak RSS: %.1f MiB\n", total.seconds(), ex::cpuSeconds(),
              static_cast<double>(ex::peakRssBytes()) / (1024.0 * 1024.0));
  nlohmann::json j;  // world_size and the ranks' rows, seconds and communication (a collective)
  world.addRunToReport(j, r, o.batchSize, [&](Index n) { return recdiff::train::tileShard(n, o.trainingTile, world.comm().rank(), world.size()).rows(); });
  if (c.report.empty()) return r.diverged ? 3 : 0;

  j.update({{"dataset", d.description}, {"data", c.data}, {"model", "diffurec"}, {"preset", c.preset},
                   {"seed", c.seed}, {"threads", c.threads}, {"precision", text(o.trainingPrecision)},
                   {"inference_precision", text(o.inferencePrecision)}, {"training_tile", o.trainingTile},
                   {"inference_tile", o.inferenceTile}});
  nlohmann::json hp;
  for (const auto& [k, v] : model.hyperparameters()) hp[k] = v;
  hp.update(c.loop.json());
  hp.update({{"valid_users", validSamples.size()},
             {"final_users", finalTest.size()}});
  j["hyperparameters"] = hp;
  j["protocol"] = {{"mask_history", c.protocol.maskHistory},
                   {"rank_padding", c.protocol.rankPadding},
                   {"batch_means", c.protocol.average == recdiff::metrics::RowAverage::BatchMeans},
                   {"attention_mask", keys ? "keys" : "query_rows"}};
  j.update({{"users", d.full.users()}, {"items", d.items}, {"training_samples", d.train.size()},
            {"parameters", model.parameterCount()}});
  ex::addRunResult(j, r, cb.early, table);
  j.update({{"seconds_per_epoch", epochMedian}, {"cpu_seconds_per_epoch", cpuMedian}, {"epoch_seconds", times.epochSeconds},
            {"train_samples_per_second", trainRate}, {"eval_users_per_second", testRate}, {"train_gflops", trainGflops},
            {"eval_gflops", evalGflops}, {"train_gflop_per_sample", flops.trainPerSample * 1e-9},
            {"eval_gflop_per_user", flops.inferencePerUser * 1e-9}, {"total_seconds", total.seconds()},
            {"total_cpu_seconds", ex::cpuSeconds()}, {"peak_rss_bytes", ex::peakRssBytes()}});
  ex::writeJsonAtomically(c.report, j);
  std::cout << "report written to " << c.report << "\n";
  return r.diverged ? 3 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  ex::World world(argc, argv);
  Config c;
  CLI::App app{"Train and evaluate DiffuRec (Li, Sun, Li, TOIS 2023) on MovieLens sequences"};
  std::optional<Index> validUsers;
  std::string ks;
  bool noMaskHistory = false, rankPadding = false, batchMeans = false, noBaselines = false;
  app.add_option("--preset", c.preset, "reference (the authors' defaults) | cpu (converges in minutes on 2 cores)")
      ->capture_default_str();
  ex::DataFlags data;
  data.add(app, "folder: DiffuRec's export (sequences.txt) or a raw MovieLens release");
  app.add_option("--min-rating", c.minRating, "raw MovieLens: keep ratings >= this (default: every rating)");
  ex::OptionsCli cli(app);
  cli.add(c.model, "DiffuRec");
  c.loop.add(app, "stop after N validations without a better NDCG@10 (preset cpu: 2, reference: 5)");
  app.add_option("--valid-users", validUsers, "validate on the first N users only (0: all)");
  app.add_option("--final-users", c.finalUsers, "final tables on the first N users only (0: all; a quick look)");
  app.add_flag("--no-mask-history", noMaskHistory, "protocol: rank the user's earlier items too (reference)");
  app.add_flag("--rank-padding", rankPadding, "protocol: rank the padding item 0 (reference)");
  app.add_flag("--batch-means", batchMeans, "protocol: mean of per-batch means (reference)");
  app.add_option("--topk", ks, "cut-offs, e.g. 5,10,20");
  ex::addRunFlags(app, c.seed, c.threads, c.save, c.load, c.report);
  app.add_flag("--no-baselines", noBaselines, "skip the most-popular rows");
  try {
    app.parse(argc, argv);
    c.data = data.folder();
    applyPreset(c);
    cli.apply();
    recdiff::DiffuRecOptions& m = c.model;
    if (!cli.given("inference_precision")) m.inferencePrecision = m.trainingPrecision;
    c.loop.applyOverrides();
    ex::requireOutputFolders({{"--save", c.save}, {"--report", c.report}});
    if (validUsers) c.validUsers = *validUsers;
    if (!ks.empty()) c.ks = ex::parseList<Index>(ks, "--topk");
    c.protocol.maskHistory = !noMaskHistory;
    c.protocol.rankPadding = rankPadding;
    if (batchMeans) c.protocol.average = recdiff::metrics::RowAverage::BatchMeans;
    c.protocol.batchSize = m.batchSize;
    c.baselines = !noBaselines;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!ex::setThreads(c.threads, "diffurec_movielens")) return 2;
  if (!world.allowsResume("diffurec_movielens", c.loop.resume)) return 2;
  world.quietUnlessRoot(c.save, c.loop.log, c.report, c.loop.progress);
  return world.main("diffurec_movielens", [&] { return run(c, world); });
}
