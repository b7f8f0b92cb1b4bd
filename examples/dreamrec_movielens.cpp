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
#include <recdiff/models/dreamrec.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/epoch_loop.hpp"
#include "common/options_cli.hpp"
#include "common/run_info.hpp"
#include "common/sequence_data.hpp"

using recdiff::Index;
using recdiff::examples::HeldOut;
namespace ex = recdiff::examples;

namespace {

struct Config {
  std::string preset = "reference";
  std::string data;
  recdiff::DreamRecOptions model;
  ex::EpochLoopOptions loop =
      ex::EpochLoopOptions::make(100, 5, 20, "HR@20", "epoch,loss,seconds,valid_hr@20,valid_ndcg@20,eval_seconds", 3);
  std::vector<Index> ks = {10, 20};
  std::vector<double> sweep;  // guidance weights evaluated on test with the selected model
  std::string protocol = "default";
  std::uint64_t seed = 1;
  int threads = 0;
  std::string save, load, report;
  bool baselines = true;
};

/// The authors' YooChoose command (H 64, batch 256, T 500, exp, w 2, p 0.1, lr 1e-3, AdamW, mlp1) for both data
/// sets; the epoch budgets are ours (the reference trains up to 1000 epochs of its much smaller data sets).
void applyPreset(Config& c) {
  c.model = recdiff::DreamRecOptions{};
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

int run(Config& c) {
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
  const Index parameters = model.parameters().size();
  const auto& m = c.model;
  std::cout << "model: DreamRec " << recdiff::io::FieldCodec<recdiff::DreamRecArchitecture>::toText(m.architecture)
            << ", H " << m.hidden << ", history " << m.maxLength << ", " << parameters << " parameters, T " << m.steps
            << " (" << m.schedule.name << "), w " << m.guidance << ", p " << m.nullProbability << ", lr "
            << m.learningRate << ", batch " << m.batchSize << ", threads " << c.threads << ", seed " << c.seed
            << ", protocol " << c.protocol << "\n";

  const recdiff::Rng rng(c.seed, 0xD8EA);
  const auto evaluate = [&](HeldOut which, std::uint64_t tag, std::optional<double> w = std::nullopt) {
    recdiff::Rng evalRng = rng.fork(tag);
    return model.evaluate(d.full, d.heldOut(which), c.ks, evalRng, protocol, w);
  };
  const auto at20 = std::find(c.ks.begin(), c.ks.end(), Index{20});
  const std::size_t k20 = at20 != c.ks.end() ? static_cast<std::size_t>(at20 - c.ks.begin()) : 0;
  c.loop.metric = c.loop.shortMetric = "HR@" + std::to_string(c.ks[k20]);
  std::string hr20 = "hr@", ndcg20 = "ndcg@";  // DreamRec::evaluate's MetricTable keys at K = 20
  hr20 += std::to_string(c.ks[k20]);
  ndcg20 += std::to_string(c.ks[k20]);
  recdiff::metrics::MetricTable lastValid, bestValid;
  recdiff::ColVector<float> best = model.parameters().values();
  ex::EpochLoopHooks h;
  h.train = [&](int epoch) {
    recdiff::Rng epochRng = rng.fork(static_cast<std::uint64_t>(epoch));
    const recdiff::DreamRecEpoch r = model.trainEpoch(d.split.train, d.train, epochRng);
    return ex::EpochOutcome{.loss = r.meanLoss, .finite = r.finite, .columns = {}};
  };
  h.columns = [](const ex::EpochOutcome& e, double seconds, double) {
    std::ostringstream row;
    row << e.loss << ',' << seconds;
    return row.str();
  };
  h.evaluate = [&](int epoch) {
    const ex::Stopwatch ev;
    lastValid = evaluate(HeldOut::Valid, 0xE0000000ull + static_cast<std::uint64_t>(epoch));
    std::ostringstream row;
    row << lastValid.at(hr20) << ',' << lastValid.at(ndcg20) << ',' << ev.seconds();
    return ex::EvalOutcome{.score = lastValid.at(hr20), .columns = row.str(), .text = {}};
  };
  h.improved = [&](int) {
    bestValid = lastValid;
    best = model.parameters().values();
    if (!c.save.empty()) model.save(c.save);
  };
  const bool bar = ex::ProgressBar(c.loop.epochBar).enabled();
  h.after = [&](int epoch, const ex::EpochOutcome& e, double seconds, double, const std::string& text) {
    if (!bar && !text.empty())
      std::cout << "epoch " << epoch << " loss " << e.loss << " " << seconds << " s, " << text << "\n" << std::flush;
  };
  ex::EpochLoopResult o = ex::runEpochs(c.loop, h);
  std::cout << o.stopReason << "\n";
  model.parameters().values() = best;

  recdiff::metrics::MetricTable table;
  if (o.bestEpoch == 0) {  // no training (--epochs 0, e.g. with --load): evaluate the given parameters
    const ex::Stopwatch ev;
    const double evCpu = ex::cpuSeconds();
    bestValid = evaluate(HeldOut::Valid, 0xE0000000ull);
    o.evalSeconds.push_back(ev.seconds());
    o.evalCpuSeconds.push_back(ex::cpuSeconds() - evCpu);
  }
  table.add("valid", bestValid);
  const ex::Stopwatch testClock;
  const double testCpu0 = ex::cpuSeconds();
  table.add("test", evaluate(HeldOut::Test, 0xF0000000ull));
  const double testSeconds = testClock.seconds(), testCpu = ex::cpuSeconds() - testCpu0;
  for (const double w : c.sweep) table.add("guidance.w" + number(w) + ".test", evaluate(HeldOut::Test, 0xF0000000ull, w));
  if (c.baselines) {
    const recdiff::data::PaddingOptions padding = model.padding();
    table.add("popularity.valid", ex::popularityMetrics(d, HeldOut::Valid, c.ks, protocol, padding));
    table.add("popularity.test", ex::popularityMetrics(d, HeldOut::Test, c.ks, protocol, padding));
  }
  std::cout << "\nbest epoch " << o.bestEpoch << " (validation HR@" << c.ks[k20] << " " << bestValid.at(hr20) << ")\n";
  table.print(std::cout);

  const auto perSecond = [](double count, double seconds) { return seconds > 0 ? count / seconds : 0.0; };
  const double epochMedian = ex::median(o.epochSeconds), evalMedian = ex::median(o.evalSeconds);
  const double samplesPerSecond = perSecond(static_cast<double>(d.train.size()), epochMedian);
  const double usersPerSecond = perSecond(static_cast<double>(d.split.test.size()), testSeconds);
  std::printf("\nseconds per epoch (median of %zu): %.3f wall, %.3f CPU; %.0f training samples/s\n", o.epochSeconds.size(),
              epochMedian, ex::median(o.epochCpuSeconds), samplesPerSecond);
  std::printf("test evaluation: %.3f s wall, %.3f s CPU; %.0f users/s (%lld guided steps each); validation evaluation "
              "median %.3f s wall\n",
              testSeconds, testCpu, usersPerSecond, static_cast<long long>(m.steps), evalMedian);
  std::printf("total seconds: %.1f wall, %.1f CPU; peak RSS: %.1f MiB\n", total.seconds(), ex::cpuSeconds(),
              static_cast<double>(ex::peakRssBytes()) / (1024.0 * 1024.0));
  if (c.report.empty()) return o.diverged ? 3 : 0;

  nlohmann::json j{{"dataset", d.description}, {"data", c.data},  {"model", "dreamrec"}, {"preset", c.preset},
                   {"protocol", c.protocol},   {"seed", c.seed},  {"threads", c.threads}};
  nlohmann::json hp;
  for (const auto& [k, v] : model.hyperparameters()) hp[k] = v;
  hp.update({{"epochs", c.loop.epochs}, {"eval_every", c.loop.evalEvery}, {"patience", c.loop.patience}});
  j["hyperparameters"] = hp;
  j.update({{"users", d.full.users()}, {"items", d.items}, {"training_samples", d.train.size()}, {"parameters", parameters}});
  ex::addRunResult(j, o, table);
  j.update({{"seconds_per_epoch", epochMedian}, {"cpu_seconds_per_epoch", ex::median(o.epochCpuSeconds)},
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
  Config c;
  CLI::App app{"Train and evaluate DreamRec (Yang et al., NeurIPS 2023) on MovieLens sequences"};
  std::string ks, sweep;
  std::optional<int> epochs, evalEvery;
  bool noBaselines = false, noProgress = false;
  app.add_option("--preset", c.preset, "reference (= ml-1m) | ml-100k: the authors' hyperparameters, our epoch budget")
      ->capture_default_str();
  app.add_option("--data", c.data, "folder: DiffuRec's export (sequences.txt) or a raw MovieLens release")->required();
  ex::OptionsCli cli(app);
  cli.add(c.model, "DreamRec");
  app.add_option("--epochs", epochs, "upper epoch limit (0: evaluate only, e.g. with --load)")->check(CLI::NonNegativeNumber);
  app.add_option("--eval-every", evalEvery, "validate every N epochs")->check(CLI::PositiveNumber);
  app.add_option("--patience", c.loop.patience, "stop after N epochs without a better validation HR@20")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--topk", ks, "cut-offs, e.g. 10,20");
  app.add_option("--guidance-sweep", sweep, "also evaluate the selected model on test at these w, e.g. 0,2,4");
  app.add_option("--protocol", c.protocol, "default (history masked, padding excluded) | reference (DiffuRec's code)")
      ->capture_default_str()->check(CLI::IsMember({"default", "reference"}));
  ex::addRunFlags(app, c.seed, c.threads, c.save, c.load, c.loop.log, c.report);
  app.add_flag("--no-baselines", noBaselines, "skip the most-popular rows");
  app.add_flag("--no-progress", noProgress, "no progress bar");
  try {
    app.parse(argc, argv);
    applyPreset(c);
    cli.apply();
    if (epochs) c.loop.epochs = *epochs;
    if (evalEvery) c.loop.evalEvery = *evalEvery;
    if (!ks.empty()) c.ks = ex::parseList<Index>(ks, "--topk");
    if (!sweep.empty()) c.sweep = ex::parseList<double>(sweep, "--guidance-sweep");
    c.baselines = !noBaselines;
    c.loop.epochBar = !noProgress;
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
  try {
    return run(c);
  } catch (const std::exception& e) {
    std::cerr << "dreamrec_movielens: " << e.what() << "\n";
    return 1;
  }
}
