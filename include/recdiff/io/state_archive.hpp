#ifndef RECDIFF_IO_STATE_ARCHIVE_HPP
#define RECDIFF_IO_STATE_ARCHIVE_HPP

/// \file state_archive.hpp
/// The file format of training states (train/training_state.hpp): a versioned, checksummed, atomically written
/// file of named sections, each a sequence of named fields written and read by ONE function per component:
///
///   template <class Archive> void serializeState(Archive& ar) { ar("steps", steps_); ar("m", m_); }
///
/// StateArchive saves when made with StateArchive::Save{} and loads when made over a section's bytes; the same
/// serializeState() call does both, so the two directions cannot drift apart. Loading checks every field's name
/// and type and a dense array's shape (an empty target is resized: moments that do not exist before the first
/// step), and throws recdiff::DataError naming the file, the section and the field.
///
/// File layout (state format version 1), little-endian, reusing checkpoint.hpp's Writer, Reader, FNV-1a and
/// atomic write:
///   magic "RDSTATE\x1a" · u32 version · string modelType · string fingerprint (of the data) ·
///   u32 count + (string key, string value) hyperparameters · u32 count + (string name, u64 size, bytes) sections ·
///   u64 FNV-1a 64 of every byte before it.
/// The checksum is verified before anything else is parsed: a truncated or damaged file is refused as such.
///
/// Usage:
///   io::StateFile f{.modelType = "DiffRec", .fingerprint = fp, .hyperparameters = h};
///   io::StateArchive ar{io::StateArchive::Save{}};  model.serializeState(ar);  f.sections["model"] = ar.bytes();
///   io::writeStateFile("run.state", f);
///   const io::StateFile g = io::readStateFile("run.state");            // magic, version, checksum checked
///   io::requireCompatible(g, f, "run.state");                           // model, data and hyperparameters
///   io::StateArchive in(g.sections.at("model"), "run.state", "model");  model.serializeState(in);  in.finish();

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include "../error.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "checkpoint.hpp"

namespace recdiff::io {

inline constexpr char kStateMagic[8] = {'R', 'D', 'S', 'T', 'A', 'T', 'E', '\x1a'};
inline constexpr std::uint32_t kStateVersion = 1;

/// Saves named fields into bytes, or loads them back from a section's bytes (see the file comment).
class StateArchive {
 public:
  struct Save {};
  explicit StateArchive(Save) : saving_(true) {}
  /// Loads from `bytes` (a section `section` of `file`, both for messages). `bytes` must outlive the archive.
  StateArchive(const std::vector<unsigned char>& bytes, std::string file, std::string section)
      : saving_(false), reader_(std::in_place, bytes, bytes.size(), file), file_(std::move(file)),
        section_(std::move(section)), size_(bytes.size()), source_(&bytes) {}
  StateArchive(const StateArchive&) = delete;
  StateArchive& operator=(const StateArchive&) = delete;

  bool saving() const noexcept { return saving_; }
  bool loading() const noexcept { return !saving_; }
  /// The saved bytes.
  const std::vector<unsigned char>& bytes() const noexcept { return writer_.bytes; }

  /// Saves or loads `value` under `name`: arithmetic types, std::string, std::optional<double>, Rng, dense Eigen
  /// matrices and arrays, and std::vector of any of these.
  template <class T>
  void operator()(const char* name, T& value) {
    if (saving_) {
      writer_.putString(name);
    } else {
      const std::string found = reader_->getString("field name");
      if (found != name) fail(recdiff::detail::concat("expected field '", name, "', found '", found, "'"));
    }
    field(name, value);
  }

  /// Loading: every byte of the section was read (a section with more fields is from another layout).
  void finish() const {
    if (!saving_ && reader_->position() != size_)
      fail(recdiff::detail::concat(size_ - reader_->position(), " unread bytes at the end of the section"));
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(file_, 0, recdiff::detail::concat("training state section '", section_, "': ", what));
  }

 private:
  template <class T>
  static constexpr char typeCode() {
    if constexpr (std::is_same_v<T, bool>) return 'b';
    else if constexpr (std::is_same_v<T, float>) return 'f';
    else if constexpr (std::is_same_v<T, double>) return 'd';
    else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) return static_cast<char>('0' + sizeof(T));
    else return static_cast<char>('A' + sizeof(T));
  }

  template <class T>
  void scalar(const char* name, T& v) {
    static_assert(std::is_arithmetic_v<T>);
    if (saving_) {
      writer_.put(static_cast<std::uint8_t>(typeCode<T>()));
      if constexpr (std::is_same_v<T, bool>) writer_.put(static_cast<std::uint8_t>(v ? 1 : 0));
      else writer_.put(v);
      return;
    }
    if (reader_->get<std::uint8_t>(name) != static_cast<std::uint8_t>(typeCode<T>()))
      fail(recdiff::detail::concat("field '", name, "' has another type"));
    if constexpr (std::is_same_v<T, bool>) v = reader_->get<std::uint8_t>(name) != 0;
    else v = reader_->get<T>(name);
  }

  template <class T>
  void field(const char* name, T& v) {
    if constexpr (std::is_arithmetic_v<T>) {
      scalar(name, v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (saving_) writer_.putString(v);
      else v = reader_->getString(name);
    } else if constexpr (std::is_same_v<T, std::optional<double>>) {
      bool has = v.has_value();
      double x = v.value_or(0.0);
      scalar(name, has);
      scalar(name, x);
      if (!saving_) v = has ? std::optional<double>(x) : std::nullopt;
    } else if constexpr (std::is_same_v<T, Rng>) {
      RngState s = v.state();
      scalar(name, s.seed), scalar(name, s.stream), scalar(name, s.block);
      for (auto& w : s.buffer) scalar(name, w);
      scalar(name, s.used), scalar(name, s.spare), scalar(name, s.hasSpare);
      if (!saving_) v = Rng(s);
    } else if constexpr (std::is_base_of_v<Eigen::PlainObjectBase<T>, T>) {
      dense(name, v);
    } else if constexpr (requires { serializeState(*this, v); }) {
      serializeState(*this, v);  // a struct's free serializeState(ar, value), found by ADL
    } else if constexpr (requires { v.serializeState(*this); }) {
      v.serializeState(*this);
    } else {
      static_assert(requires { v.size(); v.resize(std::size_t{}); v[0]; }, "StateArchive: unsupported field type");
      std::uint64_t n = v.size();
      scalar(name, n);
      if (!saving_) {
        reader_->need(n, name);  // at least a byte per element: a corrupt count cannot allocate without bound
        v.resize(static_cast<std::size_t>(n));
      }
      for (auto& e : v) field(name, e);
    }
  }

  template <class T>
  void dense(const char* name, T& m) {
    using S = typename T::Scalar;
    std::int64_t rows = m.rows(), cols = m.cols();
    scalar(name, rows);
    scalar(name, cols);
    if (!saving_) {
      if (rows < 0 || cols < 0) fail(recdiff::detail::concat("field '", name, "' has a negative shape"));
      if (rows != m.rows() || cols != m.cols()) {
        if (m.size() != 0)
          fail(recdiff::detail::concat("field '", name, "' is ", rows, " x ", cols, " in the file but ", m.rows(),
                                       " x ", m.cols(), " in this run"));
        reader_->need(static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols) * sizeof(S) + 1, name);
        m.resize(rows, cols);
      }
    }
    S probe{};
    scalar(name, probe);  // the element type, once
    const std::size_t n = static_cast<std::size_t>(m.size());
    if (saving_) {
      writer_.append(m.data(), n * sizeof(S));  // little-endian hosts (checkpoint.hpp's Writer asserts the rest)
    } else {
      reader_->need(n * sizeof(S), name);
      if (n > 0) std::memcpy(m.data(), source_->data() + reader_->position(), n * sizeof(S));
      reader_->skip(n * sizeof(S));
    }
  }

  bool saving_;
  detail::Writer writer_;
  std::optional<detail::Reader> reader_;
  std::string file_, section_;
  std::size_t size_ = 0;
  const std::vector<unsigned char>* source_ = nullptr;
};

/// A training-state file: who wrote it (model type, data fingerprint, hyperparameters) and its sections.
struct StateFile {
  std::string modelType;
  std::string fingerprint;
  std::map<std::string, std::string> hyperparameters;
  std::map<std::string, std::vector<unsigned char>> sections;
};

/// Writes `f` atomically (checkpoint.hpp's writeFileAtomically).
inline void writeStateFile(const std::filesystem::path& file, const StateFile& f) {
  detail::Writer w;
  w.append(kStateMagic, sizeof(kStateMagic));
  w.put(kStateVersion);
  w.putString(f.modelType);
  w.putString(f.fingerprint);
  w.put(static_cast<std::uint32_t>(f.hyperparameters.size()));
  for (const auto& [k, v] : f.hyperparameters) {
    w.putString(k);
    w.putString(v);
  }
  w.put(static_cast<std::uint32_t>(f.sections.size()));
  for (const auto& [name, bytes] : f.sections) {
    w.putString(name);
    w.put(static_cast<std::uint64_t>(bytes.size()));
    w.append(bytes.data(), bytes.size());
  }
  w.put(detail::fnv1a64(w.bytes.data(), w.bytes.size()));
  detail::writeFileAtomically(file, w.bytes, "training state");
}

/// Reads a training-state file; throws recdiff::DataError naming the file on a foreign, damaged, truncated
/// or other-version file (the checksum is checked before anything is parsed).
inline StateFile readStateFile(const std::filesystem::path& path) {
  const std::string file = path.string();
  const std::vector<unsigned char> bytes = detail::readFile(path);
  const std::size_t magicSize = sizeof(kStateMagic);
  if (bytes.size() < magicSize || std::memcmp(bytes.data(), kStateMagic, magicSize) != 0)
    throw DataError(file, 0, "not a recdiff training state (bad magic bytes)");
  if (bytes.size() < magicSize + 4 + 8)
    throw DataError(file, 0, recdiff::detail::concat("truncated training state: ", bytes.size(), " bytes"));
  std::uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  if (stored != detail::fnv1a64(bytes.data(), bytes.size() - 8))
    throw DataError(file, 0, "corrupted training state: checksum mismatch (the file is truncated, modified or damaged)");
  detail::Reader r(bytes, bytes.size() - 8, file);
  r.skip(magicSize);
  const auto version = r.get<std::uint32_t>("format version");
  if (version != kStateVersion)
    throw DataError(file, 0, recdiff::detail::concat("training state format version ", version,
                                                     " is not supported (this build reads version ", kStateVersion, ")"));
  StateFile f;
  f.modelType = r.getString("model type");
  f.fingerprint = r.getString("data fingerprint");
  const auto nHyper = r.get<std::uint32_t>("hyperparameter count");
  for (std::uint32_t i = 0; i < nHyper; ++i) {
    std::string key = r.getString("hyperparameter key");
    f.hyperparameters[key] = r.getString("hyperparameter value");
  }
  const auto nSections = r.get<std::uint32_t>("section count");
  for (std::uint32_t i = 0; i < nSections; ++i) {
    std::string name = r.getString("section name");
    const auto n = r.get<std::uint64_t>("section size");
    r.need(n, "section bytes");
    std::vector<unsigned char> s(bytes.begin() + static_cast<std::ptrdiff_t>(r.position()),
                                 bytes.begin() + static_cast<std::ptrdiff_t>(r.position() + n));
    r.skip(static_cast<std::size_t>(n));
    f.sections[name] = std::move(s);
  }
  if (r.position() != bytes.size() - 8)
    throw DataError(file, 0, recdiff::detail::concat("corrupted training state: ", bytes.size() - 8 - r.position(),
                                                     " unexpected bytes after the sections"));
  return f;
}

/// Refuses a state written by another model, on other data or with other hyperparameters than `expected`
/// describes; the message names every difference.
inline void requireCompatible(const StateFile& found, const StateFile& expected, const std::string& file) {
  const std::string prefix = "cannot resume from this training state: ";
  if (found.modelType != expected.modelType)
    throw DataError(file, 0, prefix + "it was written by model '" + found.modelType + "', this run trains '" +
                                 expected.modelType + "'");
  if (found.fingerprint != expected.fingerprint)
    throw DataError(file, 0, prefix + "it was written for other data (fingerprint of the splits " + found.fingerprint +
                                 ", this run's " + expected.fingerprint + ")");
  std::string diff;
  const auto add = [&](const std::string& k, const std::string& was, const std::string& now) {
    diff.append(diff.empty() ? "" : "; ").append(k).append(" = ").append(was).append(" in the file, ").append(now);
    diff.append(" in this run");
  };
  for (const auto& [k, v] : found.hyperparameters) {
    const auto it = expected.hyperparameters.find(k);
    if (it == expected.hyperparameters.end()) add(k, v, "(absent)");
    else if (it->second != v) add(k, v, it->second);
  }
  for (const auto& [k, v] : expected.hyperparameters)
    if (found.hyperparameters.count(k) == 0) add(k, "(absent)", v);
  if (!diff.empty()) throw DataError(file, 0, prefix + "other hyperparameters: " + diff);
}

/// A data fingerprint: FNV-1a 64 over shapes and contents, as 16 hex digits.
class Fingerprint {
 public:
  void add(const void* data, std::size_t n) { h_ = detail::fnv1a64(static_cast<const unsigned char*>(data), n, h_); }
  template <class T>
  void add(T v) requires std::is_arithmetic_v<T> { add(&v, sizeof v); }
  template <class S, int O, class I>
  void add(const Eigen::SparseMatrix<S, O, I>& m) {
    add(static_cast<std::int64_t>(m.rows()));
    add(static_cast<std::int64_t>(m.cols()));
    add(static_cast<std::int64_t>(m.nonZeros()));
    if (!m.isCompressed()) {
      Eigen::SparseMatrix<S, O, I> c = m;
      c.makeCompressed();
      return add(c);
    }
    add(m.outerIndexPtr(), sizeof(I) * static_cast<std::size_t>(m.outerSize() + 1));
    add(m.innerIndexPtr(), sizeof(I) * static_cast<std::size_t>(m.nonZeros()));
    add(m.valuePtr(), sizeof(S) * static_cast<std::size_t>(m.nonZeros()));
  }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h_));
    return buf;
  }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ull;
};

}  // namespace recdiff::io

#endif  // RECDIFF_IO_STATE_ARCHIVE_HPP
