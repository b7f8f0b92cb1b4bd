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
// written to --report.
#include <recdiff/models/dreamrec.hpp>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
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
#include "common/run_info.hpp"
#include "common/sequence_data.hpp"

namespace fs = std::filesystem;
using recdiff::Index;
using recdiff::examples::HeldOut;
using recdiff::examples::Stopwatch;

namespace {

struct Config {
  std::string preset = "reference";
  std::string data;
  recdiff::DreamRecOptions model;
  int epochs = 100;
  int evalEvery = 5;
  int patience = 20;
  std::vector<Index> ks = {10, 20};
  std::vector<double> sweep;  // guidance weights evaluated on test with the selected model
  std::string protocol = "default";
  std::uint64_t seed = 1;
  int threads = 0;
  std::string save, load, log, report;
  bool baselines = true;
  bool progress = true;
};

/// The authors' YooChoose command (H 64, batch 256, T 500, exp, w 2, p 0.1, lr 1e-3, AdamW, mlp1) for both data
/// sets; the epoch budgets are ours (the reference trains up to 1000 epochs of its much smaller data sets).
void applyPreset(Config& c) {
  c.model = recdiff::DreamRecOptions{};
  if (c.preset == "reference" || c.preset == "ml-1m") {
    c.epochs = 100;
    c.evalEvery = 5;
    return;
  }
  if (c.preset == "ml-100k") {
    c.epochs = 200;
    c.evalEvery = 10;
    return;
  }
  throw CLI::ValidationError("--preset", "unknown preset '" + c.preset + "' (reference, ml-1m, ml-100k)");
}

using recdiff::examples::parseList;

using recdiff::examples::cpuSeconds;


std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

int run(const Config& c) {
  Stopwatch total;
  const auto d = recdiff::examples::loadSequenceData(c.data);
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
  std::cout << "model: DreamRec " << (c.model.architecture == recdiff::DreamRecArchitecture::kMlp1 ? "mlp1" : "mlp2")
            << ", H " << c.model.hidden << ", history " << c.model.maxLength << ", " << parameters << " parameters, T "
            << c.model.steps << " (" << c.model.schedule << "), w " << c.model.guidance << ", p "
            << c.model.nullProbability << ", lr " << c.model.learningRate << ", batch " << c.model.batchSize
            << ", threads " << c.threads << ", seed " << c.seed << ", protocol " << c.protocol << "\n";

  std::ofstream log;
  if (!c.log.empty()) {
    if (fs::path(c.log).has_parent_path()) fs::create_directories(fs::path(c.log).parent_path());
    log.open(c.log);
    if (!log) throw std::runtime_error("cannot write --log " + c.log);
    log << "epoch,loss,seconds,valid_hr@20,valid_ndcg@20,eval_seconds\n";
  }
  const recdiff::Rng rng(c.seed, 0xD8EA);
  const recdiff::examples::ProgressBar bar(c.progress);
  std::vector<double> epochSeconds, epochCpu, evalSeconds, evalCpu;
  recdiff::metrics::MetricTable bestValid;
  double bestHr = -1.0;
  int bestEpoch = 0, epoch = 0;
  bool diverged = false;
  std::string stopReason = "epoch budget reached";
  recdiff::ColVector<float> best = model.parameters().values();
  const auto evaluate = [&](HeldOut which, std::uint64_t tag, std::optional<double> w = std::nullopt) {
    recdiff::Rng evalRng = rng.fork(tag);
    return model.evaluate(d.full, d.heldOut(which), c.ks, evalRng, protocol, w);
  };
  const std::size_t k20 = static_cast<std::size_t>(
      std::find(c.ks.begin(), c.ks.end(), Index{20}) != c.ks.end() ? std::find(c.ks.begin(), c.ks.end(), Index{20}) - c.ks.begin() : 0);
  std::string hr20 = "hr@", ndcg20 = "ndcg@";  // DreamRec::evaluate's MetricTable keys at K = 20
  hr20 += std::to_string(c.ks[k20]);
  ndcg20 += std::to_string(c.ks[k20]);
  for (epoch = 1; epoch <= c.epochs; ++epoch) {
    if (bestEpoch > 0 && epoch - bestEpoch >= c.patience) {
      stopReason = "early stop: no better validation HR@" + std::to_string(c.ks[k20]) + " for " + std::to_string(c.patience) + " epochs";
      --epoch;
      break;
    }
    Stopwatch sw;
    const double cpu = cpuSeconds();
    recdiff::Rng epochRng = rng.fork(static_cast<std::uint64_t>(epoch));
    const recdiff::DreamRecEpoch r = model.trainEpoch(d.split.train, d.train, epochRng);
    epochSeconds.push_back(sw.seconds());
    epochCpu.push_back(cpuSeconds() - cpu);
    if (!r.finite) {
      stopReason = "diverged in epoch " + std::to_string(epoch) + " (the update was not applied)";
      diverged = true;
      break;
    }
    std::ostringstream row;
    row << epoch << ',' << r.meanLoss << ',' << epochSeconds.back();
    std::string extra;
    if (epoch % c.evalEvery == 0 || epoch == c.epochs) {
      Stopwatch ev;
      const double evCpu = cpuSeconds();
      const auto v = evaluate(HeldOut::Valid, 0xE0000000ull + static_cast<std::uint64_t>(epoch));
      evalSeconds.push_back(ev.seconds());
      evalCpu.push_back(cpuSeconds() - evCpu);
      row << ',' << v.at(hr20) << ',' << v.at(ndcg20) << ',' << evalSeconds.back();
      if (v.at(hr20) > bestHr) {
        bestHr = v.at(hr20);
        bestEpoch = epoch;
        bestValid = v;
        best = model.parameters().values();
        if (!c.save.empty()) model.save(c.save);
      }
      char buf[96];
      std::snprintf(buf, sizeof buf, "valid HR@%lld %.4f (best %.4f @%d)", static_cast<long long>(c.ks[k20]),
                    v.at(hr20), bestHr, bestEpoch);
      extra = buf;
    } else {
      row << ",,,";
    }
    if (log) log << row.str() << '\n' << std::flush;
    bar.show(epoch, c.epochs, r.meanLoss, epochSeconds.back(), extra);
    if (!bar.enabled() && !extra.empty())
      std::cout << "epoch " << epoch << " loss " << r.meanLoss << " " << epochSeconds.back() << " s, " << extra << "\n"
                << std::flush;
  }
  bar.finish();
  const int epochsRun = std::min(epoch, c.epochs);
  std::cout << stopReason << "\n";
  model.parameters().values() = best;

  recdiff::metrics::MetricTable table;
  nlohmann::json j;
  if (bestEpoch == 0) {  // no training (--epochs 0, e.g. with --load): evaluate the given parameters
    Stopwatch ev;
    const double evCpu = cpuSeconds();
    bestValid = evaluate(HeldOut::Valid, 0xE0000000ull);
    evalSeconds.push_back(ev.seconds());
    evalCpu.push_back(cpuSeconds() - evCpu);
  }
  table.add("valid", bestValid);
  Stopwatch testClock;
  const double testCpu0 = cpuSeconds();
  table.add("test", evaluate(HeldOut::Test, 0xF0000000ull));
  const double testSeconds = testClock.seconds(), testCpu = cpuSeconds() - testCpu0;
  for (const double w : c.sweep) {
    const std::string prefix = "guidance.w" + number(w);
    table.add(prefix + ".test", evaluate(HeldOut::Test, 0xF0000000ull, w));
  }
  if (c.baselines) {
    const recdiff::data::PaddingOptions padding = model.padding();
    table.add("popularity.valid", recdiff::examples::popularityMetrics(d, HeldOut::Valid, c.ks, protocol, padding));
    table.add("popularity.test", recdiff::examples::popularityMetrics(d, HeldOut::Test, c.ks, protocol, padding));
  }
  std::cout << "\nbest epoch " << bestEpoch << " (validation HR@" << c.ks[k20] << " " << bestValid.at(hr20) << ")\n";
  table.print(std::cout);

  const auto median = recdiff::examples::median;
  const auto perSecond = [](double count, double seconds) { return seconds > 0 ? count / seconds : 0.0; };
  const double epochMedian = median(epochSeconds), evalMedian = median(evalSeconds);
  const double samplesPerSecond = perSecond(static_cast<double>(d.train.size()), epochMedian);
  const double usersPerSecond = perSecond(static_cast<double>(d.split.test.size()), testSeconds);
  std::printf("\nseconds per epoch (median of %zu): %.3f wall, %.3f CPU; %.0f training samples/s\n", epochSeconds.size(),
              epochMedian, median(epochCpu), samplesPerSecond);
  std::printf("test evaluation: %.3f s wall, %.3f s CPU; %.0f users/s (%lld guided steps each); validation evaluation "
              "median %.3f s wall\n",
              testSeconds, testCpu, usersPerSecond, static_cast<long long>(c.model.steps), evalMedian);
  std::printf("total seconds: %.1f wall, %.1f CPU; peak RSS: %.1f MiB\n", total.seconds(), cpuSeconds(),
              static_cast<double>(recdiff::examples::peakRssBytes()) / (1024.0 * 1024.0));
  if (c.report.empty()) return diverged ? 3 : 0;

  j["dataset"] = d.description;
  j["data"] = c.data;
  j["model"] = "dreamrec";
  j["preset"] = c.preset;
  j["protocol"] = c.protocol;
  j["seed"] = c.seed;
  j["threads"] = c.threads;
  nlohmann::json hp;
  for (const auto& [k, v] : model.hyperparameters()) hp[k] = v;
  hp["epochs"] = c.epochs;
  hp["eval_every"] = c.evalEvery;
  hp["patience"] = c.patience;
  j["hyperparameters"] = hp;
  j["users"] = d.full.users();
  j["items"] = d.items;
  j["training_samples"] = d.train.size();
  j["parameters"] = parameters;
  j["best_epoch"] = bestEpoch;
  j["epochs_run"] = epochsRun;
  j["stop_reason"] = stopReason;
  j["diverged"] = diverged;
  nlohmann::json metrics;
  for (const auto& [k, v] : table.entries()) metrics[k] = v;
  j["metrics"] = metrics;
  for (const auto& [k, v] : table.entries()) j[k] = v;  // flat keys too: j["test.hr@20"]
  j["seconds_per_epoch"] = epochMedian;
  j["cpu_seconds_per_epoch"] = median(epochCpu);
  j["validation_evaluation_seconds"] = evalMedian;
  j["test_evaluation_seconds"] = testSeconds;
  j["test_evaluation_cpu_seconds"] = testCpu;
  j["train_samples_per_second"] = samplesPerSecond;
  j["eval_users_per_second"] = usersPerSecond;
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
  CLI::App app{"Train and evaluate DreamRec (Yang et al., NeurIPS 2023) on MovieLens sequences"};
  std::string ks, sweep, architecture;
  std::optional<double> lr, wd, w, p, dropout, betaStart, betaEnd;
  std::optional<int> steps, batch, epochs, hidden, maxLen, heads, evalEvery;
  std::optional<std::string> schedule, emptyHistory;
  bool noBaselines = false, noProgress = false, detachTarget = false, freezeItems = false;
  std::optional<double> ceWeight;
  app.add_option("--preset", c.preset, "reference (= ml-1m) | ml-100k: the authors' hyperparameters, our epoch budget")
      ->capture_default_str();
  app.add_option("--data", c.data, "folder: DiffuRec's export (sequences.txt) or a raw MovieLens release")->required();
  app.add_option("--diffuser-type", architecture, "mlp1 | mlp2");
  app.add_option("--hidden", hidden, "H, the embedding size");
  app.add_option("--max-len", maxLen, "history length (last N items)");
  app.add_option("--heads", heads, "T-enc attention heads");
  app.add_option("--dropout", dropout, "T-enc dropout");
  app.add_option("--schedule", schedule, "exp | linear | cosine | sqrt");
  app.add_option("--beta-start", betaStart, "linear schedule: first beta");
  app.add_option("--beta-end", betaEnd, "linear schedule: last beta");
  app.add_option("--steps", steps, "diffusion steps T");
  app.add_option("--w", w, "guidance weight");
  app.add_option("--p", p, "probability of training with the null vector instead of the history");
  app.add_option("--empty-history", emptyHistory, "reference (h = LN3 bias) | null (h = the null vector)");
  app.add_flag("--detach-target", detachTarget, "not the reference: the regression target E[target] is a constant");
  app.add_flag("--freeze-items", freezeItems, "not the reference: keep the item table at its N(0, 1) initialisation");
  app.add_option("--ce-weight", ceWeight, "not the reference: weight of an auxiliary cross-entropy of x0-hat E^T (0: off)");
  app.add_option("--lr", lr, "learning rate (AdamW)");
  app.add_option("--weight-decay", wd, "AdamW weight decay");
  app.add_option("--batch-size", batch, "samples per batch");
  app.add_option("--epochs", epochs, "upper epoch limit (0: evaluate only, e.g. with --load)");
  app.add_option("--eval-every", evalEvery, "validate every N epochs");
  app.add_option("--patience", c.patience, "stop after N epochs without a better validation HR@20")->capture_default_str();
  app.add_option("--topk", ks, "cut-offs, e.g. 10,20");
  app.add_option("--guidance-sweep", sweep, "also evaluate the selected model on test at these w, e.g. 0,2,4");
  app.add_option("--protocol", c.protocol, "default (history masked, padding excluded) | reference (DiffuRec's code)")
      ->capture_default_str();
  app.add_option("--seed", c.seed, "seed of every random number")->capture_default_str();
  app.add_option("--threads", c.threads, "OpenMP threads (0: all cores)")->capture_default_str();
  app.add_option("--save", c.save, "write the best model's checkpoint here (atomically)");
  app.add_option("--load", c.load, "start from this checkpoint's parameters");
  app.add_option("--log", c.log, "per-epoch CSV log");
  app.add_option("--report", c.report, "JSON report (metrics keyed like test.hr@20 and popularity.test.hr@20, timings)");
  app.add_flag("--no-baselines", noBaselines, "skip the most-popular rows");
  app.add_flag("--no-progress", noProgress, "no progress bar");
  try {
    app.parse(argc, argv);
    applyPreset(c);
    recdiff::DreamRecOptions& m = c.model;
    if (!architecture.empty()) {
      if (architecture != "mlp1" && architecture != "mlp2") throw CLI::ValidationError("--diffuser-type", "mlp1 or mlp2");
      m.architecture = architecture == "mlp1" ? recdiff::DreamRecArchitecture::kMlp1 : recdiff::DreamRecArchitecture::kMlp2;
    }
    if (hidden) m.hidden = *hidden;
    if (maxLen) m.maxLength = *maxLen;
    if (heads) m.heads = *heads;
    if (dropout) m.dropout = *dropout;
    if (schedule) m.schedule = *schedule;
    if (betaStart) m.betaStart = *betaStart;
    if (betaEnd) m.betaEnd = *betaEnd;
    if (steps) m.steps = *steps;
    if (w) m.guidance = *w;
    if (p) m.nullProbability = *p;
    if (emptyHistory) {
      if (*emptyHistory != "reference" && *emptyHistory != "null") throw CLI::ValidationError("--empty-history", "reference or null");
      m.emptyHistory = *emptyHistory == "reference" ? recdiff::EmptyHistory::kReference : recdiff::EmptyHistory::kNullVector;
    }
    m.detachTarget = detachTarget;
    m.freezeItems = freezeItems;
    if (ceWeight) m.crossEntropyWeight = *ceWeight;
    if (lr) m.learningRate = *lr;
    if (wd) m.weightDecay = *wd;
    if (batch) m.batchSize = *batch;
    if (epochs) c.epochs = *epochs;
    if (evalEvery) c.evalEvery = *evalEvery;
    if (!ks.empty()) c.ks = parseList<Index>(ks, "--topk");
    if (!sweep.empty()) c.sweep = parseList<double>(sweep, "--guidance-sweep");
    c.baselines = !noBaselines;
    c.progress = !noProgress;
    if (c.epochs < 0) throw CLI::ValidationError("--epochs", "must be >= 0");
    if (c.evalEvery <= 0) throw CLI::ValidationError("--eval-every", "must be positive");
    if (c.patience <= 0) throw CLI::ValidationError("--patience", "must be positive");
    if (c.protocol != "default" && c.protocol != "reference") throw CLI::ValidationError("--protocol", "default or reference");
    for (const Index k : c.ks)
      if (k <= 0) throw CLI::ValidationError("--topk", "cut-offs must be positive");
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
