#ifndef RECDIFF_NN_FEED_FORWARD_HPP
#define RECDIFF_NN_FEED_FORWARD_HPP

/// \file feed_forward.hpp
/// Position-wise feed-forward network of a Transformer (Vaswani et al. 2017, Eq. 2), applied to every row:
///   y = Dropout(f(x W1ᵀ + b1)) W2ᵀ + b2,   W1 [hidden × dim], W2 [dim × hidden],
/// with f the tanh-approximated GELU (BERT, DiffuRec), the exact GELU, ReLU or SiLU. The same shape with SiLU
/// and no dropout is DiffuRec's time-embedding MLP. Bias and activation are fused into one pass over the
/// hidden matrix; the two products are row-batched GEMMs (nn::gemm: rows split over the threads, each product
/// added onto its bias so that no pass zeroes the destination). The hidden dropout is applied in place: the
/// undropped activation is not kept (backward needs the dropped one and the pre-activation).
///
/// Evaluation mode with GemmPrecision::kBf16 (float layer, oneDNN built in, AVX512-BF16) runs a fused path
/// instead: two oneDNN matmuls, the first with b1 as its bias and f as an eltwise post-op writing the hidden
/// activation directly in bf16 (rounded once, where the unfused path rounds act_ for its second product), the
/// second reading that bf16 hidden with b2 as its bias into y. No float hidden matrix, no separate activation or
/// bias pass. oneDNN threads each matmul over the OpenMP threads (the calling thread alone inside a parallel
/// region). x, W1 and W2 are converted to bf16 on every call (no weight cache to go stale). Training mode and
/// kFloat run the unfused path above. A backward() after a fused forward first recomputes the float
/// pre-activation and activation by the unfused path (evaluation-mode backward is rare; it stays correct).
///
/// Parameters in the bound slice (PyTorch's nn.Linear layout, first layer then second): W1, b1, W2, b2.
/// reset(rng) draws Xavier-normal weights and zero biases; the references override as they need.
///
/// Usage:
///   nn::FeedForward<float> ffn(128, 512, nn::FeedForwardActivation::kGeluTanh, 0.1);
///   binder.bind(ffn); ffn.reset(rng);
///   ffn.forward(x, y);  ffn.backward(dy, dx);     // x, y: [rows × 128]

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "../error.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "../parallel.hpp"
#include "dropout.hpp"
#include "gemm.hpp"
#include "parameters.hpp"

namespace recdiff::nn {

/// The hidden activation of a FeedForward.
enum class FeedForwardActivation {
  kGeluTanh,  ///< 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³)))  (BERT, DiffuRec)
  kGeluExact, ///< x Φ(x)
  kRelu,      ///< max(x, 0)
  kSilu,      ///< x σ(x)  (DiffuRec's time MLP)
};

namespace detail {
/// oneDNN's post-op for an activation (the fused evaluation-mode bf16 path).
inline Bf16Eltwise bf16Eltwise(FeedForwardActivation f) noexcept {
  switch (f) {
    case FeedForwardActivation::kGeluTanh: return Bf16Eltwise::kGeluTanh;
    case FeedForwardActivation::kGeluExact: return Bf16Eltwise::kGeluErf;
    case FeedForwardActivation::kRelu: return Bf16Eltwise::kRelu;
    case FeedForwardActivation::kSilu: return Bf16Eltwise::kSwish;
  }
  return Bf16Eltwise::kNone;
}

/// y = f(x) over n contiguous scalars.
template <class Scalar>
inline void activationForward(FeedForwardActivation f, const Scalar* xp, Scalar* yp, Index n) {
  Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>> x(xp, n);
  Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> y(yp, n);
  constexpr Scalar kK = Scalar(0.79788456080286535587989211986876374);  // √(2/π)
  constexpr Scalar kC = Scalar(0.044715);
  switch (f) {
    case FeedForwardActivation::kGeluTanh:
      y = Scalar(0.5) * x * (Scalar(1) + (kK * (x + kC * x.cube())).tanh());
      break;
    case FeedForwardActivation::kGeluExact:
      for (Index i = 0; i < n; ++i)
        y(i) = Scalar(0.5) * x(i) * (Scalar(1) + std::erf(x(i) * Scalar(0.70710678118654752440084436210484904)));
      break;
    case FeedForwardActivation::kRelu:
      y = x.max(Scalar(0));
      break;
    case FeedForwardActivation::kSilu:
      y = x / (Scalar(1) + (-x).exp());
      break;
  }
}

/// Stack storage for element-wise temporaries (no heap allocation in the hot loops).
inline constexpr Index kChunk = 256;
template <class Scalar>
using Chunk = Eigen::Array<Scalar, Eigen::Dynamic, 1, Eigen::ColMajor, kChunk, 1>;

/// g = g ⊙ f'(x) over n contiguous scalars (in place on the incoming gradient).
template <class Scalar>
inline void activationBackward(FeedForwardActivation f, const Scalar* xp, Scalar* gp, Index n) {
  Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>> x(xp, n);
  Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> g(gp, n);
  constexpr Scalar kK = Scalar(0.79788456080286535587989211986876374);
  constexpr Scalar kC = Scalar(0.044715);
  switch (f) {
    case FeedForwardActivation::kGeluTanh:
      // Vectorised (Eigen's packet tanh), in stack chunks:
      // u = tanh(k (x + c x³)),  f' = ½(1 + u) + ½ x (1 − u²) k (1 + 3 c x²).
      for (Index at = 0; at < n; at += kChunk) {
        const Index m = std::min(kChunk, n - at);
        const auto xs = x.segment(at, m);
        Chunk<Scalar> u = (kK * (xs + kC * xs.cube())).tanh();
        g.segment(at, m) *= Scalar(0.5) * (Scalar(1) + u) +
                            Scalar(0.5) * xs * (Scalar(1) - u.square()) * kK * (Scalar(1) + Scalar(3) * kC * xs.square());
      }
      break;
    case FeedForwardActivation::kGeluExact:
      for (Index i = 0; i < n; ++i) {
        const Scalar a = x(i);
        g(i) *= Scalar(0.5) * (Scalar(1) + std::erf(a * Scalar(0.70710678118654752440084436210484904))) +
                a * Scalar(0.39894228040143267793994605993438187) * std::exp(Scalar(-0.5) * a * a);
      }
      break;
    case FeedForwardActivation::kRelu:
      g = (x > Scalar(0)).select(g, Scalar(0));
      break;
    case FeedForwardActivation::kSilu:
      for (Index at = 0; at < n; at += kChunk) {
        const Index m = std::min(kChunk, n - at);
        const auto xs = x.segment(at, m);
        Chunk<Scalar> sig = Scalar(1) / (Scalar(1) + (-xs).exp());
        g.segment(at, m) *= sig * (Scalar(1) + xs * (Scalar(1) - sig));
      }
      break;
  }
}
}  // namespace detail

/// Two-layer position-wise MLP with a fused bias + activation; see the file comment.
template <class Scalar>
class FeedForward {
 public:
  using Matrix = RowMatrix<Scalar>;

  /// dim: input and output width; hidden: inner width (4·dim in BERT and DiffuRec); dropout on the hidden
  /// activation in training mode (inverted, nn::Dropout, seeded by setRng()).
  FeedForward(Index dim, Index hidden, FeedForwardActivation activation = FeedForwardActivation::kGeluTanh,
              double dropout = 0.0)
      : dim_(dim), hidden_(hidden), activation_(activation), dropout_(dropout) {
    dropout_.setTraining(true);
    RECDIFF_REQUIRE(dim > 0 && hidden > 0, "FeedForward: dim and hidden must be positive, got ", dim, " and ", hidden);
  }

  Index parameterCount() const noexcept { return 2 * dim_ * hidden_ + hidden_ + dim_; }
  Index dim() const noexcept { return dim_; }
  Index hidden() const noexcept { return hidden_; }

  void bind(ParameterSlice<Scalar> values, ParameterSlice<Scalar> grads) {
    RECDIFF_REQUIRE(values.size == parameterCount() && grads.size == parameterCount(),
                    "FeedForward::bind(): expected slices of ", parameterCount(), " scalars, got ", values.size);
    Index at = 0;
    const auto bindPair = [&](MappedMatrix<Scalar>& v, MappedMatrix<Scalar>& g, Index rows, Index cols) {
      v.bindTo(values, rows, cols, at);
      g.bindTo(grads, rows, cols, at);
      at += rows * cols;
    };
    bindPair(w1_, dW1_, hidden_, dim_);
    bindPair(b1_, dB1_, 1, hidden_);
    bindPair(w2_, dW2_, dim_, hidden_);
    bindPair(b2_, dB2_, 1, dim_);
  }

  /// Xavier-normal weights, zero biases.
  void reset(Rng& rng) {
    const double std = std::sqrt(2.0 / static_cast<double>(dim_ + hidden_));
    auto w1 = w1_();
    auto w2 = w2_();
    rng.fillNormal(w1, 0.0, std);
    rng.fillNormal(w2, 0.0, std);
    b1_().setZero();
    b2_().setZero();
  }

  /// Training mode (the default, as torch modules) applies the hidden dropout; evaluation mode does not.
  void setTraining(bool training) {
    training_ = training;
    dropout_.setTraining(training);
  }
  /// Seeds the hidden dropout's generator.
  void setRng(const Rng& rng) { dropout_.reseed(rng); }

  /// Arithmetic of the layer's products (both layers, forward and backward); GemmPrecision::kFloat unless set.
  /// kBf16 needs Scalar = float (std::invalid_argument otherwise) and is checked for availability at the first
  /// product (docs/bf16.md).
  void setPrecision(GemmPrecision precision) {
    RECDIFF_REQUIRE((precision == GemmPrecision::kFloat || std::is_same_v<Scalar, float>),
                    "FeedForward::setPrecision(): GemmPrecision::kBf16 needs a float layer");
    precision_ = precision;
  }
  GemmPrecision precision() const noexcept { return precision_; }

  typename MappedMatrix<Scalar>::Map weight1() { return w1_(); }
  typename MappedMatrix<Scalar>::Map bias1() { return b1_(); }
  typename MappedMatrix<Scalar>::Map weight2() { return w2_(); }
  typename MappedMatrix<Scalar>::Map bias2() { return b2_(); }
  typename MappedMatrix<Scalar>::Map weight1Grad() { return dW1_(); }
  typename MappedMatrix<Scalar>::Map bias1Grad() { return dB1_(); }
  typename MappedMatrix<Scalar>::Map weight2Grad() { return dW2_(); }
  typename MappedMatrix<Scalar>::Map bias2Grad() { return dB2_(); }

  /// x, y: [rows × dim]; copies x for backward.
  void forward(const Matrix& x, Matrix& y) {
    input_ = x;
    borrowed_ = nullptr;
    run(input_, y);
  }

  /// Like forward() but keeps a pointer to x, which must stay unchanged until backward().
  void forwardBorrowed(const Matrix& x, Matrix& y) {
    borrowed_ = &x;
    run(x, y);
  }

  /// Accumulates the parameter gradients and writes dx = dL/dx.  dy, dx: [rows × dim].
  void backward(const Matrix& dy, Matrix& dx) {
    const Matrix& x = borrowed_ != nullptr ? *borrowed_ : input_;
    RECDIFF_REQUIRE(dy.rows() == x.rows() && dy.cols() == dim_, "FeedForward::backward(): dy is ", dy.rows(), "x",
                    dy.cols(), ", expected ", x.rows(), "x", dim_);
    if (fusedLast_) {  // the fused forward kept no float pre-activation / activation: recompute them
      hiddenForward(x);
      fusedLast_ = false;
    }
    // act_ holds the (dropped) activation. dW2ᵀ += actᵀ dy splits dW2's columns over the threads, so each
    // thread packs only its columns of the large act_ (dW2 has few rows).
    if (precision_ == GemmPrecision::kFloat) {
      gemm(dW2_().transpose(), act_.transpose(), dy, Accumulate::kYes);
    } else {
      // oneDNN's fast bf16 kernels want a row-major destination (a transposed one runs its reference code).
      gemm(dW2_(), dy.transpose(), act_, Accumulate::kYes, precision_);
    }
    dB2_().row(0) += dy.colwise().sum();
    dAct_.resize(dy.rows(), hidden_);
    gemm(dAct_, dy, w2_(), Accumulate::kNo, precision_);
    if (dropActive_) dropout_.backward(dAct_, dAct_);
    const Index n = dy.rows();
    parallelFor(n, n * hidden_ > 65536, [&](Index i) {
      detail::activationBackward(activation_, pre_.row(i).data(), dAct_.row(i).data(), hidden_);
    });
    gemm(dW1_(), dAct_.transpose(), x, Accumulate::kYes, precision_);
    dB1_().row(0) += dAct_.colwise().sum();
    dx.resize(n, dim_);
    gemm(dx, dAct_, w1_(), Accumulate::kNo, precision_);
  }

 private:
  void run(const Matrix& x, Matrix& y) {
    RECDIFF_REQUIRE(x.cols() == dim_, "FeedForward::forward(): x has ", x.cols(), " columns, expected ", dim_);
    RECDIFF_ASSERT(w1_.bound());
    if (fusedBf16Evaluation()) {
      runFusedBf16(x, y);
      return;
    }
    fusedLast_ = false;
    const Index n = x.rows();
    hiddenForward(x);
    dropActive_ = training_ && dropout_.probability() > 0.0;
    if (dropActive_) dropout_.forward(act_, act_);
    y.resize(n, dim_);
    y.rowwise() = b2_().row(0);
    gemm(y, act_, w2_().transpose(), Accumulate::kYes, precision_);
  }

  /// pre_ = x W1ᵀ + b1, act_ = f(pre_) (before dropout).
  void hiddenForward(const Matrix& x) {
    const Index n = x.rows();
    pre_.resize(n, hidden_);
    act_.resize(n, hidden_);
    pre_.rowwise() = b1_().row(0);
    gemm(pre_, x, w1_().transpose(), Accumulate::kYes, precision_);
    parallelFor(n, n * hidden_ > 65536, [&](Index i) {
      detail::activationForward(activation_, pre_.row(i).data(), act_.row(i).data(), hidden_);
    });
  }

  /// Whether run() takes the fused evaluation-mode bf16 path (file comment); when bf16 is unavailable the unfused
  /// path runs and nn::gemm() throws its usual error.
  bool fusedBf16Evaluation() const {
    if constexpr (std::is_same_v<Scalar, float> && RECDIFF_DETAIL_BF16_DNNL) {
      return !training_ && precision_ == GemmPrecision::kBf16 && bf16GemmAvailable();
    } else {
      return false;
    }
  }

  /// y = f(x W1ᵀ + b1) W2ᵀ + b2 in two fused oneDNN matmuls, the hidden activation in bf16 (file comment). Float
  /// layers only (a no-op otherwise, never called: fusedBf16Evaluation() is false).
  void runFusedBf16(const Matrix& x, Matrix& y) {
    if constexpr (std::is_same_v<Scalar, float>) {
      const Index n = x.rows();
      y.resize(n, dim_);
      fusedLast_ = true;
      dropActive_ = false;
      if (n == 0) return;
      const bool xRowMajor = detail::packBf16(detail::stridedOperand(x), xBf16_);
      const bool w1RowMajor = detail::packBf16(detail::stridedOperand(w1_().transpose()), w1Bf16_);
      const bool w2RowMajor = detail::packBf16(detail::stridedOperand(w2_().transpose()), w2Bf16_);
      const auto hiddenSize = static_cast<std::size_t>(n * hidden_);
      if (hiddenBf16_.size() < hiddenSize) hiddenBf16_.resize(hiddenSize);
      detail::matmulBf16BiasEltwise(n, dim_, hidden_, xBf16_.data(), xRowMajor, w1Bf16_.data(), w1RowMajor,
                                    b1_().data(), detail::bf16Eltwise(activation_), hiddenBf16_.data(), true);
      detail::matmulBf16BiasEltwise(n, hidden_, dim_, hiddenBf16_.data(), true, w2Bf16_.data(), w2RowMajor,
                                    b2_().data(), detail::Bf16Eltwise::kNone, y.data(), false);
    } else {
      (void)x;
      (void)y;
    }
  }

  Index dim_, hidden_;
  FeedForwardActivation activation_;
  Dropout<Scalar> dropout_;
  bool training_ = true;
  bool dropActive_ = false;
  GemmPrecision precision_ = GemmPrecision::kFloat;
  MappedMatrix<Scalar> w1_, b1_, w2_, b2_, dW1_, dB1_, dW2_, dB2_;
  Matrix input_, pre_, act_, dAct_;  // act_: the activation after the hidden dropout
  const Matrix* borrowed_ = nullptr;
  bool fusedLast_ = false;  // the last forward took the fused path (pre_, act_ not computed)
  std::vector<std::uint16_t> xBf16_, w1Bf16_, w2Bf16_, hiddenBf16_;  // fused path's bf16 buffers (grow only)
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_FEED_FORWARD_HPP
