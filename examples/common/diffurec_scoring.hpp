#ifndef RECDIFF_EXAMPLES_COMMON_DIFFUREC_SCORING_HPP
#define RECDIFF_EXAMPLES_COMMON_DIFFUREC_SCORING_HPP
// diffurec_movielens' helpers: the per-batch progress bar, the scorer that runs one reverse process per user
// whatever the number of protocols evaluated, and the first N samples of a held-out set.

#include <recdiff/models/diffurec.hpp>

#include <cstdio>
#include <string>

#include <unistd.h>

#include "cli.hpp"
#include "run_info.hpp"

namespace recdiff::examples {

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
  CachedScorer(DiffuRec<float>& model, std::uint64_t seed) : model_(model), rng_(seed, 0x5C0E) {}

  /// Starts a pass over the samples (call before each evaluateNextItem).
  void rewind() { row_ = 0; }
  double inferenceSeconds() const { return seconds_; }
  double inferenceCpuSeconds() const { return cpuSeconds_; }
  Index inferredUsers() const { return x0_.rows(); }

  void operator()(const data::HistoryBatch& b, RowMatrix<float>& scores) {
    const Index n = b.targets.size();
    if (row_ + n > x0_.rows()) {
      Stopwatch sw;
      const double cpu = cpuSeconds();
      Rng batchRng = rng_.fork(static_cast<std::uint64_t>(row_));
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
  DiffuRec<float>& model_;
  Rng rng_;
  RowMatrix<float> x0_, batch_;
  Index row_ = 0;
  double seconds_ = 0.0, cpuSeconds_ = 0.0;
};

/// The first `count` samples of a set (all when count is 0 or larger).
inline data::SequenceSamples firstSamples(const data::SequenceSamples& s, Index count) {
  if (count <= 0 || count >= s.size()) return s;
  data::SequenceSamples out;
  out.user.assign(s.user.begin(), s.user.begin() + count);
  out.end.assign(s.end.begin(), s.end.begin() + count);
  return out;
}

}  // namespace recdiff::examples

#endif  // RECDIFF_EXAMPLES_COMMON_DIFFUREC_SCORING_HPP
