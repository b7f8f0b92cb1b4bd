#ifndef RECDIFF_TESTS_DATA_TEMP_FILES_HPP
#define RECDIFF_TESTS_DATA_TEMP_FILES_HPP
// Temporary files for the loader tests (malformed inputs are generated, never committed), and the fixtures.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace recdiff::test {

/// A fresh folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("recdiff-data-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// Writes `bytes` to <dir>/<name> and returns the full path.
  std::string write(const std::string& name, std::string_view bytes) const {
    const auto p = path_ / name;
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p.string();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// tests/data/fixtures of this source tree.
inline std::filesystem::path fixtures() {
  return std::filesystem::path(RECDIFF_TEST_SOURCE_DIR) / "tests" / "data" / "fixtures";
}

}  // namespace recdiff::test

#endif
