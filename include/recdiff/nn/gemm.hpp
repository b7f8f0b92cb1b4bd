#ifndef RECDIFF_NN_GEMM_HPP
#define RECDIFF_NN_GEMM_HPP

/// \file gemm.hpp
/// Matrix products whose output rows are split over OpenMP threads, each thread running Eigen's
/// single-threaded GEMM on its own block of rows.
///
/// Why not Eigen's own threading: Eigen parallelises one GEMM by sharing the packed operands between threads and
/// synchronising at every depth block. On the shapes of a recommender's MLP (a few hundred rows, a few thousand
/// columns) that scales poorly, and on a machine where another process competes for a core the spinning threads
/// collapse: measured here on 2 cores with the DiffRec ml-1m_clean layer shapes (400 rows, 2820 → 600 → 200 →
/// 600 → 2810; forward, weight and input gradients) at load average 2, Eigen's threading reached 32 GFLOP/s and
/// this row split 72 GFLOP/s (single-threaded Eigen: 90). A static split needs no synchronisation but the join.
///
/// Rows are split into as many contiguous blocks as there are threads, so a product is bit-reproducible for a
/// given thread count; across thread counts the blocks have other sizes, Eigen may choose another depth blocking,
/// and sums may round differently in the last bits.
///
/// Usage:
///   nn::gemm(y, x, w.transpose());                    // y = x Wᵀ
///   nn::gemm(dW, dy.transpose(), x, Accumulate::kYes); // dW += dyᵀ x
/// \tparam Dst a writable dense matrix, block or map already sized lhs.rows() × rhs.cols().

#include <algorithm>

#include <Eigen/Core>

#include "../config.hpp"
#include "../parallel.hpp"
#include "../types.hpp"

namespace recdiff::nn {

/// Whether a product overwrites or adds to its destination.
enum class Accumulate { kNo, kYes };

namespace detail {

/// Below this many multiply-adds a product runs on one thread: the fork/join costs a few microseconds.
inline constexpr double kParallelGemmMinFlops = 4.0e6;

template <class Dst, class Lhs, class Rhs>
void gemmBlock(Dst&& dst, const Lhs& lhs, const Rhs& rhs, Accumulate mode) {
  if (mode == Accumulate::kYes) {
    dst.noalias() += lhs * rhs;
  } else {
    dst.noalias() = lhs * rhs;
  }
}

/// Threads a product of this size should use (1 inside a parallel region or without OpenMP).
inline int gemmThreads(Index rows, Index inner, Index cols) {
#if RECDIFF_HAS_OPENMP
  const double flops = 2.0 * static_cast<double>(rows) * static_cast<double>(inner) * static_cast<double>(cols);
  if (flops < kParallelGemmMinFlops) return 1;
  const int threads = availableThreads();
  // At least 8 rows per thread: thinner blocks waste the GEMM micro-kernel.
  const auto byRows = static_cast<int>(rows / 8);
  return std::max(1, std::min(threads, byRows));
#else
  (void)rows;
  (void)inner;
  (void)cols;
  return 1;
#endif
}

}  // namespace detail

/// dst = lhs · rhs (or dst += lhs · rhs): the rows of dst are split evenly over the OpenMP threads.
/// lhs and rhs may be any direct-access expressions (matrices, maps, blocks, transposes of those).
template <class Dst, class Lhs, class Rhs>
void gemm(Dst&& dst, const Eigen::MatrixBase<Lhs>& lhs, const Eigen::MatrixBase<Rhs>& rhs,
          Accumulate mode = Accumulate::kNo) {
  RECDIFF_ASSERT(lhs.cols() == rhs.rows() && dst.rows() == lhs.rows() && dst.cols() == rhs.cols());
  const Index rows = dst.rows();
  const int threads = detail::gemmThreads(rows, lhs.cols(), rhs.cols());
  if (threads <= 1) {
    detail::gemmBlock(dst, lhs.derived(), rhs.derived(), mode);
    return;
  }
#if RECDIFF_HAS_OPENMP
#pragma omp parallel num_threads(threads)
  {
    const auto part = static_cast<Index>(omp_get_thread_num());
    const auto parts = static_cast<Index>(omp_get_num_threads());
    const Index begin = rows * part / parts;
    const Index end = rows * (part + 1) / parts;
    if (end > begin) {
      detail::gemmBlock(dst.middleRows(begin, end - begin), lhs.derived().middleRows(begin, end - begin),
                        rhs.derived(), mode);
    }
  }
#endif
}

/// Calls f(begin, count) on contiguous blocks of rows [0, rows), one block per OpenMP thread, when the work
/// (rows · cols element operations) is large enough to pay for the fork; else f(0, rows) on this thread. For the
/// element-wise passes between the GEMMs (activations and their derivatives, masking), which would otherwise
/// run on one core while the products use all of them.
template <class F>
void forEachRowBlock(Index rows, Index cols, F&& f) {
#if RECDIFF_HAS_OPENMP
  constexpr double kMinElements = 65536.0;
  const int threads = static_cast<double>(rows) * static_cast<double>(cols) < kMinElements
                          ? 1
                          : std::max(1, std::min(availableThreads(), static_cast<int>(rows)));
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    {
      const auto part = static_cast<Index>(omp_get_thread_num());
      const auto parts = static_cast<Index>(omp_get_num_threads());
      const Index begin = rows * part / parts, end = rows * (part + 1) / parts;
      if (end > begin) f(begin, end - begin);
    }
    return;
  }
#else
  (void)cols;
#endif
  f(Index{0}, rows);
}

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_GEMM_HPP
