#ifndef RECDIFF_TESTS_DATA_TEMP_FILES_HPP
#define RECDIFF_TESTS_DATA_TEMP_FILES_HPP
// Temporary files for the loader tests (malformed inputs are generated, never committed), and the fixtures.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <stdexcept>
#include <string_view>
#include <utility>
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

/// Hand-written fixtures in the MovieLens formats, with invented ids, ratings, timestamps and titles (nothing
/// comes from GroupLens' data). They are written to a temporary folder at first use rather than committed
/// as files, so that no file named like a MovieLens release is ever tracked:
///   ml-100k-tiny/  u.data (tab) and u.item (24 '|' fields): 3 users, 3 items, 7 ratings; Latin-1 bytes 0xE9, 0xEF
///   ml-1m-tiny/    ratings.dat, movies.dat, users.dat ('::'): 2 users, 3 items, 4 ratings; Latin-1 0xE2, 0xE9
///   ml-csv-tiny/   ratings.csv, movies.csv with headers: quoted titles with a comma and doubled quotes
///   crlf/          u.data with CRLF line ends (must load like LF)
inline std::filesystem::path fixtures() {
  static const std::filesystem::path root = [] {
    static const std::pair<const char*, std::string_view> kFiles[] = {
    {"crlf/u.data",
      "1\t10\t5\t881250949\r\n"
      "1\t20\t3\t881250950\r\n"
      "2\t10\t4\t881250960\r\n"
      ""},
    {"ml-100k-tiny/u.data",
      "1\t10\t5\t881250949\n"
      "1\t20\t3\t881250950\n"
      "2\t10\t4\t881250960\n"
      "2\t30\t1\t881250940\n"
      "3\t20\t4\t881250970\n"
      "3\t30\t5\t881250971\n"
      "3\t10\t2\t881250972\n"
      ""},
    {"ml-100k-tiny/u.item",
      "10|Caf\xE9"" Society (1995)|01-Jan-1995||http://example.invalid/10|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n"
      "20|Plain Title (1996)|01-Jan-1996||http://example.invalid/20|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n"
      "30|Na\xEF""ve (1997)|01-Jan-1997||http://example.invalid/30|0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0\n"
      ""},
    {"ml-1m-tiny/movies.dat",
      "100::P\xE2""t\xE9"" (2000)::Comedy\n"
      "200::Second::Drama\n"
      "300::Third::Drama|Comedy\n"
      ""},
    {"ml-1m-tiny/ratings.dat",
      "1::100::5::978300760\n"
      "1::200::3::978302109\n"
      "2::100::4::978301968\n"
      "2::300::4::978300275\n"
      ""},
    {"ml-1m-tiny/users.dat",
      "1::F::1::10::48067\n"
      "2::M::56::16::70072\n"
      ""},
    {"ml-csv-tiny/movies.csv",
      "movieId,title,genres\n"
      "1,\"American President, The (1995)\",Comedy|Drama\n"
      "3,\"Say \"\"Hello\"\" (1999)\",Comedy\n"
      "4,Plain (2001),Drama\n"
      ""},
    {"ml-csv-tiny/ratings.csv",
      "userId,movieId,rating,timestamp\n"
      "1,1,4.0,964982703\n"
      "1,3,4.5,964981247\n"
      "2,1,2.5,964982224\n"
      ""},
    };
    const auto dir = std::filesystem::temp_directory_path() /
                     ("recdiff-fixtures-" + std::to_string(static_cast<long long>(::getpid())));
    for (const auto& [name, text] : kFiles) {
      const auto file = dir / name;
      std::filesystem::create_directories(file.parent_path());
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out.write(text.data(), static_cast<std::streamsize>(text.size()));
      if (!out) throw std::runtime_error("cannot write the test fixture " + file.string());
    }
    return dir;
  }();
  return root;
}

}  // namespace recdiff::test

#endif
