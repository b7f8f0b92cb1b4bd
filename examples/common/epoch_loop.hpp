#ifndef RECDIFF_EXAMPLES_COMMON_EPOCH_LOOP_HPP
#define RECDIFF_EXAMPLES_COMMON_EPOCH_LOOP_HPP
// The one epoch loop of the example binaries: train an epoch, evaluate every evalEvery epochs (and after the
// last), keep the best validation score, stop early after `patience` epochs (or evaluations) without a better
// one, stop on divergence; write the per-epoch CSV log and the progress bar, time every epoch and evaluation
// (wall and process CPU). What an epoch, an evaluation and "keep the best" mean is the example's (the hooks).
// To be replaced by the library's Trainer callbacks (issue 23: EarlyStopping, KeepBest, CsvLog, ProgressBar,
// DivergenceStop) when they land.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "run_info.hpp"

namespace recdiff::examples {

/// When the loop stops and what it writes.
struct EpochLoopOptions {
  int epochs = 0;
  int evalEvery = 1;
  int patience = 1;
  bool patienceInEvaluations = false;  ///< false: epochs since the best epoch; true: evaluations without a better one
  std::string metric;                  ///< e.g. "recall@20", for the stop reason
  std::string shortMetric;             ///< e.g. "R@20": the progress text is "valid R@20 0.2552 (best 0.2552 @20)"
  std::string log;                     ///< CSV path (empty: none)
  std::string logHeader;               ///< its first line, without the newline
  int evalColumns = 0;                 ///< CSV columns an evaluation adds (empty on the other epochs)
  bool epochBar = false;               ///< show ProgressBar over the epochs (else the hooks report progress)

  static EpochLoopOptions make(int epochs, int evalEvery, int patience, std::string metric, std::string logHeader,
                               int evalColumns, bool patienceInEvaluations = false) {
    EpochLoopOptions o;
    o.epochs = epochs;
    o.evalEvery = evalEvery;
    o.patience = patience;
    o.metric = std::move(metric);
    o.logHeader = std::move(logHeader);
    o.evalColumns = evalColumns;
    o.patienceInEvaluations = patienceInEvaluations;
    return o;
  }
};

/// What one training epoch did.
struct EpochOutcome {
  double loss = 0.0;      ///< shown on the progress bar
  bool finite = true;     ///< false: the epoch diverged (its update was not applied)
  std::string columns;    ///< the CSV columns after `epoch,` (the hook may use the timings it is given)
};

/// What one evaluation found.
struct EvalOutcome {
  double score = 0.0;     ///< the selection score (higher is better)
  std::string columns;    ///< CSV columns (evalColumns of them)
  std::string text;       ///< shown after the epoch's loss when EpochLoopOptions::shortMetric is empty
};

/// The hooks of the loop. train(epoch, seconds-so-far clock) returns the epoch's outcome; columns(outcome,
/// wall, cpu) the CSV columns of the training part; evaluate(epoch) an evaluation; improved(epoch) runs at every
/// new best (keep parameters, save); after(epoch, outcome, wall, cpu, evalText) after the CSV row (printing).
struct EpochLoopHooks {
  std::function<EpochOutcome(int)> train;
  std::function<std::string(const EpochOutcome&, double, double)> columns;
  std::function<EvalOutcome(int)> evaluate;
  std::function<void(int)> improved;
  std::function<void(int, const EpochOutcome&, double, double, const std::string&)> after;
};

/// What the loop did.
struct EpochLoopResult {
  int bestEpoch = 0;     ///< 0: no evaluation completed
  double bestScore = -1.0;
  int epochs = 0;        ///< epochs trained
  std::string stopReason = "epoch budget reached";
  bool diverged = false;
  std::vector<double> epochSeconds, epochCpuSeconds, evalSeconds, evalCpuSeconds;
};

inline EpochLoopResult runEpochs(const EpochLoopOptions& o, const EpochLoopHooks& h) {
  namespace fs = std::filesystem;
  std::ofstream log;
  if (!o.log.empty()) {
    if (fs::path(o.log).has_parent_path()) fs::create_directories(fs::path(o.log).parent_path());
    log.open(o.log);
    if (!log) throw std::runtime_error("cannot write --log " + o.log);
    log << o.logHeader << '\n';
  }
  const ProgressBar bar(o.epochBar);
  EpochLoopResult r;
  int sinceBest = 0;  // evaluations without a better score
  int epoch = 1;
  for (; epoch <= o.epochs; ++epoch) {
    if (!o.patienceInEvaluations && r.bestEpoch > 0 && epoch - r.bestEpoch >= o.patience) {
      r.stopReason = "early stop: no better validation " + o.metric + " for " + std::to_string(o.patience) + " epochs";
      --epoch;
      break;
    }
    Stopwatch sw;
    const double cpu = cpuSeconds();
    const EpochOutcome e = h.train(epoch);
    r.epochSeconds.push_back(sw.seconds());
    r.epochCpuSeconds.push_back(cpuSeconds() - cpu);
    if (!e.finite) {
      r.stopReason = "diverged: non-finite loss or gradient in epoch " + std::to_string(epoch) +
                     " (the update was not applied); keeping the best epoch " + std::to_string(r.bestEpoch);
      r.diverged = true;
      break;
    }
    std::string row = std::to_string(epoch) + ',' + h.columns(e, r.epochSeconds.back(), r.epochCpuSeconds.back());
    std::string text;
    if (epoch % o.evalEvery == 0 || epoch == o.epochs) {
      Stopwatch ev;
      const double evCpu = cpuSeconds();
      const EvalOutcome v = h.evaluate(epoch);
      r.evalSeconds.push_back(ev.seconds());
      r.evalCpuSeconds.push_back(cpuSeconds() - evCpu);
      row += ',' + v.columns;
      text = v.text;
      const bool better = v.score > r.bestScore;
      if (!o.shortMetric.empty()) {
        char buf[128];
        std::snprintf(buf, sizeof buf, "valid %s %.4f (best %.4f @%d)", o.shortMetric.c_str(), v.score,
                      better ? v.score : r.bestScore, better ? epoch : r.bestEpoch);
        text = buf;
      }
      if (better) {
        r.bestScore = v.score;
        r.bestEpoch = epoch;
        sinceBest = 0;
        if (h.improved) h.improved(epoch);
      } else if (o.patienceInEvaluations && ++sinceBest >= o.patience) {
        r.stopReason = "early stop: no better validation " + o.metric + " for " + std::to_string(o.patience) +
                       " evaluations";
      }
    } else {
      row += std::string(static_cast<std::size_t>(o.evalColumns), ',');
    }
    if (log) log << row << '\n' << std::flush;
    bar.show(epoch, o.epochs, e.loss, r.epochSeconds.back(), text);
    if (h.after) h.after(epoch, e, r.epochSeconds.back(), r.epochCpuSeconds.back(), text);
    if (o.patienceInEvaluations && sinceBest >= o.patience) break;
  }
  bar.finish();
  r.epochs = epoch > o.epochs ? o.epochs : epoch;
  return r;
}

}  // namespace recdiff::examples

#endif  // RECDIFF_EXAMPLES_COMMON_EPOCH_LOOP_HPP
