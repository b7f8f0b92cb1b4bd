#ifndef RECDIFF_EXAMPLES_COMMON_CLI_HPP
#define RECDIFF_EXAMPLES_COMMON_CLI_HPP
// Shared by the example binaries: list-valued flags ("[200,600]", "0,2,4"), the run flags and --threads, and
// the process's CPU time (the library's train::cpuSeconds, which times fit()'s epochs and evaluations too).

#if defined(_OPENMP)
#include <omp.h>
#endif

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>

#include <recdiff/data/synthetic.hpp>
#include <recdiff/memory.hpp>
#include <recdiff/train/trainer.hpp>

namespace recdiff::examples {

/// A comma-separated list (brackets and spaces ignored: "[200, 600]" reads as "200,600"). For an integral T every
/// entry must be a whole number > 0 (layer widths, cut-offs); for a floating T any finite number. Anything else
/// throws CLI::ValidationError naming the flag and the text.
template <class T>
std::vector<T> parseList(const std::string& text, const char* flag) {
  constexpr bool kIntegral = std::is_integral_v<T>;
  std::vector<T> out;
  std::string clean;
  for (const char ch : text)
    if (ch != '[' && ch != ']' && ch != ' ') clean += ch;
  std::stringstream ss(clean);
  for (std::string part; std::getline(ss, part, ',');) {
    try {
      std::size_t used = 0;
      const double v = std::stod(part, &used);
      const bool ok = used == part.size() && std::isfinite(v) && (!kIntegral || (v > 0 && std::floor(v) == v));
      if (!ok) throw std::invalid_argument(part);
      out.push_back(static_cast<T>(v));
    } catch (const std::exception&) {
      throw CLI::ValidationError(flag, std::string("expected a comma-separated list of ") +
                                           (kIntegral ? "positive whole numbers like 200,600" : "numbers like 0,2,4") +
                                           ", got '" + text + "'");
    }
  }
  if (out.empty()) throw CLI::ValidationError(flag, "empty list");
  return out;
}

/// A validator for a whole-number flag >= `min`: "'-1' is not a whole number >= 0" (CLI11's NonNegativeNumber
/// and PositiveNumber print their double range, "0.000000 to 1797693…").
inline CLI::Validator wholeNumberAtLeast(long long min) {
  return CLI::Validator(
      [min](std::string& text) {
        std::size_t used = 0;
        long long v = 0;
        try {
          v = std::stoll(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size() || v < min)
          return "'" + text + "' is not a whole number >= " + std::to_string(min);
        return std::string();
      },
      "INT>=" + std::to_string(min));
}

/// CPU seconds used by this process so far (all threads).
using train::cpuSeconds;

/// The flags every training example has: --seed, --threads, --save, --load, --report (the loop's flags,
/// --log among them, are LoopFlags in training.hpp).
inline void addRunFlags(CLI::App& app, std::uint64_t& seed, int& threads, std::string& save, std::string& load,
                        std::string& report) {
  app.add_option("--seed", seed, "seed of every random number")->capture_default_str()->check(wholeNumberAtLeast(0));
  app.add_option("--threads", threads, "OpenMP threads (0: all cores)")->capture_default_str();
  app.add_option("--save", save, "write the best model's checkpoint here (atomically)");
  app.add_option("--load", load, "start from this checkpoint's parameters (with --epochs 0: evaluate only)");
  app.add_option("--report", report, "JSON report (metrics keyed like test.recall@20 or test.hr@10, timings, peak memory)");
}

/// --data FOLDER, or --synthetic NAME: a synthetic MovieLens release of GroupLens' published shape
/// (data/synthetic.hpp, seed 1), generated into the cache folder the first time and loaded from there after;
/// and --memory-limit GIB (setMemoryBudget()).
struct DataFlags {
  std::string data, synthetic;
  double memoryLimitGiB = 0.0;

  void add(CLI::App& app, const std::string& dataHelp) {
    auto* d = app.add_option("--data", data, dataHelp);
    app.add_option("--synthetic", synthetic, "ml-10m | ml-20m | ml-25m | ml-32m: a synthetic release with GroupLens' "
                   "published counts instead of --data (generated once into $RECDIFF_CACHE_DIR or ~/.cache/recdiff)")
        ->excludes(d);
    app.add_option("--memory-limit", memoryLimitGiB, "GiB the process may grow to (0: no limit beyond what the machine "
                   "has): larger allocations are refused up front with their estimate (recdiff/memory.hpp)")
        ->check(CLI::NonNegativeNumber)
        ->each([](const std::string& v) { setMemoryBudget(static_cast<std::uint64_t>(std::stod(v) * 1073741824.0)); });
  }
  /// The folder to load (generating the synthetic release when it is not cached yet).
  std::string folder() const {
    if (synthetic.empty() == data.empty()) throw CLI::ValidationError("--data", "give --data FOLDER or --synthetic NAME");
    if (!data.empty()) return data;
    try {
      const auto folder = data::ensureSyntheticMovieLens(synthetic, 1);
      std::fprintf(stderr, "synthetic %s (not GroupLens data): %s\n", synthetic.c_str(), folder.c_str());
      return folder.string();
    } catch (const std::exception& e) {
      throw CLI::ValidationError("--synthetic", e.what());
    }
  }
};

/// Applies --threads (0: keep OpenMP's default) and replaces it by the thread count in use; false (after a
/// message naming `program`) when it is negative.
inline bool setThreads(int& threads, const char* program) {
  if (threads < 0) {
    std::fprintf(stderr, "%s: --threads must be >= 0\n", program);
    return false;
  }
#if defined(_OPENMP)
  if (threads > 0) omp_set_num_threads(threads);
  threads = omp_get_max_threads();
#else
  threads = 1;
#endif
  return true;
}

}  // namespace recdiff::examples

#endif  // RECDIFF_EXAMPLES_COMMON_CLI_HPP
