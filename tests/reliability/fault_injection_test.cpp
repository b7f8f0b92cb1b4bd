// Fault injection on every write (issue 22): detail::writeFileAtomically, behind model checkpoints and training
// states, with a failure injected at every system call it makes (each with the errnos that call can really
// return) and a short write at every byte offset. Each failure must throw a message that names the file, the
// operation and the system's reason, leave the previous file byte for byte as it was and loadable, and leave no
// temporary file behind.

#include <cerrno>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <recdiff/io/file_ops.hpp>

#include "reliability_fixtures.hpp"
#include "support/catch.hpp"

namespace {

using namespace recdiff::test::reliability;
namespace io = recdiff::io;

/// POSIX, with one failure injected: call number `failAt` (0-based, counted over every call) returns -1 with
/// `error`; or, with `byteLimit` set, the write that crosses byte `byteLimit` writes up to it and the next
/// write fails with ENOSPC (or returns 0 when `zeroWrite`). `chunk` > 0 caps every write and interleaves EINTR.
struct FaultyOps : io::FileOps {
  struct Call {
    std::string name;
    bool directory = false;
  };
  std::vector<Call> calls;
  long failAt = -1;
  int error = 0;
  long byteLimit = -1;
  bool zeroWrite = false;
  std::size_t chunk = 0;
  std::size_t bytesWritten = 0;
  bool interrupted = false;

  bool failNow(const char* name, bool directory = false) {
    calls.push_back({name, directory});
    if (static_cast<long>(calls.size()) - 1 != failAt) return false;
    errno = error;
    return true;
  }
  int open(const char* path, int flags, mode_t mode) override {
    const bool directory = (flags & O_DIRECTORY) != 0;
    return failNow("open", directory) ? -1 : io::FileOps::open(path, flags, mode);
  }
  ssize_t write(int fd, const void* data, std::size_t n) override {
    if (failNow("write")) return -1;
    if (chunk > 0) {
      if (!interrupted) {
        interrupted = true;
        errno = EINTR;
        return -1;
      }
      interrupted = false;
      n = std::min(n, chunk);
    }
    if (byteLimit >= 0) {
      const auto limit = static_cast<std::size_t>(byteLimit);
      if (bytesWritten >= limit) {
        if (zeroWrite) return 0;
        errno = ENOSPC;
        return -1;
      }
      n = std::min(n, limit - bytesWritten);
    }
    const ssize_t w = io::FileOps::write(fd, data, n);
    if (w > 0) bytesWritten += static_cast<std::size_t>(w);
    return w;
  }
  int fsync(int fd, bool directory) override {
    return failNow("fsync", directory) ? -1 : io::FileOps::fsync(fd, directory);
  }
  int close(int fd) override {
    const bool fail = failNow("close");
    const int r = io::FileOps::close(fd);  // Linux frees the descriptor even when close reports an error
    if (fail) {
      errno = error;
      return -1;
    }
    return r;
  }
  int rename(const char* from, const char* to) override {
    return failNow("rename") ? -1 : io::FileOps::rename(from, to);
  }
  int unlink(const char* path) override { return io::FileOps::unlink(path); }  // cleanup never fails here
};

/// The errnos each call can return on a full, broken or read-only disk.
std::vector<int> errorsOf(const std::string& call) {
  if (call == "open") return {EACCES, EMFILE, ENOSPC, EROFS};
  if (call == "write") return {ENOSPC, EIO, EDQUOT, EFBIG};
  if (call == "fsync") return {EIO, ENOSPC};
  if (call == "close") return {EIO, EDQUOT};
  if (call == "rename") return {EXDEV, EACCES, EIO, ENOSPC};
  return {};
}

/// One kind of file: how to write generation `g` of it and load it back (returning its generation).
struct Kind {
  const char* name;
  std::function<void(const fs::path&, int)> write;
  std::function<int(const fs::path&)> load;
};

Kind checkpointKind() {
  return {"model checkpoint", [](const fs::path& f, int g) { saveTinyCheckpoint(f, g); },
          [](const fs::path& f) { return static_cast<int>(loadTinyCheckpoint(f)); }};
}
Kind stateKind() {
  return {"training state", [](const fs::path& f, int g) { io::writeStateFile(f, tinyState(static_cast<unsigned char>(g))); },
          [](const fs::path& f) { return static_cast<int>(loadTinyState(f)); }};
}

/// Writes generation 2 over generation 1 with `ops` injected; returns the message it threw ("" if none).
std::string failedWrite(const Kind& kind, const fs::path& file, FaultyOps& ops) {
  io::ScopedFileOps inject(ops);
  try {
    kind.write(file, 2);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return {};
}

void checkEveryCallFailing(const Kind& kind, bool previousExists) {
  TempDir dir("fault");
  const fs::path file = dir.path / "state.bin";
  const std::string fileName = fs::absolute(file).string();
  // The calls of one write, as they happen.
  FaultyOps recorder;
  {
    io::ScopedFileOps inject(recorder);
    kind.write(file, 1);
  }
  REQUIRE(recorder.calls.size() == 8);  // open, write, fsync, close, rename, open/fsync/close of the folder
  const std::string previous = readBytes(file);
  if (!previousExists) fs::remove(file);
  long renameAt = -1;
  for (std::size_t i = 0; i < recorder.calls.size(); ++i)
    if (recorder.calls[i].name == "rename") renameAt = static_cast<long>(i);
  REQUIRE(renameAt == 4);

  int failures = 0;
  for (std::size_t i = 0; i < recorder.calls.size(); ++i) {
    const auto& call = recorder.calls[i];
    for (const int error : errorsOf(call.name)) {
      INFO(kind.name << ": call " << i << " (" << call.name << (call.directory ? " of the folder" : "") << ") fails with "
                     << std::strerror(error) << (previousExists ? "" : ", no previous file"));
      FaultyOps ops;
      ops.failAt = static_cast<long>(i);
      ops.error = error;
      const std::string message = failedWrite(kind, file, ops);
      REQUIRE_FALSE(message.empty());
      ++failures;
      CHECK_THAT(message, Catch::Contains(fileName));
      CHECK_THAT(message, Catch::Contains(call.name + "("));
      CHECK_THAT(message, Catch::EndsWith(std::strerror(error)));
      const std::vector<std::string> expected =
          previousExists || static_cast<long>(i) > renameAt ? std::vector<std::string>{"state.bin"}
                                                             : std::vector<std::string>{};
      CHECK(dir.entries() == expected);  // no temporary file left behind
      if (static_cast<long>(i) <= renameAt) {
        // Before the file is renamed into place: the previous file is untouched.
        if (previousExists) {
          CHECK(readBytes(file) == previous);
          CHECK(kind.load(file) == 1);
        }
      } else {
        // The folder's sync failed after the rename: the new file is complete, and the message says so.
        CHECK_THAT(message, Catch::Contains("the new file is in place"));
        CHECK(kind.load(file) == 2);
        if (previousExists) writeBytes(file, previous);
        else fs::remove(file);
      }
    }
  }
  CHECK(failures == 4 + 4 + 2 + 2 + 4 + 1 * 4 + 2 + 2);  // every errno of every call was injected
}

void checkShortWriteAtEveryByte(const Kind& kind) {
  TempDir dir("short");
  const fs::path file = dir.path / "state.bin";
  kind.write(file, 2);
  const std::size_t size = readBytes(file).size();
  kind.write(file, 1);
  const std::string previous = readBytes(file);
  REQUIRE(size > 64);
  REQUIRE(size < 200);
  for (const bool zero : {false, true}) {
    for (std::size_t at = 0; at < size; ++at) {
      INFO(kind.name << ": the disk fills up after " << at << " of " << size << " bytes" << (zero ? " (write returns 0)" : ""));
      FaultyOps ops;
      ops.byteLimit = static_cast<long>(at);
      ops.zeroWrite = zero;
      const std::string message = failedWrite(kind, file, ops);
      REQUIRE_FALSE(message.empty());
      CHECK_THAT(message, Catch::Contains(fs::absolute(file).string()));
      CHECK_THAT(message, Catch::Contains("write(") && Catch::Contains(" after " + std::to_string(at) + " of " +
                                                                        std::to_string(size) + " bytes"));
      CHECK_THAT(message, Catch::EndsWith(std::strerror(zero ? EIO : ENOSPC)));
      CHECK(readBytes(file) == previous);
      CHECK(kind.load(file) == 1);
      CHECK(dir.entries() == std::vector<std::string>{"state.bin"});
    }
  }
  // Writes of at most 7 bytes, each call interrupted once (EINTR) before it goes through: the file is complete.
  FaultyOps slow;
  slow.chunk = 7;
  CHECK(failedWrite(kind, file, slow).empty());
  CHECK(kind.load(file) == 2);
  CHECK(slow.calls.size() > 2 * (size / 7));
  CHECK(dir.entries() == std::vector<std::string>{"state.bin"});
}

}  // namespace

TEST_CASE("Fault injection: a checkpoint write failing at any system call keeps the previous file",
          "[reliability][io][checkpoint]") {
  checkEveryCallFailing(checkpointKind(), true);
  checkEveryCallFailing(checkpointKind(), false);
}

TEST_CASE("Fault injection: a training-state write failing at any system call keeps the previous file",
          "[reliability][io][state]") {
  checkEveryCallFailing(stateKind(), true);
  checkEveryCallFailing(stateKind(), false);
}

TEST_CASE("Fault injection: a checkpoint write cut short at every byte keeps the previous file",
          "[reliability][io][checkpoint]") {
  checkShortWriteAtEveryByte(checkpointKind());
}

TEST_CASE("Fault injection: a training-state write cut short at every byte keeps the previous file",
          "[reliability][io][state]") {
  checkShortWriteAtEveryByte(stateKind());
}

TEST_CASE("Fault injection: nothing is injected by default and the scope restores the previous ops", "[reliability][io]") {
  FaultyOps a, b;
  CHECK(dynamic_cast<FaultyOps*>(&io::fileOps()) == nullptr);
  {
    io::ScopedFileOps outer(a);
    CHECK(&io::fileOps() == &a);
    {
      io::ScopedFileOps inner(b);
      CHECK(&io::fileOps() == &b);
    }
    CHECK(&io::fileOps() == &a);
  }
  CHECK(dynamic_cast<FaultyOps*>(&io::fileOps()) == nullptr);
}
