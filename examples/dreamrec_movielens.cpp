// DreamRec (Yang et al., NeurIPS 2023) on MovieLens sequences: train, select the epoch on validation HR@20,
// report validation and test HR@K / NDCG@K at the best epoch beside the most-popular baseline, optionally the
// test metrics of the selected model at several guidance weights.
//
//   dreamrec_movielens --preset reference --data ../shared/data/diffurec/ml-1m --seed 1 --threads 2 --report out.json
//   dreamrec_movielens --preset ml-100k --data ../shared/data/movielens/ml-100k
//   dreamrec_movielens --load model.rdc --epochs 0 --guidance-sweep 0,2,4 --data ...   (evaluate a saved model)
//
// --data is DiffuRec's export folder (sequences.txt) or a raw MovieLens release (examples/common/sequence_data.hpp):
// item ids 1 … items, chronological leave-one-out (validation target = second to last item, test = last), every
// prefix of the training part a training sample; the model reads the last --max-len items before each target,
// right-padded. Evaluation: NextItemProtocol's default (history masked, padding excluded, mean over users), or
// --protocol reference (DiffuRec's evaluation code: nothing masked, padding ranked, batch means).
//
// The reference objective shrinks the item table on ML-1M and ML-100K (docs/dreamrec.md); three flags that are
// NOT DreamRec change it: --ce-weight (an auxiliary cross-entropy of x0-hat E^T, DiffuRec's loss),
// --detach-target (E[target] a constant regression target), --freeze-items (E fixed at its initialisation).
//
// Timing: medians of the per-epoch and per-evaluation wall and process CPU times; training samples/s and
// evaluated users/s (one user = one held-out sample: the T guided reverse steps and the scoring) are printed and
// written to --report. The model flags come from DreamRecOptions' field table (models/dreamrec_options.hpp).
//
// The epoch loop is the library's: model.fit() with train/callbacks.hpp's EarlyStopping (patience counts epochs,
// as DreamRec's reference), KeepBest, CsvLog, ProgressBar and ProgressLog (examples/common/training.hpp).
//
// Data parallel: under `mpirun -np N` every rank trains its rows of each batch (train::rowShard, with the
// single process's t, noise, null mask and dropout for them) and scores its block of the evaluation batches;
// rank 0 alone prints and writes files; the report gains world_size and per-rank throughput and communication.
#include <recdiff/distributed/data_parallel.hpp>
#include <recdiff/models/dreamrec.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/distributed.hpp"
#include "common/options_cli.hpp"
#include "common/run_info.hpp"
#include "common/sequence_data.hpp"
#include "common/training.hpp"

using recdiff::Index;
using recdiff::examples::HeldOut;
namespace ex = recdiff::examples;

namespace {

/// Every random number of a run: epoch e trains with Rng(seed, kStream).fork(e); validation after epoch e
/// evaluates with .fork(0xE0000000 + e), the test with .fork(0xF0000000).
constexpr std::uint64_t kStream = 0xD8EA;

struct Config {
  std::string preset = "reference";
  std::string data;
  recdiff::DreamRecOptions model;
  ex::LoopFlags loop;
  std::vector<Index> ks = {10, 20};
  std::vector<double> sweep;  // guidance weights evaluated on test with the selected model
  std::string protocol = "default";
  std::uint64_t seed = 1;
  int threads = 0;
  std::string save, load, report;
  bool baselines = true;
};

/// The authors' YooChoose command (H 64, batch 256, T 500, exp, w 2, p 0.1, lr 1e-3, AdamW, mlp1) for both data
/// sets; the epoch budgets are ours (the reference trains up to 1000 epochs of its much smaller data sets), and
/// the reference's early stopping: 20 epochs without a better validation HR@20.
void applyPreset(Config& c) {
  c.model = recdiff::DreamRecOptions{};
  c.loop.patience = 20;
  if (c.preset == "reference" || c.preset == "ml-1m") {
    c.loop.epochs = 100;
    c.loop.evalEvery = 5;
  } else if (c.preset == "ml-100k") {
    c.loop.epochs = 200;
    c.loop.evalEvery = 10;
  } else {
    throw CLI::ValidationError("--preset", "unknown preset '" + c.preset + "' (reference, ml-1m, ml-100k)");
  }
}

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

int run(Config& c, ex::World& world) {
  const ex::Stopwatch total;
  const auto d = ex::loadSequenceData(c.data);
  std::cout << "data: " << d.description << ": " << d.full.users() << " users, " << d.items << " items, "
            << d.full.totalLength() << " interactions; " << d.train.size() << " training samples, "
            << d.split.valid.size() << " validation and " << d.split.test.size() << " test users\n";
  const recdiff::NextItemProtocol protocol =
      c.protocol == "reference" ? recdiff::NextItemProtocol::reference() : recdiff::NextItemProtocol{};
  recdiff::DreamRec<float> model(c.model, d.items, c.seed);
  if (!c.load.empty()) {
    model.load(c.load);
    std::cout << "loaded parameters from " << c.load << "\n";
  }
  recdiff::distributed::makeDataParallel(model, world.comm());  // one process: nothing changes
  const Index parameters = model.parameters().size();
  const auto& m = c.model;
  std::cout << "model: DreamRec " << recdiff::io::FieldCodec<recdiff::DreamRecArchitecture>::toText(m.architecture)
            << ", H " << m.hidden << ", history " << m.maxLength << ", " << parameters << " parameters, T " << m.steps
            << " (" << m.schedule.name << "), w " << m.guidance << ", p " << m.nullProbability << ", lr "
            << m.learningRate << ", batch " << m.batchSize << ", threads " << c.threads << ", seed " << c.seed
            << ", protocol " << c.protocol << "\n";

  const recdiff::Rng rng(c.seed, kStream);
  const auto evaluate = [&](HeldOut which, std::uint64_t tag, std::optional<double> w = std::nullopt) {
    recdiff::Rng evalRng = rng.fork(tag);
    return recdiff::distributed::evaluateSequences(model, world.comm(), d.full, d.heldOut(which), c.ks, evalRng, protocol, w);
  };
  const auto validation = [&](Index epoch) {  // "valid.hr@K", "valid.ndcg@K"
    recdiff::metrics::MetricTable t;
    t.add("valid", evaluate(HeldOut::Valid, 0xE0000000ull + static_cast<std::uint64_t>(epoch)));
    return t;
  };
  const auto at20 = std::find(c.ks.begin(), c.ks.end(), Index{20});
  const std::string k20 = std::to_string(at20 != c.ks.end() ? *at20 : c.ks.front());  // the selection's K
  ex::Callbacks cb(c.loop, validation, "valid.hr@" + k20, recdiff::train::PatienceUnit::kEpochs, {&model.parameters()},
                   {"valid.hr@" + k20, "valid.ndcg@" + k20}, [&](Index, const recdiff::metrics::MetricTable&) {
                     if (!c.save.empty()) model.save(c.save);
                   });
  std::map<std::string, std::string> h = model.hyperparameters();
  h["topk"] = ex::join(c.ks);
  h["protocol"] = c.protocol;
  ex::resumable(cb, c.loop, "dreamrec", ex::sequenceFingerprint(d), std::move(h), c.seed, model);
  const recdiff::TrainResult o = model.fit(d.split.train, d.train, c.loop.fitOptions(c.seed, kStream), cb.early, cb.keep,
                                           cb.log, cb.bar, cb.lines, cb.state);
  std::cout << o.stopReason << "\n";

  ex::RunTimes times(o, cb.early);
  recdiff::metrics::MetricTable bestValid = cb.early.bestTable();
  if (cb.early.bestEpoch() == 0) {  // no training (--epochs 0, e.g. with --load): evaluate the given parameters
    const ex::Stopwatch ev;
    const double evCpu = ex::cpuSeconds();
    bestValid = validation(0);
    times.addEvaluation(ev.seconds(), ex::cpuSeconds() - evCpu);
  }
  recdiff::metrics::MetricTable table = bestValid;  // valid.* of the selected epoch, then test.*
  const ex::Stopwatch testClock;
  const double testCpu0 = ex::cpuSeconds();
  table.add("test", evaluate(HeldOut::Test, 0xF0000000ull));
  const double testSeconds = testClock.seconds(), testCpu = ex::cpuSeconds() - testCpu0;
  for (const double w : c.sweep) table.add("guidance.w" + number(w) + ".test", evaluate(HeldOut::Test, 0xF0000000ull, w));
  if (c.baselines && world.isRoot()) {
    const recdiff::data::PaddingOptions padding = model.padding();
    table.add("popularity.valid", ex::popularityMetrics(d, HeldOut::Valid, c.ks, protocol, padding));
    table.add("popularity.test", ex::popularityMetrics(d, HeldOut::Test, c.ks, protocol, padding));
  }
  std::cout << "\nbest epoch " << cb.early.bestEpoch() << " (validation HR@" << k20 << " " << bestValid.at("valid.hr@" + k20)
            << ")\n";
  table.print(std::cout);

  const auto perSecond = [](double count, double seconds) { return seconds > 0 ? count / seconds : 0.0; };
  const double epochMedian = ex::median(times.epochSeconds), evalMedian = ex::median(times.evalSeconds);
  const double samplesPerSecond = ex::median(times.epochSamplesPerSecond);
  const double usersPerSecond = perSecond(static_cast<double>(d.split.test.size()), testSeconds);
  std::printf("\nseconds per epoch (median of %zu): %.3f wall, %.3f CPU; %.0f training samples/s\n", times.epochSeconds.size(),
              epochMedian, ex::median(times.epochCpuSeconds), samplesPerSecond);
  std::printf("test evaluation: %.3f s wall, %.3f s CPU; %.0f users/s (%lld guided steps each); validation evaluation "
              "median %.3f s wall\n",
              testSeconds, testCpu, usersPerSecond, static_cast<long long>(m.steps), evalMedian);
  std::printf("total seconds: %.1f wall, %.1f CPU; peak RSS: %.1f MiB\n", total.seconds(), ex::cpuSeconds(),
              static_cast<double>(ex::peakRssBytes()) / (1024.0 * 1024.0));
  nlohmann::json j;  // world_size and the ranks' rows, seconds and communication (a collective)
  world.addRunToReport(j, o, m.batchSize, [&](Index n) {
    return recdiff::train::rowShard(n, world.comm().rank(), world.size()).rows();
  });
  if (c.report.empty()) return o.diverged ? 3 : 0;

  j.update({{"dataset", d.description}, {"data", c.data},  {"model", "dreamrec"}, {"preset", c.preset},
            {"protocol", c.protocol},   {"seed", c.seed},  {"threads", c.threads}});
  nlohmann::json hp;
  for (const auto& [k, v] : model.hyperparameters()) hp[k] = v;
  hp.update(c.loop.json());
  j["hyperparameters"] = hp;
  j.update({{"users", d.full.users()}, {"items", d.items}, {"training_samples", d.train.size()}, {"parameters", parameters}});
  ex::addRunResult(j, o, cb.early, table);
  j.update({{"seconds_per_epoch", epochMedian}, {"cpu_seconds_per_epoch", ex::median(times.epochCpuSeconds)},
            {"validation_evaluation_seconds", evalMedian}, {"test_evaluation_seconds", testSeconds},
            {"test_evaluation_cpu_seconds", testCpu}, {"train_samples_per_second", samplesPerSecond},
            {"eval_users_per_second", usersPerSecond}, {"total_seconds", total.seconds()},
            {"total_cpu_seconds", ex::cpuSeconds()}, {"peak_rss_bytes", ex::peakRssBytes()}});
  ex::writeJsonAtomically(c.report, j);
  std::cout << "report written to " << c.report << "\n";
  return o.diverged ? 3 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  ex::World world(argc, argv);
  Config c;
  CLI::App app{"Train and evaluate DreamRec (Yang et al., NeurIPS 2023) on MovieLens sequences"};
  std::string ks, sweep;
  bool noBaselines = false;
  app.add_option("--preset", c.preset, "reference (= ml-1m) | ml-100k: the authors' hyperparameters, our epoch budget")
      ->capture_default_str();
  ex::DataFlags data;
  data.add(app, "folder: DiffuRec's export (sequences.txt) or a raw MovieLens release");
  ex::OptionsCli cli(app);
  cli.add(c.model, "DreamRec");
  c.loop.add(app, "stop after N epochs without a better validation HR@20 (preset: 20)");
  app.add_option("--topk", ks, "cut-offs, e.g. 10,20");
  app.add_option("--guidance-sweep", sweep, "also evaluate the selected model on test at these w, e.g. 0,2,4");
  app.add_option("--protocol", c.protocol, "default (history masked, padding excluded) | reference (DiffuRec's code)")
      ->capture_default_str()->check(CLI::IsMember({"default", "reference"}));
  ex::addRunFlags(app, c.seed, c.threads, c.save, c.load, c.report);
  app.add_flag("--no-baselines", noBaselines, "skip the most-popular rows");
  try {
    app.parse(argc, argv);
    c.data = data.folder();
    applyPreset(c);
    cli.apply();
    c.loop.applyOverrides();
    ex::requireOutputFolders({{"--save", c.save}, {"--report", c.report}});
    if (!ks.empty()) c.ks = ex::parseList<Index>(ks, "--topk");
    if (!sweep.empty()) c.sweep = ex::parseList<double>(sweep, "--guidance-sweep");
    c.baselines = !noBaselines;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
#if defined(_OPENMP)
  if (c.threads > 0) omp_set_num_threads(c.threads);
  // The threads come from the library's own splits (inference tiles, score blocks, encoder rows, AdamW and
  // dropout chunks). Eigen's GEMM threading is off: DreamRec's products are small, Eigen's threads spin-wait for
  // each other at every depth block, and under load a training step spent 14x its CPU time (bench_dreamrec).
  Eigen::setNbThreads(1);
#endif
  if (!world.allowsResume("dreamrec_movielens", c.loop.resume)) return 2;
  world.quietUnlessRoot(c.save, c.loop.log, c.report, c.loop.progress);
  return world.main("dreamrec_movielens", [&] { return run(c, world); });
}
