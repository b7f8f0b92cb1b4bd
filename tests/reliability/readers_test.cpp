// Readers of checkpoints (issue 22): while a writer replaces a file many times, readers in other threads and in
// a child process always load a complete file, the old or the new one (the loaders verify the checksum, and
// every file holds one generation only, so a torn file cannot pass); and a model checkpoint truncated at every
// length or with a bit flipped in every byte is refused with a message naming the file.

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "reliability_fixtures.hpp"
#include "support/catch.hpp"

namespace {

using namespace recdiff::test::reliability;
namespace io = recdiff::io;

/// What a reader saw: the number of loads, generations going backwards, and the first failure's message.
struct ReaderLog {
  long loads = 0;
  long backwards = 0;
  std::string failure;
};

/// Loads `file` with `load` until `stop`, checking that generations never go backwards.
template <class Load>
ReaderLog readUntil(const fs::path& file, Load load, const std::atomic<bool>& stop) {
  ReaderLog log;
  int last = -1;
  while (!stop.load()) {
    try {
      const int g = load(file);
      if (g < last) ++log.backwards;
      last = g;
      ++log.loads;
    } catch (const std::exception& e) {
      if (log.failure.empty()) log.failure = e.what();
    }
  }
  return log;
}

template <class Write, class Load>
void checkConcurrentReaders(Write write, Load load, int generations) {
  TempDir dir("readers");
  const fs::path file = dir.path / "model.bin";
  write(file, 0);
  // A child process reads too (its own file descriptors and page-cache view); it exits 0 only when every load
  // it made succeeded, 1 when one failed, 2 when it loaded nothing. Forked before any thread starts.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::atomic<bool> childStop{false};
    std::thread timer([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      childStop = true;
    });
    const ReaderLog log = readUntil(file, load, childStop);
    timer.join();
    ::_exit(!log.failure.empty() || log.backwards > 0 ? 1 : log.loads == 0 ? 2 : 0);
  }

  std::atomic<bool> stop{false};
  std::vector<ReaderLog> logs(2);
  std::vector<std::thread> readers;
  for (auto& log : logs) readers.emplace_back([&, l = &log] { *l = readUntil(file, load, stop); });
  for (int g = 1; g <= generations; ++g) write(file, g);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  stop = true;
  for (auto& t : readers) t.join();
  for (const auto& log : logs) {
    INFO("first failure: " << log.failure);
    CHECK(log.failure.empty());
    CHECK(log.backwards == 0);
    CHECK(log.loads > 0);
  }
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(load(file) == generations);
  CHECK(dir.entries() == std::vector<std::string>{"model.bin"});
}

/// The DataError message of loading `file`, or "" when it loaded.
std::string refusal(const fs::path& file) {
  try {
    (void)loadTinyCheckpoint(file);
  } catch (const recdiff::DataError& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("Readers of a model checkpoint being replaced see the old or the new file, never a torn one",
          "[reliability][io][checkpoint]") {
  checkConcurrentReaders([](const fs::path& f, int g) { saveTinyCheckpoint(f, g); },
                         [](const fs::path& f) { return static_cast<int>(loadTinyCheckpoint(f)); }, 400);
}

TEST_CASE("Readers of a training state being replaced see the old or the new file, never a torn one",
          "[reliability][io][state]") {
  checkConcurrentReaders([](const fs::path& f, int g) { io::writeStateFile(f, tinyState(static_cast<unsigned char>(g))); },
                         [](const fs::path& f) { return static_cast<int>(loadTinyState(f)); }, 250);
}

TEST_CASE("A model checkpoint truncated at every length, or with a bit flipped in any byte, is refused",
          "[reliability][io][checkpoint]") {
  TempDir dir("damage");
  const fs::path good = dir.path / "good.rdc", bad = dir.path / "bad.rdc";
  saveTinyCheckpoint(good, 3);
  const std::string bytes = readBytes(good);
  REQUIRE(loadTinyCheckpoint(good) == 3);
  for (std::size_t keep = 0; keep < bytes.size(); ++keep) {
    INFO("the first " << keep << " of " << bytes.size() << " bytes");
    writeBytes(bad, bytes.substr(0, keep));
    const std::string message = refusal(bad);
    CHECK_THAT(message, Catch::StartsWith(bad.string() + ": "));
    CHECK_THAT(message, Catch::Contains(keep < sizeof(io::kCheckpointMagic) ? "bad magic" : "truncated"));
  }
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      INFO("bit " << bit << " of byte " << at << " of " << bytes.size());
      std::string damaged = bytes;
      damaged[at] = static_cast<char>(damaged[at] ^ (1 << bit));
      writeBytes(bad, damaged);
      const std::string message = refusal(bad);
      CHECK_THAT(message, Catch::StartsWith(bad.string() + ": "));
      CHECK_THAT(message, Catch::Contains("magic") || Catch::Contains("version") || Catch::Contains("corrupted") ||
                              Catch::Contains("truncated") || Catch::Contains("checksum") ||
                              Catch::Contains("expected 'Tiny'") || Catch::Contains("shapes do not match"));
    }
  }
  writeBytes(bad, bytes + '\0');
  CHECK_THAT(refusal(bad), Catch::Contains("1 unexpected trailing bytes"));
}
