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
///   nn::gemm(y, x, w.transpose(), Accumulate::kNo, GemmPrecision::kBf16);  // opt-in bf16 products (below)
/// \tparam Dst a writable dense matrix, block or map already sized lhs.rows() × rhs.cols().

#include <algorithm>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "../config.hpp"
#include "../detail/gemm_bf16.hpp"
#include "../error.hpp"
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
  parallelParts(threads, [&](Index part, Index parts) {
    const Index begin = rows * part / parts;
    const Index end = rows * (part + 1) / parts;
    if (end > begin) {
      detail::gemmBlock(dst.middleRows(begin, end - begin), lhs.derived().middleRows(begin, end - begin),
                        rhs.derived(), mode);
    }
  });
}

/// Arithmetic of a float product (docs/bf16.md).
///  - kFloat: float operands, float accumulation (Eigen). The default; what every caller gets unless it asks.
///  - kBf16: both operands rounded to bfloat16 (8 significand bits, round to nearest even), products summed in
///    fp32 into a float destination (oneDNN's matmul on AVX512-BF16 `vdpbf16ps`, ~2x the float rate on Zen 4).
///    Error bound, element-wise: |C_bf16 − A·B| ≤ (2^-7 + 2^-16 + k·2^-24·1.01)·(|A|·|B|) for an inner size k.
///    Needs a build with oneDNN (RECDIFF_HAS_DNNL) and a CPU with AVX512-BF16, else nn::gemm() throws
///    std::runtime_error naming which is missing; bf16GemmAvailable() asks first.
enum class GemmPrecision { kFloat, kBf16 };

/// Empty when GemmPrecision::kBf16 products can run here; otherwise why not (no oneDNN in the build, or no
/// AVX512-BF16 on the CPU), for error messages.
inline std::string bf16GemmUnavailableReason() { return detail::bf16UnavailableReason(); }

/// True when GemmPrecision::kBf16 products can run here (oneDNN built in and AVX512-BF16 available).
inline bool bf16GemmAvailable() { return bf16GemmUnavailableReason().empty(); }

namespace detail {

/// The operand view the bf16 backend takes: data pointer and (row, column) strides of a direct-access float
/// expression (matrix, map, block, or a transpose of those).
template <class Xpr>
StridedOperand stridedOperand(const Xpr& x) {
  const Index inner = x.innerStride(), outer = x.outerStride();
  return {x.data(), x.rows(), x.cols(), Xpr::IsRowMajor ? outer : inner, Xpr::IsRowMajor ? inner : outer};
}

template <class Xpr>
inline constexpr bool kDirectAccess = (Eigen::internal::traits<Xpr>::Flags & Eigen::DirectAccessBit) != 0;

/// stridedOperand(x), or of x evaluated into `storage` when x has no direct access (e.g. a scaled matrix).
template <class Xpr>
StridedOperand operandView(const Xpr& x, RowMatrix<float>& storage) {
  if constexpr (kDirectAccess<Xpr>) {
    return stridedOperand(x);
  } else {
    storage = x;
    return stridedOperand(storage);
  }
}

}  // namespace detail

/// dst = lhs · rhs (or dst += lhs · rhs) at the given precision. kFloat is exactly gemm(dst, lhs, rhs, mode)
/// (bit-identical). kBf16 needs float operands and a float destination with direct access (a matrix, map or
/// block); operands that are not direct-access expressions are evaluated into a float temporary first.
/// Throws std::invalid_argument for kBf16 on non-float scalars, std::runtime_error when bf16 is unavailable.
template <class Dst, class Lhs, class Rhs>
void gemm(Dst&& dst, const Eigen::MatrixBase<Lhs>& lhs, const Eigen::MatrixBase<Rhs>& rhs, Accumulate mode,
          GemmPrecision precision) {
  if (precision == GemmPrecision::kFloat) {
    gemm(std::forward<Dst>(dst), lhs, rhs, mode);
    return;
  }
  using DstXpr = std::remove_cv_t<std::remove_reference_t<Dst>>;
  using Scalar = typename DstXpr::Scalar;
  if constexpr (!std::is_same_v<Scalar, float> || !std::is_same_v<typename Lhs::Scalar, float> ||
                !std::is_same_v<typename Rhs::Scalar, float>) {
    throw std::invalid_argument("nn::gemm(): GemmPrecision::kBf16 needs float operands and destination");
  } else {
    static_assert(detail::kDirectAccess<DstXpr>, "nn::gemm(): a kBf16 destination must be a matrix, map or block");
    RECDIFF_REQUIRE(lhs.cols() == rhs.rows() && dst.rows() == lhs.rows() && dst.cols() == rhs.cols(),
                    "nn::gemm(): shapes do not match: [", dst.rows(), "x", dst.cols(), "] = [", lhs.rows(), "x",
                    lhs.cols(), "]·[", rhs.rows(), "x", rhs.cols(), "]");
    RowMatrix<float> lhsEvaluated, rhsEvaluated;  // filled only for operands without direct access
    const detail::StridedOperand a = detail::operandView(lhs.derived(), lhsEvaluated);
    const detail::StridedOperand b = detail::operandView(rhs.derived(), rhsEvaluated);
    const Index cRow = DstXpr::IsRowMajor ? dst.outerStride() : dst.innerStride();
    const Index cCol = DstXpr::IsRowMajor ? dst.innerStride() : dst.outerStride();
    detail::gemmBf16(a, b, dst.data(), cRow, cCol, mode == Accumulate::kYes);
  }
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
    parallelParts(threads, [&](Index part, Index parts) {
      const Index begin = rows * part / parts, end = rows * (part + 1) / parts;
      if (end > begin) f(begin, end - begin);
    });
    return;
  }
#else
  (void)cols;
#endif
  f(Index{0}, rows);
}

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_GEMM_HPP
