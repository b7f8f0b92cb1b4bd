#ifndef RECDIFF_TESTS_SIMD_SUPPORT_HPP
#define RECDIFF_TESTS_SIMD_SUPPORT_HPP
// Helpers of the simd tests: thread-count scopes, misaligned buffers, bitwise comparison.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include <recdiff/config.hpp>
#include <recdiff/simd/config.hpp>

#if RECDIFF_HAS_OPENMP
#include <omp.h>
#endif

namespace recdiff::test {

/// Sets the OpenMP thread count for its lifetime (no-op without OpenMP).
class ThreadCount {
 public:
  explicit ThreadCount(int n) {
#if RECDIFF_HAS_OPENMP
    previous_ = omp_get_max_threads();
    omp_set_num_threads(n);
#else
    (void)n;
#endif
  }
  ~ThreadCount() {
#if RECDIFF_HAS_OPENMP
    omp_set_num_threads(previous_);
#endif
  }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int previous_ = 1;
};

/// A buffer whose data() is offset by `offset` elements from a 64-byte boundary (offset 1 = misaligned).
template <class T>
class OffsetBuffer {
 public:
  OffsetBuffer(std::size_t n, std::size_t offset) : storage_(n + offset + 64 / sizeof(T)) {
    const auto addr = reinterpret_cast<std::uintptr_t>(storage_.data());
    const std::size_t skip = ((64 - addr % 64) % 64) / sizeof(T);
    data_ = storage_.data() + skip + offset;
    size_ = n;
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }

 private:
  std::vector<T> storage_;
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Index of the first element whose bits differ, or -1 when all n are bit-identical.
template <class T>
long firstBitDifference(const T* a, const T* b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (std::memcmp(a + i, b + i, sizeof(T)) != 0) return static_cast<long>(i);
  return -1;
}

/// Sizes that exercise every tail of a kernel: 0 … 3·width+1 for the SIMD width and for the noise group.
template <class T>
std::vector<long> tailSizes(long group) {
  const long width = std::max<long>(recdiff::simd::kWidth<T>, 1);
  const long top = 3 * std::max(width, group) + 1;
  std::vector<long> sizes;
  for (long n = 0; n <= top; ++n) sizes.push_back(n);
  return sizes;
}

}  // namespace recdiff::test

#endif
