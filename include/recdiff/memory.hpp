#ifndef RECDIFF_MEMORY_HPP
#define RECDIFF_MEMORY_HPP

/// \file memory.hpp
/// Memory estimates refused up front (issues 20 and 22): before a large dense allocation (EASE's items²
/// matrices, ItemKNN's and RP3beta's item-item similarities, DiffRec's [batch × items] and [users × items]
/// buffers, DiffuRec's activations) the caller states its estimate and requireMemory() throws a MemoryError —
/// one line with the estimate, what is available and where that figure comes from — instead of letting the
/// kernel's OOM killer end the process half-way.
///
/// What is available is the smallest of
///   - MemAvailable from /proc/meminfo (the kernel's estimate of memory usable without swapping);
///   - the cgroup's headroom: memory.max − memory.current (cgroup v2), or memory.limit_in_bytes −
///     memory.usage_in_bytes (cgroup v1), when a limit is set;
///   - the process budget of setMemoryBudget() (the examples' --memory-limit GIB) minus the resident set.
/// Tests inject the figure with ScopedAvailableMemory so that they do not depend on the machine.
///
/// Usage:
///   recdiff::requireMemory(2 * n * n * sizeof(float), "EASE::fit(): 2 dense items x items float matrices");

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ios>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <unistd.h>

namespace recdiff {

/// An allocation refused up front: its estimate exceeds the memory available. what() is one line.
class MemoryError : public std::runtime_error {
 public:
  MemoryError(const std::string& message, std::uint64_t needed, std::uint64_t available)
      : std::runtime_error(message), needed_(needed), available_(available) {}
  /// Bytes the refused operation estimated it needs.
  std::uint64_t needed() const noexcept { return needed_; }
  /// Bytes that were available.
  std::uint64_t available() const noexcept { return available_; }

 private:
  std::uint64_t needed_, available_;
};

/// The memory available for new allocations and which limit decided it.
struct AvailableMemory {
  std::uint64_t bytes = std::numeric_limits<std::uint64_t>::max();  ///< max(): nothing could be determined
  std::string source;  ///< "MemAvailable", "cgroup v2 memory.max", "--memory-limit …", "injected"
};

namespace detail {

/// A byte count as GiB with two decimals ("61.72 GiB").
inline std::string formatGiB(std::uint64_t bytes) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(2);
  os << static_cast<double>(bytes) / 1073741824.0 << " GiB";
  return os.str();
}

/// MemAvailable of a /proc/meminfo-format file, in bytes; nullopt when the file or the key is missing.
inline std::optional<std::uint64_t> memAvailable(const std::filesystem::path& meminfo = "/proc/meminfo") {
  std::ifstream in(meminfo);
  std::string key, unit;
  std::uint64_t value = 0;
  while (in >> key >> value) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return value * 1024u;
  }
  return std::nullopt;
}

/// The first number of a one-value cgroup file; nullopt when missing, unparsable or "max" (no limit).
inline std::optional<std::uint64_t> readCgroupValue(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string text;
  if (!(in >> text) || text == "max") return std::nullopt;
  try {
    std::size_t used = 0;
    const unsigned long long v = std::stoull(text, &used);
    if (used != text.size()) return std::nullopt;
    return static_cast<std::uint64_t>(v);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// The cgroup's headroom (limit − usage) under `root` (normally /sys/fs/cgroup): v2 memory.max /
/// memory.current, else v1 memory/memory.limit_in_bytes / memory/memory.usage_in_bytes. nullopt when no limit
/// is set (v2 "max", v1's near-2^63 "unlimited") or the files are absent. `version` receives "v1" or "v2".
inline std::optional<std::uint64_t> cgroupHeadroom(const std::filesystem::path& root, std::string* version = nullptr) {
  const auto headroom = [](std::optional<std::uint64_t> limit, std::optional<std::uint64_t> usage) {
    const std::uint64_t u = usage.value_or(0);
    return *limit > u ? *limit - u : 0;
  };
  if (const auto limit = readCgroupValue(root / "memory.max")) {
    if (version != nullptr) *version = "v2";
    return headroom(limit, readCgroupValue(root / "memory.current"));
  }
  if (const auto limit = readCgroupValue(root / "memory" / "memory.limit_in_bytes"); limit && *limit < (1ull << 60)) {
    if (version != nullptr) *version = "v1";
    return headroom(limit, readCgroupValue(root / "memory" / "memory.usage_in_bytes"));
  }
  return std::nullopt;
}

/// The resident set of this process in bytes (/proc/self/statm); 0 when unreadable.
inline std::uint64_t residentBytes() {
  std::ifstream in("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  const long page = ::sysconf(_SC_PAGE_SIZE);
  return resident * static_cast<std::uint64_t>(page > 0 ? page : 4096);
}

/// The process budget (0: none) and the injected figure (max(): none) — process-wide settings.
inline std::atomic<std::uint64_t>& memoryBudgetSetting() {
  static std::atomic<std::uint64_t> budget{0};
  return budget;
}
inline std::atomic<std::uint64_t>& injectedMemorySetting() {
  static std::atomic<std::uint64_t> injected{std::numeric_limits<std::uint64_t>::max()};
  return injected;
}

}  // namespace detail

/// Sets the process budget: the resident set the process may reach (0: none). requireMemory() then also
/// refuses an estimate larger than budget − resident set. The examples' --memory-limit GIB.
inline void setMemoryBudget(std::uint64_t bytes) { detail::memoryBudgetSetting().store(bytes); }
/// The process budget of setMemoryBudget() (0: none).
inline std::uint64_t memoryBudget() { return detail::memoryBudgetSetting().load(); }

/// Replaces what availableMemory() reports by a fixed figure while alive (tests). Not nestable across threads.
class ScopedAvailableMemory {
 public:
  explicit ScopedAvailableMemory(std::uint64_t bytes) : previous_(detail::injectedMemorySetting().exchange(bytes)) {}
  ~ScopedAvailableMemory() { detail::injectedMemorySetting().store(previous_); }
  ScopedAvailableMemory(const ScopedAvailableMemory&) = delete;
  ScopedAvailableMemory& operator=(const ScopedAvailableMemory&) = delete;

 private:
  std::uint64_t previous_;
};

/// The memory available for new allocations now: the smallest of MemAvailable, the cgroup headroom and the
/// budget's headroom (see the file comment), or the injected figure of a live ScopedAvailableMemory.
inline AvailableMemory availableMemory() {
  AvailableMemory a;
  if (const std::uint64_t injected = detail::injectedMemorySetting().load();
      injected != std::numeric_limits<std::uint64_t>::max()) {
    a.bytes = injected;
    a.source = "injected";
    return a;
  }
  if (const auto m = detail::memAvailable()) {
    a.bytes = *m;
    a.source = "MemAvailable in /proc/meminfo";
  }
  std::string version;
  if (const auto c = detail::cgroupHeadroom("/sys/fs/cgroup", &version); c && *c < a.bytes) {
    a.bytes = *c;
    a.source = "cgroup " + version + " memory limit minus usage";
  }
  if (const std::uint64_t budget = memoryBudget(); budget != 0) {
    const std::uint64_t rss = detail::residentBytes();
    const std::uint64_t headroom = budget > rss ? budget - rss : 0;
    if (headroom < a.bytes) {
      a.bytes = headroom;
      a.source = "memory limit " + detail::formatGiB(budget) + " minus " + detail::formatGiB(rss) + " resident";
    }
  }
  return a;
}

/// Throws MemoryError when `bytes` exceed availableMemory(): "<what> needs 61.72 GiB, more than the 20.10 GiB
/// available (MemAvailable in /proc/meminfo)" followed by `hint` when given. Does nothing when nothing could
/// be determined.
inline void requireMemory(std::uint64_t bytes, std::string_view what, std::string_view hint = {}) {
  const AvailableMemory a = availableMemory();
  if (bytes <= a.bytes) return;
  std::string message(what);
  message += " needs " + detail::formatGiB(bytes) + ", more than the " + detail::formatGiB(a.bytes) + " available (" +
             a.source + ")";
  if (!hint.empty()) {
    message += "; ";
    message += hint;
  }
  throw MemoryError(message, bytes, a.bytes);
}

/// Bytes of a dense rows × cols matrix of `elementSize`-byte elements, saturating instead of overflowing.
inline std::uint64_t denseBytes(std::uint64_t rows, std::uint64_t cols, std::uint64_t elementSize) {
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  if (rows != 0 && cols > max / rows) return max;
  const std::uint64_t n = rows * cols;
  return elementSize != 0 && n > max / elementSize ? max : n * elementSize;
}

}  // namespace recdiff

#endif  // RECDIFF_MEMORY_HPP
