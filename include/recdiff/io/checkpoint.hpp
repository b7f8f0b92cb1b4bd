#ifndef RECDIFF_IO_CHECKPOINT_HPP
#define RECDIFF_IO_CHECKPOINT_HPP

/// \file checkpoint.hpp
/// Checkpoints: a model's flat ParameterBuffer plus what is needed to rebuild and validate it, in a versioned
/// little-endian binary file.
///
/// Layout (format version 1):
///   magic        8 bytes   "RECDIFF\x1a"
///   version      u32       kCheckpointVersion
///   scalarBytes  u32       4 (float) or 8 (double)
///   modelType    string    u32 length + bytes, e.g. "DiffRecMlp"
///   shapes       u32 count, then per tensor: string name, u32 rank, rank × i64 dims
///   hyperparams  u32 count, then per entry: string key, string value (sorted by key)
///   count        i64       number of scalars in the payload (= Σ shape sizes)
///   payload      count × scalarBytes, IEEE-754 little-endian
///   checksum     u64       FNV-1a 64 of every byte before it
/// Writing is atomic: a temporary file in the destination folder is written, flushed to disk and renamed over
/// the destination. Loading validates everything (magic, version, bounds, checksum, model type, shapes) before
/// it touches the model; any failure throws recdiff::DataError naming the file and the problem.
///
/// Usage:
///   io::saveCheckpoint("model.rdc", model.parameters(), {"DiffRecMlp", model.parameterShapes(), model.hyperparameters()});
///   const auto info = io::readCheckpointInfo("model.rdc");              // header only: rebuild the model from it
///   io::loadCheckpoint("model.rdc", model.parameters(), "DiffRecMlp", model.parameterShapes());

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "../error.hpp"
#include "../nn/parameters.hpp"
#include "../types.hpp"
#include "file_ops.hpp"

namespace recdiff::io {

inline constexpr char kCheckpointMagic[8] = {'R', 'E', 'C', 'D', 'I', 'F', 'F', '\x1a'};
inline constexpr std::uint32_t kCheckpointVersion = 1;

/// What a checkpoint says about its model.
struct CheckpointMetadata {
  std::string modelType;                            ///< e.g. "DiffRecMlp"
  std::vector<nn::ParameterShape> shapes;           ///< parameter tensors in buffer order
  std::map<std::string, std::string> hyperparameters;
};

/// The header of a checkpoint file.
struct CheckpointInfo : CheckpointMetadata {
  std::uint32_t version = 0;
  std::uint32_t scalarBytes = 0;
  Index parameterCount = 0;
};

namespace detail {

inline std::uint64_t fnv1a64(const unsigned char* data, std::size_t n, std::uint64_t h = 0xcbf29ce484222325ull) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

/// Appends little-endian encodings to a byte vector.
class Writer {
 public:
  template <class T>
  void put(T v) {
    static_assert(std::is_arithmetic_v<T>);
    unsigned char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(b, b + sizeof(T));
    append(b, sizeof(T));
  }
  void putString(const std::string& s) {
    put(static_cast<std::uint32_t>(s.size()));
    append(s.data(), s.size());
  }
  // resize + memcpy rather than vector::insert: GCC 12 at -O3 reports a false -Wstringop-overflow for the
  // inlined insert of a small array (GCC bug 105651).
  void append(const void* data, std::size_t n) {
    if (n == 0) return;
    const std::size_t at = bytes.size();
    bytes.resize(at + n);
    std::memcpy(bytes.data() + at, data, n);
  }
  std::vector<unsigned char> bytes;
};

/// Bounds-checked little-endian reader; every overrun is a "truncated" DataError.
class Reader {
 public:
  Reader(const std::vector<unsigned char>& bytes, std::size_t end, std::string file)
      : bytes_(bytes), end_(end), file_(std::move(file)) {}

  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    unsigned char b[sizeof(T)];
    std::memcpy(b, bytes_.data() + pos_, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) std::reverse(b, b + sizeof(T));
    pos_ += sizeof(T);
    T v;
    std::memcpy(&v, b, sizeof(T));
    return v;
  }
  std::string getString(const char* what) {
    const auto n = get<std::uint32_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  void need(std::uint64_t n, const char* what) const {
    if (n > end_ - pos_)
      throw DataError(file_, 0,
                      recdiff::detail::concat("truncated checkpoint: ", what, " needs ", n, " bytes at offset ", pos_,
                                              " but only ", end_ - pos_, " remain"));
  }
  std::size_t position() const noexcept { return pos_; }
  void skip(std::size_t n) { pos_ += n; }

 private:
  const std::vector<unsigned char>& bytes_;
  std::size_t end_;
  std::size_t pos_ = 0;
  std::string file_;
};

inline std::uint64_t nextTempId() {
  static std::atomic<std::uint64_t> counter{0};
  return counter++;
}

/// The whole file; a missing, unreadable or non-regular file is a DataError with the system's reason.
inline std::vector<unsigned char> readFile(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    throw DataError(file.string(), 0, "cannot read: it is a directory, not a file");
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw DataError(file.string(), 0, recdiff::detail::concat("cannot open for reading: ",
                                                              std::generic_category().message(errno ? errno : ENOENT)));
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw DataError(file.string(), 0, "reading failed (I/O error)");
  return bytes;
}

inline std::string describe(const std::vector<nn::ParameterShape>& shapes) {
  std::ostringstream os;
  for (std::size_t k = 0; k < shapes.size(); ++k) {
    os << (k ? ", " : "") << shapes[k].name << '[';
    for (std::size_t i = 0; i < shapes[k].dims.size(); ++i) os << (i ? "x" : "") << shapes[k].dims[i];
    os << ']';
  }
  return os.str();
}

/// Parses and validates the header; leaves the reader at the payload. Checks the checksum over the whole file.
inline CheckpointInfo parseHeader(const std::vector<unsigned char>& bytes, const std::string& file, Reader& r) {
  const std::size_t magicSize = sizeof(kCheckpointMagic);
  if (bytes.size() < magicSize || std::memcmp(bytes.data(), kCheckpointMagic, magicSize) != 0)
    throw DataError(file, 0, "not a recdiff checkpoint (bad magic bytes)");
  r.skip(magicSize);
  CheckpointInfo info;
  info.version = r.get<std::uint32_t>("format version");
  if (info.version != kCheckpointVersion)
    throw DataError(file, 0, recdiff::detail::concat("checkpoint format version ", info.version,
                                                     " is not supported (this build reads version ",
                                                     kCheckpointVersion, ")"));
  info.scalarBytes = r.get<std::uint32_t>("scalar size");
  if (info.scalarBytes != 4 && info.scalarBytes != 8)
    throw DataError(file, 0, recdiff::detail::concat("corrupted checkpoint: scalar size ", info.scalarBytes));
  info.modelType = r.getString("model type");
  const auto nShapes = r.get<std::uint32_t>("shape count");
  Index total = 0;
  for (std::uint32_t i = 0; i < nShapes; ++i) {
    nn::ParameterShape s;
    s.name = r.getString("shape name");
    const auto rank = r.get<std::uint32_t>("shape rank");
    r.need(static_cast<std::uint64_t>(rank) * 8, "shape dims");
    for (std::uint32_t k = 0; k < rank; ++k) {
      const auto d = r.get<std::int64_t>("shape dim");
      if (d < 0) throw DataError(file, 0, recdiff::detail::concat("corrupted checkpoint: negative dimension ", d));
      s.dims.push_back(static_cast<Index>(d));
    }
    // Bounded so that the products and the sum cannot overflow (a damaged dimension); the payload's size is
    // checked against the file below.
    constexpr Index limit = std::numeric_limits<Index>::max() / 16;
    Index n = 1;
    for (const Index d : s.dims) {
      if (d != 0 && n > limit / d)
        throw DataError(file, 0, recdiff::detail::concat("corrupted checkpoint: tensor '", s.name, "' (",
                                                         describe({s}), ") is impossibly large"));
      n *= d;
    }
    if (total > limit - n)
      throw DataError(file, 0, recdiff::detail::concat("corrupted checkpoint: the tensors up to '", s.name,
                                                       "' are impossibly large"));
    total += n;
    info.shapes.push_back(std::move(s));
  }
  const auto nHyper = r.get<std::uint32_t>("hyperparameter count");
  for (std::uint32_t i = 0; i < nHyper; ++i) {
    std::string key = r.getString("hyperparameter key");
    info.hyperparameters[key] = r.getString("hyperparameter value");
  }
  info.parameterCount = static_cast<Index>(r.get<std::int64_t>("parameter count"));
  if (info.parameterCount != total)
    throw DataError(file, 0, recdiff::detail::concat("corrupted checkpoint: ", info.parameterCount,
                                                     " parameters but the shapes add up to ", total));
  r.need(static_cast<std::uint64_t>(info.parameterCount) * info.scalarBytes + 8, "payload and checksum");
  const std::size_t payloadEnd = r.position() + static_cast<std::size_t>(info.parameterCount) * info.scalarBytes;
  if (bytes.size() != payloadEnd + 8)
    throw DataError(file, 0, recdiff::detail::concat("corrupted checkpoint: ", bytes.size() - payloadEnd - 8,
                                                     " unexpected trailing bytes"));
  Reader tail(bytes, bytes.size(), file);
  tail.skip(payloadEnd);
  const auto stored = tail.get<std::uint64_t>("checksum");
  const std::uint64_t actual = fnv1a64(bytes.data(), payloadEnd);
  if (stored != actual)
    throw DataError(file, 0, "corrupted checkpoint: checksum mismatch (the file was modified or damaged)");
  return info;
}

/// Writes `bytes` to `file` atomically: a temporary file in the same folder, written, fsync'ed and renamed over
/// `file`, then the folder fsync'ed, so that a reader (or a crash) sees the old file or the new one, never a torn
/// one. Every system call goes through io::fileOps() (file_ops.hpp: POSIX unless a test injects failures).
/// On failure throws std::runtime_error "<who>: writing <file> failed: <operation> <path>: <system's reason>";
/// before the rename the previous file is untouched and the temporary file is removed. A failure to sync the
/// folder after the rename is reported too (the new file is complete but its rename may not survive a power loss).
inline void writeFileAtomically(const std::filesystem::path& file, const std::vector<unsigned char>& bytes,
                                const char* who) {
  FileOps& ops = fileOps();
  const std::filesystem::path target = std::filesystem::absolute(file);
  const std::filesystem::path folder = target.parent_path();
  const std::filesystem::path temp =
      folder / std::string(".").append(target.filename().string()).append(".tmp.")
                   .append(std::to_string(::getpid())).append(".").append(std::to_string(detail::nextTempId()));
  const auto fail = [&](const std::string& what, int err) {
    throw std::runtime_error(recdiff::detail::concat(who, ": writing ", target.string(), " failed: ", what, ": ",
                                                     std::generic_category().message(err)));
  };
  const int fd = ops.open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("open(" + temp.string() + ")", errno);
  // From here on a failure closes the descriptor (once) and removes the temporary file.
  const auto abandon = [&](const std::string& what, int err, bool closeFd) {
    if (closeFd) (void)ops.close(fd);
    (void)ops.unlink(temp.c_str());
    fail(what, err);
  };
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ops.write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      abandon(recdiff::detail::concat("write(", temp.string(), ") after ", written, " of ", bytes.size(), " bytes"),
              n == 0 ? EIO : errno, true);
    written += static_cast<std::size_t>(n);
  }
  if (ops.fsync(fd, false) != 0) abandon("fsync(" + temp.string() + ")", errno, true);
  if (ops.close(fd) != 0) abandon("close(" + temp.string() + ")", errno, false);
  if (ops.rename(temp.c_str(), target.c_str()) != 0)
    abandon("rename(" + temp.string() + ", " + target.string() + ")", errno, false);
  // The rename is durable once the folder is synced.
  const int dir = ops.open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dir < 0) fail("the new file is in place, but opening its folder to sync it failed: open(" + folder.string() + ")",
                    errno);
  if (ops.fsync(dir, true) != 0) {
    const int err = errno;
    (void)ops.close(dir);
    fail("the new file is in place, but syncing its folder failed: fsync(" + folder.string() + ")", err);
  }
  if (ops.close(dir) != 0)
    fail("the new file is in place, but closing its folder failed: close(" + folder.string() + ")", errno);
}

}  // namespace detail

/// Writes params and meta to `file` atomically (temporary file in the same folder, fsync, rename).
/// Throws std::invalid_argument when meta.shapes do not add up to params.size(), std::runtime_error on I/O errors.
template <class Scalar>
void saveCheckpoint(const std::filesystem::path& file, const nn::ParameterBuffer<Scalar>& params,
                    const CheckpointMetadata& meta) {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>, "saveCheckpoint(): float or double");
  Index total = 0;
  for (const auto& s : meta.shapes) total += s.size();
  RECDIFF_REQUIRE(total == params.size(), "saveCheckpoint(): the shapes describe ", total,
                  " parameters but the buffer holds ", params.size());
  detail::Writer w;
  w.append(kCheckpointMagic, sizeof(kCheckpointMagic));
  w.put(kCheckpointVersion);
  w.put(static_cast<std::uint32_t>(sizeof(Scalar)));
  w.putString(meta.modelType);
  w.put(static_cast<std::uint32_t>(meta.shapes.size()));
  for (const auto& s : meta.shapes) {
    w.putString(s.name);
    w.put(static_cast<std::uint32_t>(s.dims.size()));
    for (const Index d : s.dims) w.put(static_cast<std::int64_t>(d));
  }
  w.put(static_cast<std::uint32_t>(meta.hyperparameters.size()));
  for (const auto& [k, v] : meta.hyperparameters) {
    w.putString(k);
    w.putString(v);
  }
  w.put(static_cast<std::int64_t>(params.size()));
  w.bytes.reserve(w.bytes.size() + static_cast<std::size_t>(params.size()) * sizeof(Scalar) + 8);
  for (Index i = 0; i < params.size(); ++i) w.put(params.values()(i));
  w.put(detail::fnv1a64(w.bytes.data(), w.bytes.size()));

  detail::writeFileAtomically(file, w.bytes, "saveCheckpoint()");
}

/// Reads and validates the header of a checkpoint (including the checksum), without loading parameters.
inline CheckpointInfo readCheckpointInfo(const std::filesystem::path& file) {
  const auto bytes = detail::readFile(file);
  detail::Reader r(bytes, bytes.size(), file.string());
  return detail::parseHeader(bytes, file.string(), r);
}

/// Loads a checkpoint into params after checking that it is intact, of this format version, of model type
/// `modelType` and of exactly the parameter shapes `shapes`. Float and double files load into either
/// buffer type (converted). On any failure throws recdiff::DataError and leaves params untouched.
/// Returns the header (hyperparameters included).
template <class Scalar>
CheckpointInfo loadCheckpoint(const std::filesystem::path& file, nn::ParameterBuffer<Scalar>& params,
                              const std::string& modelType, const std::vector<nn::ParameterShape>& shapes) {
  const auto bytes = detail::readFile(file);
  detail::Reader r(bytes, bytes.size(), file.string());
  CheckpointInfo info = detail::parseHeader(bytes, file.string(), r);
  if (info.modelType != modelType)
    throw DataError(file.string(), 0,
                    "checkpoint holds a '" + info.modelType + "' model, expected '" + modelType + "'");
  if (info.shapes != shapes)
    throw DataError(file.string(), 0,
                    "checkpoint parameter shapes do not match the model: file has {" + detail::describe(info.shapes) +
                        "}, model has {" + detail::describe(shapes) + "}");
  if (info.parameterCount != params.size())
    throw DataError(file.string(), 0,
                    recdiff::detail::concat("checkpoint holds ", info.parameterCount, " parameters, the buffer ",
                                            params.size()));
  ColVector<Scalar> values(info.parameterCount);
  for (Index i = 0; i < info.parameterCount; ++i) {
    if (info.scalarBytes == 4) values(i) = static_cast<Scalar>(r.get<float>("payload"));
    else values(i) = static_cast<Scalar>(r.get<double>("payload"));
  }
  params.values() = values;  // the only write to the model, after every check passed
  return info;
}

}  // namespace recdiff::io

#endif  // RECDIFF_IO_CHECKPOINT_HPP
