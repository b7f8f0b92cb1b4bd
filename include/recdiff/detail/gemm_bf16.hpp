#ifndef RECDIFF_DETAIL_GEMM_BF16_HPP
#define RECDIFF_DETAIL_GEMM_BF16_HPP

/// \file gemm_bf16.hpp
/// Private backend of nn::gemm(…, GemmPrecision::kBf16) (nn/gemm.hpp): float operands rounded to bfloat16
/// (round to nearest even), multiplied by oneDNN's matmul with fp32 accumulation and an fp32 destination. On an
/// AVX512-BF16 CPU oneDNN runs its brgemm kernel on `vdpbf16ps` (2 bf16 products per fp32 lane per instruction).
///
/// Available when recdiff is built with oneDNN (CMake finds package `dnnl` and defines RECDIFF_HAS_DNNL=1; Debian:
/// libdnnl-dev) AND oneDNN reports the avx512_core_bf16 ISA. Otherwise gemmBf16() throws std::runtime_error
/// saying which of the two is missing. Nothing here is public API.

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"
#include "../parallel.hpp"
#include "../types.hpp"

#if defined(RECDIFF_HAS_DNNL) && RECDIFF_HAS_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#define RECDIFF_DETAIL_BF16_DNNL 1
#else
#define RECDIFF_DETAIL_BF16_DNNL 0
#endif

#if defined(__AVX512BF16__) && defined(__AVX512F__) && !RECDIFF_NO_SIMD
#include <immintrin.h>
#define RECDIFF_DETAIL_BF16_AVX512 1
#else
#define RECDIFF_DETAIL_BF16_AVX512 0
#endif

namespace recdiff::nn::detail {

/// float → bf16 bits, round to nearest even; NaN stays a (quiet) NaN. The rounding of `vcvtne2ps2bf16`.
inline std::uint16_t floatToBf16(float x) noexcept {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7fffffffU) > 0x7f800000U) return static_cast<std::uint16_t>((bits >> 16) | 0x40U);
  return static_cast<std::uint16_t>((bits + 0x7fffU + ((bits >> 16) & 1U)) >> 16);
}

/// bf16 bits → float (exact).
inline float bf16ToFloat(std::uint16_t h) noexcept {
  const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
  float x = 0.0f;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

/// dst[i] = bf16(src[i]) for a contiguous run of n floats.
inline void floatToBf16(const float* src, std::uint16_t* dst, Index n) noexcept {
  Index i = 0;
#if RECDIFF_DETAIL_BF16_AVX512
  for (; i + 32 <= n; i += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
    _mm512_storeu_si512(static_cast<void*>(dst + i), reinterpret_cast<__m512i>(v));
  }
#endif
  for (; i < n; ++i) dst[i] = floatToBf16(src[i]);
}

/// A float matrix operand seen through its strides: element (r, c) at data[r·rowStride + c·colStride].
struct StridedOperand {
  const float* data;
  Index rows, cols, rowStride, colStride;
};

/// Rounds an operand to bf16 into `out`, packed densely: row-major [rows × cols] unless the operand's columns are
/// its contiguous direction (a transposed row-major matrix), then column-major. Returns true when row-major.
/// Splits the work over the OpenMP threads when large.
inline bool packBf16(const StridedOperand& op, std::vector<std::uint16_t>& out) {
  const bool rowMajor = !(op.rowStride == 1 && op.colStride != 1);
  const Index outer = rowMajor ? op.rows : op.cols, inner = rowMajor ? op.cols : op.rows;
  const Index outerStride = rowMajor ? op.rowStride : op.colStride;
  const Index innerStride = rowMajor ? op.colStride : op.rowStride;
  const auto needed = static_cast<std::size_t>(outer * inner);
  if (out.size() < needed) out.resize(needed);
  std::uint16_t* dst = out.data();
  const auto body = [&](Index begin, Index end) {
    for (Index o = begin; o < end; ++o) {
      const float* src = op.data + o * outerStride;
      std::uint16_t* row = dst + o * inner;
      if (innerStride == 1) {
        floatToBf16(src, row, inner);
      } else {
        for (Index i = 0; i < inner; ++i) row[i] = floatToBf16(src[i * innerStride]);
      }
    }
  };
  const int threads = availableThreads();
  if (threads > 1 && outer * inner >= 65536 && outer >= threads) {
    parallelFor(threads, true, [&](Index p) { body(outer * p / threads, outer * (p + 1) / threads); });
  } else {
    body(0, outer);
  }
  return rowMajor;
}

#if RECDIFF_DETAIL_BF16_DNNL

inline dnnl::engine& bf16Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

/// True when oneDNN's effective ISA includes AVX512-BF16 (the CPU has it and ONEDNN_MAX_CPU_ISA /
/// dnnl::set_max_cpu_isa() did not cap it).
inline bool bf16IsaAvailable() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto want = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & want) == want;  // cpu_isa values are bit masks (avx2_vnni > avx512_core_bf16 numerically)
}

#endif

/// Empty when bf16 products can run here; otherwise why not (for the error message).
inline std::string bf16UnavailableReason() {
#if RECDIFF_DETAIL_BF16_DNNL
  if (!bf16IsaAvailable())
    return "this CPU has no AVX512-BF16 (oneDNN's effective ISA lacks avx512_core_bf16; check /proc/cpuinfo for "
           "avx512_bf16, and that ONEDNN_MAX_CPU_ISA does not cap it)";
  return {};
#else
  return "recdiff was built without oneDNN (install libdnnl-dev, reconfigure with RECDIFF_USE_DNNL=ON)";
#endif
}

/// c (+)= a · b with a [m × k], b [k × n], c [m × n] float, a and b rounded to bf16, accumulated in fp32.
/// Throws std::runtime_error when bf16 products are unavailable (see bf16UnavailableReason()) or oneDNN fails.
inline void gemmBf16(const StridedOperand& a, const StridedOperand& b, float* c, Index cRowStride,
                     Index cColStride, bool accumulate) {
  const Index m = a.rows, k = a.cols, n = b.cols;
  RECDIFF_ASSERT(b.rows == k);
  if (m == 0 || n == 0) return;
  if (const std::string why = bf16UnavailableReason(); !why.empty())
    throw std::runtime_error(::recdiff::detail::concat("nn::gemm(): GemmPrecision::kBf16 requested for a [", m,
                                                       "x", k, "]·[", k, "x", n, "] product, but ", why));
#if RECDIFF_DETAIL_BF16_DNNL
  if (k == 0) {  // an empty sum: oneDNN rejects zero-size operands
    for (Index i = 0; i < m; ++i)
      for (Index j = 0; j < n; ++j)
        if (!accumulate) c[i * cRowStride + j * cColStride] = 0.0f;
    return;
  }
  thread_local std::vector<std::uint16_t> aPacked, bPacked;
  const bool aRowMajor = packBf16(a, aPacked);
  const bool bRowMajor = packBf16(b, bPacked);
  using dims = dnnl::memory::dims;
  using dt = dnnl::memory::data_type;
  // A single row has an arbitrary row stride; give oneDNN a dense-looking one.
  if (m == 1) cRowStride = n * cColStride;
  try {
    dnnl::engine& engine = bf16Engine();
    const dnnl::memory::desc ad({m, k}, dt::bf16, aRowMajor ? dims{k, 1} : dims{1, m});
    const dnnl::memory::desc bd({k, n}, dt::bf16, bRowMajor ? dims{n, 1} : dims{1, k});
    const dnnl::memory::desc cd({m, n}, dt::f32, dims{cRowStride, cColStride});
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);
      attr.set_post_ops(ops);
    }
    // The primitive comes from oneDNN's primitive cache after the first call with a shape.
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, cd), attr, engine);
    const dnnl::matmul matmul(pd);
    dnnl::memory am(ad, engine, aPacked.data()), bm(bd, engine, bPacked.data()), cm(cd, engine, c);
    dnnl::stream stream(engine);
    matmul.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    stream.wait();
  } catch (const dnnl::error& e) {
    throw std::runtime_error(::recdiff::detail::concat("nn::gemm(): oneDNN bf16 matmul of [", m, "x", k, "]·[", k,
                                                       "x", n, "] failed: ", e.what()));
  }
#else
  (void)cRowStride;
  (void)cColStride;
  (void)accumulate;
  (void)c;
#endif
}

}  // namespace recdiff::nn::detail

#endif  // RECDIFF_DETAIL_GEMM_BF16_HPP
