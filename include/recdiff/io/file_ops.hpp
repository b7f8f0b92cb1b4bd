#ifndef RECDIFF_IO_FILE_OPS_HPP
#define RECDIFF_IO_FILE_OPS_HPP

/// \file file_ops.hpp
/// The low-level file operations behind detail::writeFileAtomically (checkpoint.hpp: model checkpoints, and
/// state_archive.hpp: training states), as a small interface so that tests can inject a failure at any point
/// (a short write, ENOSPC, EIO from fsync, a failing rename or close) and check that the previous file survives.
///
/// The default is PosixFileOps: the POSIX calls, nothing else. Nothing is injected unless a test installs its
/// own FileOps with ScopedFileOps; the cost when nothing is injected is one virtual call per system call.
/// Installing is process-wide and not synchronised: a test installs its ops while no other thread writes files.
///
/// Usage (tests):
///   struct FailingRename : io::PosixFileOps {
///     int rename(const char*, const char*) override { errno = EXDEV; return -1; }
///   } ops;
///   io::ScopedFileOps inject(ops);      // until the end of the scope
///   io::saveCheckpoint(file, params, meta);   // throws, naming rename, the paths and strerror(EXDEV)

#include <cstdio>

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

namespace recdiff::io {

/// The file operations of an atomic write. Each returns what its POSIX namesake returns and sets errno as it
/// does; a fake that fails must set errno.
class FileOps {
 public:
  virtual ~FileOps() = default;
  virtual int open(const char* path, int flags, mode_t mode) { return ::open(path, flags, mode); }
  virtual ssize_t write(int fd, const void* data, std::size_t n) { return ::write(fd, data, n); }
  /// fsync of a written file (`directory` false) or of the folder that holds it after the rename (true).
  virtual int fsync(int fd, bool /*directory*/) { return ::fsync(fd); }
  virtual int close(int fd) { return ::close(fd); }
  virtual int rename(const char* from, const char* to) { return std::rename(from, to); }
  virtual int unlink(const char* path) { return ::unlink(path); }
};

/// The POSIX implementation (FileOps' defaults).
class PosixFileOps : public FileOps {};

namespace detail {
inline FileOps*& installedFileOps() noexcept {
  static FileOps* ops = nullptr;
  return ops;
}
}  // namespace detail

/// The file operations in use: the installed ones, or POSIX.
inline FileOps& fileOps() noexcept {
  static PosixFileOps posix;
  FileOps* ops = detail::installedFileOps();
  return ops != nullptr ? *ops : posix;
}

/// Installs `ops` for its lifetime and restores the previous ones after it.
class ScopedFileOps {
 public:
  explicit ScopedFileOps(FileOps& ops) noexcept : previous_(detail::installedFileOps()) {
    detail::installedFileOps() = &ops;
  }
  ~ScopedFileOps() { detail::installedFileOps() = previous_; }
  ScopedFileOps(const ScopedFileOps&) = delete;
  ScopedFileOps& operator=(const ScopedFileOps&) = delete;

 private:
  FileOps* previous_;
};

}  // namespace recdiff::io

#endif  // RECDIFF_IO_FILE_OPS_HPP
