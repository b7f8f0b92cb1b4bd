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
#include <initializer_list>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <recdiff/io/checkpoint.hpp>

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

/// Creates the folder of each output file given (`flag`, path; empty paths are skipped) before any work starts,
/// so that an unusable --report / --save / --log path fails at once rather than after training. Throws
/// CLI::ValidationError naming the flag, the path and the system's reason.
inline void requireOutputFolders(std::initializer_list<std::pair<const char*, std::string>> outputs) {
  for (const auto& [flag, file] : outputs) {
    if (file.empty()) continue;
    const std::filesystem::path path(file);
    if (std::filesystem::is_directory(path))
      throw CLI::ValidationError(flag, "'" + file + "' is a folder; give a file name");
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
      throw CLI::ValidationError(flag, "cannot write '" + file + "': cannot create its folder " + dir.string() + ": " +
                                           (ec ? ec.message() : std::string("not a folder")));
  }
}

/// Writes `text` to `path` atomically (io::detail::writeFileAtomically: a temporary file beside it, fsync'ed,
/// renamed, the folder fsync'ed), creating the folder first. Throws std::runtime_error naming the path.
inline void writeFileAtomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("cannot write " + path.string() + ": cannot create its folder " + dir.string() + ": " +
                             ec.message());
  io::detail::writeFileAtomically(path, std::vector<unsigned char>(text.begin(), text.end()), "report");
}

/// Writes a JSON document (nlohmann::json or ordered_json) atomically, indented by 2, with a final newline.
template <class Json>
void writeJsonAtomically(const std::filesystem::path& path, const Json& json) {
  writeFileAtomically(path, json.dump(2) + "\n");
}

}  // namespace recdiff::examples

#endif
