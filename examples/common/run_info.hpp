#ifndef RECDIFF_EXAMPLES_COMMON_RUN_INFO_HPP
#define RECDIFF_EXAMPLES_COMMON_RUN_INFO_HPP
// Shared by the example binaries: wall-clock timing, peak resident memory, medians, and atomic writing of
// the --report JSON file (temporary file in the same folder, then rename: a reader never sees half a file).

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace recdiff::examples {

/// Seconds since construction (steady clock).
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  void reset() { start_ = std::chrono::steady_clock::now(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

/// Peak resident set size of this process in bytes (getrusage: ru_maxrss is in KiB on Linux).
inline long long peakRssBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<long long>(usage.ru_maxrss) * 1024LL;
}

/// Median of a list of values (0 when empty).
inline double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Writes `text` to `path` atomically: a temporary file beside it, flushed and closed, then renamed.
inline void writeFileAtomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (!dir.empty()) std::filesystem::create_directories(dir);
  const std::filesystem::path tmp = dir / ("." + path.filename().string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("writing " + tmp.string() + " failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw std::runtime_error("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
  }
}

/// Writes a JSON document (nlohmann::json or ordered_json) atomically, indented by 2, with a final newline.
template <class Json>
void writeJsonAtomically(const std::filesystem::path& path, const Json& json) {
  writeFileAtomically(path, json.dump(2) + "\n");
}

}  // namespace recdiff::examples

#endif
