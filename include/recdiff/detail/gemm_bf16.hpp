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
///
/// matmulBf16BiasEltwise() is a second entry for already-packed bf16 operands: bias and an element-wise function
/// fused into the matmul, destination bf16 or float (FeedForward's evaluation-mode bf16 path).

#include <algorithm>
#include <cstddef>
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

/// The element-wise function a fused bf16 matmul applies to a·b + bias before the destination is written.
enum class Bf16Eltwise {
  kNone,
  kGeluTanh,  ///< oneDNN eltwise_gelu_tanh
  kGeluErf,   ///< eltwise_gelu_erf
  kRelu,      ///< eltwise_relu (slope 0)
  kSwish,     ///< eltwise_swish with alpha 1: x·σ(x) (SiLU)
};

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

/// What identifies a bf16 matmul primitive: shapes, operand layouts, destination strides, accumulation.
struct Bf16MatmulKey {
  Index m, k, n, cRowStride, cColStride;
  bool aRowMajor, bRowMajor, accumulate;
  bool operator==(const Bf16MatmulKey&) const = default;
};

/// A matmul primitive with its memory objects (data handles set per call) and a stream.
struct Bf16Matmul {
  Bf16MatmulKey key;
  dnnl::matmul primitive;
  dnnl::memory a, b, c;
  dnnl::stream stream;
};

/// The entry of `cache` (most recently used last) with this key, moved to the back; nullptr if there is none.
template <class Entry, class Key>
Entry* findCachedMatmul(std::vector<Entry>& cache, const Key& key) {
  for (std::size_t i = cache.size(); i-- > 0;) {
    if (cache[i].key == key) {
      if (i + 1 != cache.size()) std::rotate(cache.begin() + static_cast<std::ptrdiff_t>(i),
                                             cache.begin() + static_cast<std::ptrdiff_t>(i) + 1, cache.end());
      return &cache.back();
    }
  }
  return nullptr;
}

/// The primitive for `key`, created on first use and kept per thread (the last kBf16MatmulCacheSize shapes). Why:
/// creating a matmul primitive descriptor selects and initialises oneDNN's brgemm kernels on every call — oneDNN's
/// own primitive cache only skips the JIT step — which cost up to 1 ms per product at DiffRec's shapes, 20–30% of
/// the product itself (bench_gemm_bf16: BM_NnGemmBf16 against BM_DnnlBf16WithConversion).
inline Bf16Matmul& cachedBf16Matmul(const Bf16MatmulKey& key) {
  constexpr std::size_t kBf16MatmulCacheSize = 32;
  thread_local std::vector<Bf16Matmul> cache;  // most recently used last
  if (Bf16Matmul* hit = findCachedMatmul(cache, key)) return *hit;
  using dims = dnnl::memory::dims;
  using dt = dnnl::memory::data_type;
  dnnl::engine& engine = bf16Engine();
  const dnnl::memory::desc ad({key.m, key.k}, dt::bf16, key.aRowMajor ? dims{key.k, 1} : dims{1, key.m});
  const dnnl::memory::desc bd({key.k, key.n}, dt::bf16, key.bRowMajor ? dims{key.n, 1} : dims{1, key.k});
  const dnnl::memory::desc cd({key.m, key.n}, dt::f32, dims{key.cRowStride, key.cColStride});
  dnnl::primitive_attr attr;
  if (key.accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, cd), attr, engine);
  if (cache.size() >= kBf16MatmulCacheSize) cache.erase(cache.begin());
  cache.push_back({key, dnnl::matmul(pd), dnnl::memory(ad, engine, DNNL_MEMORY_NONE),
                   dnnl::memory(bd, engine, DNNL_MEMORY_NONE), dnnl::memory(cd, engine, DNNL_MEMORY_NONE),
                   dnnl::stream(engine)});
  return cache.back();
}


/// A fused bf16 matmul (matmulBf16BiasEltwise below): shapes, operand layouts, post-op, destination type.
struct Bf16FusedMatmulKey {
  Index m, k, n;
  bool aRowMajor, bRowMajor, bf16Dst;
  Bf16Eltwise eltwise;
  bool operator==(const Bf16FusedMatmulKey&) const = default;
};

struct Bf16FusedMatmul {
  Bf16FusedMatmulKey key;
  dnnl::matmul primitive;
  dnnl::memory a, b, bias, c;
  dnnl::stream stream;
};

/// The fused primitive for `key`, kept per thread like cachedBf16Matmul() (a separate cache, so the keys and
/// entries of nn::gemm's products are exactly what they were).
inline Bf16FusedMatmul& cachedBf16FusedMatmul(const Bf16FusedMatmulKey& key) {
  constexpr std::size_t kBf16FusedMatmulCacheSize = 16;
  thread_local std::vector<Bf16FusedMatmul> cache;  // most recently used last
  if (Bf16FusedMatmul* hit = findCachedMatmul(cache, key)) return *hit;
  using dims = dnnl::memory::dims;
  using dt = dnnl::memory::data_type;
  dnnl::engine& engine = bf16Engine();
  const dnnl::memory::desc ad({key.m, key.k}, dt::bf16, key.aRowMajor ? dims{key.k, 1} : dims{1, key.m});
  const dnnl::memory::desc bd({key.k, key.n}, dt::bf16, key.bRowMajor ? dims{key.n, 1} : dims{1, key.k});
  const dnnl::memory::desc biasd({1, key.n}, dt::f32, dims{key.n, 1});
  const dnnl::memory::desc cd({key.m, key.n}, key.bf16Dst ? dt::bf16 : dt::f32, dims{key.n, 1});
  dnnl::primitive_attr attr;
  if (key.eltwise != Bf16Eltwise::kNone) {
    dnnl::algorithm alg = dnnl::algorithm::eltwise_relu;
    float alpha = 0.0f;
    switch (key.eltwise) {
      case Bf16Eltwise::kGeluTanh: alg = dnnl::algorithm::eltwise_gelu_tanh; break;
      case Bf16Eltwise::kGeluErf: alg = dnnl::algorithm::eltwise_gelu_erf; break;
      case Bf16Eltwise::kSwish: alg = dnnl::algorithm::eltwise_swish; alpha = 1.0f; break;  // x·σ(1·x)
      case Bf16Eltwise::kRelu: case Bf16Eltwise::kNone: break;
    }
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, alg, alpha, 0.0f);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, biasd, cd), attr, engine);
  if (cache.size() >= kBf16FusedMatmulCacheSize) cache.erase(cache.begin());
  cache.push_back({key, dnnl::matmul(pd), dnnl::memory(ad, engine, DNNL_MEMORY_NONE),
                   dnnl::memory(bd, engine, DNNL_MEMORY_NONE), dnnl::memory(biasd, engine, DNNL_MEMORY_NONE),
                   dnnl::memory(cd, engine, DNNL_MEMORY_NONE), dnnl::stream(engine)});
  return cache.back();
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
  // A single row has an arbitrary row stride; give oneDNN a dense-looking one.
  if (m == 1) cRowStride = n * cColStride;
  try {
    const Bf16MatmulKey key{m, k, n, cRowStride, cColStride, aRowMajor, bRowMajor, accumulate};
    Bf16Matmul& mm = cachedBf16Matmul(key);
    mm.a.set_data_handle(aPacked.data());
    mm.b.set_data_handle(bPacked.data());
    mm.c.set_data_handle(c);
    // The C API with a fixed argument array: the C++ execute() builds an unordered_map (heap) on every call.
    const dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, mm.a.get()}, {DNNL_ARG_WEIGHTS, mm.b.get()},
                                     {DNNL_ARG_DST, mm.c.get()}};
    dnnl::error::wrap_c_api(dnnl_primitive_execute(mm.primitive.get(), mm.stream.get(), 3, args),
                            "could not execute a matmul primitive");
    mm.stream.wait();
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

/// dst = f(a · b + bias) in one oneDNN matmul: a [m × k] and b [k × n] are dense bf16 bits (packBf16()'s output;
/// row-major or column-major as flagged), bias [n] float, dst dense row-major [m × n], bf16 bits when bf16Dst
/// (a·b + bias and f in fp32, then one round to nearest even) or float. oneDNN threads it over OpenMP like
/// gemmBf16() (one thread inside a parallel region). Throws std::runtime_error when bf16 products are unavailable
/// or oneDNN fails. For FeedForward's evaluation-mode bf16 path (nn/feed_forward.hpp).
inline void matmulBf16BiasEltwise(Index m, Index k, Index n, const std::uint16_t* a, bool aRowMajor,
                                  const std::uint16_t* b, bool bRowMajor, const float* bias, Bf16Eltwise f,
                                  void* dst, bool bf16Dst) {
  if (m == 0 || n == 0) return;
  if (const std::string why = bf16UnavailableReason(); !why.empty())
    throw std::runtime_error(::recdiff::detail::concat("nn::detail::matmulBf16BiasEltwise(): a [", m, "x", k,
                                                       "]·[", k, "x", n, "] bf16 product, but ", why));
  RECDIFF_REQUIRE(k > 0, "nn::detail::matmulBf16BiasEltwise(): empty inner dimension");
#if RECDIFF_DETAIL_BF16_DNNL
  try {
    const Bf16FusedMatmulKey key{m, k, n, aRowMajor, bRowMajor, bf16Dst, f};
    Bf16FusedMatmul& mm = cachedBf16FusedMatmul(key);
    mm.a.set_data_handle(const_cast<std::uint16_t*>(a));
    mm.b.set_data_handle(const_cast<std::uint16_t*>(b));
    mm.bias.set_data_handle(const_cast<float*>(bias));
    mm.c.set_data_handle(dst);
    const dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, mm.a.get()}, {DNNL_ARG_WEIGHTS, mm.b.get()},
                                     {DNNL_ARG_BIAS, mm.bias.get()}, {DNNL_ARG_DST, mm.c.get()}};
    dnnl::error::wrap_c_api(dnnl_primitive_execute(mm.primitive.get(), mm.stream.get(), 4, args),
                            "could not execute a matmul primitive");
    mm.stream.wait();
  } catch (const dnnl::error& e) {
    throw std::runtime_error(::recdiff::detail::concat("nn::detail::matmulBf16BiasEltwise(): oneDNN bf16 matmul of [",
                                                       m, "x", k, "]·[", k, "x", n, "] failed: ", e.what()));
  }
#else
  (void)a;
  (void)aRowMajor;
  (void)b;
  (void)bRowMajor;
  (void)bias;
  (void)f;
  (void)dst;
  (void)bf16Dst;
#endif
}

}  // namespace recdiff::nn::detail

#endif  // RECDIFF_DETAIL_GEMM_BF16_HPP
