#ifndef RECDIFF_TESTS_RELIABILITY_FIXTURES_HPP
#define RECDIFF_TESTS_RELIABILITY_FIXTURES_HPP
// Small files for the reliability tests: a model checkpoint and a training state of ~130 bytes each, written and
// loaded through the library's own functions, in a fresh folder per test case.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include <recdiff/io/checkpoint.hpp>
#include <recdiff/io/state_archive.hpp>

namespace recdiff::test::reliability {

namespace fs = std::filesystem;

/// A fresh folder per test case, removed at the end.
struct TempDir {
  explicit TempDir(const char* tag) {
    static int counter = 0;
    path = fs::temp_directory_path() /
           (std::string("recdiff_") + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  /// The names of every entry in the folder (a leftover temporary file shows up here).
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path)) names.push_back(e.path().filename().string());
    return names;
  }
  fs::path path;
};

inline std::string readBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
inline void writeBytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// A 2 × 3 tensor whose six parameters are all `generation` (so a torn file would mix two generations).
inline nn::ParameterBuffer<double> tinyParameters(double generation) {
  nn::ParameterBuffer<double> p(6);
  p.values().setConstant(generation);
  return p;
}
inline io::CheckpointMetadata tinyMetadata() { return {"Tiny", {{"w", {2, 3}}}, {{"k", "v"}}}; }
inline void saveTinyCheckpoint(const fs::path& file, double generation) {
  io::saveCheckpoint(file, tinyParameters(generation), tinyMetadata());
}
/// Loads the tiny checkpoint and returns its (single) generation; throws DataError when damaged and
/// std::logic_error when the six values are not all equal.
inline double loadTinyCheckpoint(const fs::path& file) {
  nn::ParameterBuffer<double> p(6);
  io::loadCheckpoint(file, p, "Tiny", tinyMetadata().shapes);
  for (Index i = 1; i < 6; ++i)
    if (p.values()(i) != p.values()(0)) throw std::logic_error("a checkpoint mixes two generations");
  return p.values()(0);
}

/// A training state whose "model" section holds 16 bytes, all `generation`.
inline io::StateFile tinyState(unsigned char generation) {
  io::StateFile f{.modelType = "Tiny", .fingerprint = "00ff00ff00ff00ff", .hyperparameters = {{"k", "v"}}, .sections = {}};
  f.sections["model"] = std::vector<unsigned char>(16, generation);
  return f;
}
/// Reads the tiny state and returns its generation (throws like loadTinyCheckpoint).
inline unsigned char loadTinyState(const fs::path& file) {
  const io::StateFile f = io::readStateFile(file);
  io::requireCompatible(f, tinyState(0), file.string());
  const auto& s = f.sections.at("model");
  if (s.size() != 16) throw std::logic_error("a training state section has another size");
  for (const unsigned char c : s)
    if (c != s[0]) throw std::logic_error("a training state mixes two generations");
  return s[0];
}

}  // namespace recdiff::test::reliability

#endif  // RECDIFF_TESTS_RELIABILITY_FIXTURES_HPP
