#ifndef RECDIFF_NN_MULTI_HEAD_ATTENTION_HPP
#define RECDIFF_NN_MULTI_HEAD_ATTENTION_HPP

/// \file multi_head_attention.hpp
/// Multi-head self-attention (Vaswani et al. 2017, Eqs. 1 and 4) over a batch of sequences stored as rows:
/// x is [batch·seqLen × dim], row b·seqLen + i holding position i of sequence b.
///   [Q | K | V] = x Wᵀ_qkv + b_qkv,   head h uses columns h·d … h·d + d − 1 of each (d = dim / heads),
///   P_h = softmax(scale · Q_h K_hᵀ + mask),   O_h = Dropout(P_h) V_h,   y = [O_1 … O_H] Wᵀ_o + b_o.
/// scale defaults to 1/√d. Masks (all optional, combined):
///   - causal: query i sees keys j ≤ i;
///   - key padding (PaddingMask::kKeys, the sound default): padded keys get probability 0; a query with no
///     visible key gets an all-zero probability row (its output is b_o);
///   - query rows (PaddingMask::kQueryRows, DiffuRec's reference behaviour): the scores of a padded QUERY row
///     are all replaced by the same constant, so that row attends uniformly to all seqLen positions and passes
///     no gradient to Q or K, while padded keys still take part in every other row's attention.
///
/// Last-query mode (setLastQueryOnly(true)): only the last position of each sequence is a query, so y is
/// [batch × dim] — what the final block of a model that reads only the last position needs (DiffuRec). Keys
/// and values still cover every position; Q, the attention rows, the output projection and their gradients
/// are computed for the last rows only.
///
/// Parameters in the bound slice: W_qkv [3·dim × dim] (the rows of W_q, then W_k, then W_v, each PyTorch's
/// [out × in]), b_qkv [3·dim], W_o [dim × dim], b_o [dim]. The fused projection is one GEMM over all rows;
/// the per-head products are GEMMs on strided blocks, parallel over sequences. The projections go through
/// nn::gemm (output rows split over the threads; the bias is written first and the product added to it, so no
/// pass zeroes the destination); the softmax of a row without causal masking is one vectorised pass.
///
/// Usage:
///   nn::MultiHeadAttention<float> att({.dim = 128, .heads = 4, .sequenceLength = 50});
///   binder.bind(att); att.reset(rng);
///   att.setPaddingMask(valid);        // [batch × 50] bool, true = real item (optional)
///   att.forward(x, y);                // x, y: [batch·50 × 128]
///   att.backward(dy, dx);

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "../error.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "../parallel.hpp"
#include "attention_mask.hpp"
#include "dropout.hpp"
#include "gemm.hpp"
#include "parameters.hpp"
#include "softmax.hpp"

namespace recdiff::nn {

struct MultiHeadAttentionOptions {
  Index dim = 0;             ///< model width (a multiple of heads)
  Index heads = 1;           ///< number of heads
  Index sequenceLength = 1;  ///< positions per sequence; x has batch·sequenceLength rows
  double scale = 0.0;        ///< score scale; 0 means 1/√(dim/heads)
  bool causal = false;       ///< query i attends to keys j ≤ i only
  PaddingMask paddingMask = PaddingMask::kKeys;  ///< how setPaddingMask() is applied
  double dropout = 0.0;      ///< dropout on the attention probabilities (training mode)
};

/// Multi-head self-attention; see the file comment.
template <class Scalar>
class MultiHeadAttention {
 public:
  using Matrix = RowMatrix<Scalar>;

  explicit MultiHeadAttention(const MultiHeadAttentionOptions& options)
      : options_(options), dropout_(options.dropout), mask_(options.paddingMask, options.sequenceLength) {
    RECDIFF_REQUIRE(options.dim > 0 && options.heads > 0 && options.dim % options.heads == 0,
                    "MultiHeadAttention: dim ", options.dim, " must be a positive multiple of heads ", options.heads);
    RECDIFF_REQUIRE(options.sequenceLength > 0, "MultiHeadAttention: sequenceLength must be positive, got ",
                    options.sequenceLength);
    RECDIFF_REQUIRE(options.scale >= 0.0, "MultiHeadAttention: scale must be >= 0 (0 = 1/sqrt(d)), got ", options.scale);
    headDim_ = options.dim / options.heads;
    scale_ = options.scale > 0.0 ? options.scale : 1.0 / std::sqrt(static_cast<double>(headDim_));
  }

  Index parameterCount() const noexcept { return 4 * options_.dim * options_.dim + 4 * options_.dim; }
  const MultiHeadAttentionOptions& options() const noexcept { return options_; }
  Index headDim() const noexcept { return headDim_; }
  double scale() const noexcept { return scale_; }

  void bind(ParameterSlice<Scalar> values, ParameterSlice<Scalar> grads) {
    RECDIFF_REQUIRE(values.size == parameterCount() && grads.size == parameterCount(),
                    "MultiHeadAttention::bind(): expected slices of ", parameterCount(), " scalars, got ", values.size);
    const Index h = options_.dim;
    Index at = 0;
    const auto bindPair = [&](MappedMatrix<Scalar>& v, MappedMatrix<Scalar>& g, Index rows, Index cols) {
      v.bindTo(values, rows, cols, at);
      g.bindTo(grads, rows, cols, at);
      at += rows * cols;
    };
    bindPair(wQkv_, dWQkv_, 3 * h, h);
    bindPair(bQkv_, dBQkv_, 1, 3 * h);
    bindPair(wO_, dWO_, h, h);
    bindPair(bO_, dBO_, 1, h);
  }

  /// Xavier-normal weights, zero biases.
  void reset(Rng& rng) {
    const double std = std::sqrt(1.0 / static_cast<double>(options_.dim));
    auto w = wQkv_();
    auto wo = wO_();
    rng.fillNormal(w, 0.0, std);
    rng.fillNormal(wo, 0.0, std);
    bQkv_().setZero();
    bO_().setZero();
  }

  /// Training mode (the default, as torch modules) applies the attention dropout.
  void setTraining(bool training) {
    training_ = training;
    dropout_.setTraining(training);
  }
  void setRng(const Rng& rng) { dropout_.reseed(rng); }

  /// Changes the number of positions per sequence (x then needs a multiple of it as rows).
  void setSequenceLength(Index sequenceLength) {
    RECDIFF_REQUIRE(sequenceLength > 0, "MultiHeadAttention::setSequenceLength(): must be positive, got ",
                    sequenceLength);
    options_.sequenceLength = sequenceLength;
    mask_.setSequenceLength(sequenceLength);
  }

  /// Sets the padding mask [batch × seqLen] (true = real position) applied by the following forward calls.
  void setPaddingMask(const Eigen::Ref<const PositionMask>& valid) { mask_.set(valid); }
  void clearPaddingMask() noexcept { mask_.clear(); }

  /// Last-query mode (see the file comment): forward() then writes y [batch × dim], backward() takes dy of
  /// that shape and still writes dx [batch·seqLen × dim].
  void setLastQueryOnly(bool lastOnly) noexcept { lastOnly_ = lastOnly; }
  bool lastQueryOnly() const noexcept { return lastOnly_; }

  /// Arithmetic of the projection products (Q/K/V in, output out, and their gradients); GemmPrecision::kFloat
  /// unless set. The per-head score and context products stay in Scalar. kBf16 needs Scalar = float
  /// (std::invalid_argument otherwise) and is checked for availability at the first product (docs/bf16.md).
  void setPrecision(GemmPrecision precision) {
    RECDIFF_REQUIRE((precision == GemmPrecision::kFloat || std::is_same_v<Scalar, float>),
                    "MultiHeadAttention::setPrecision(): GemmPrecision::kBf16 needs a float layer");
    precision_ = precision;
  }
  GemmPrecision precision() const noexcept { return precision_; }

  /// W_qkv [3·dim × dim], b_qkv [1 × 3·dim], W_o [dim × dim], b_o [1 × dim] and their gradients.
  typename MappedMatrix<Scalar>::Map qkvWeight() { return wQkv_(); }
  typename MappedMatrix<Scalar>::Map qkvBias() { return bQkv_(); }
  typename MappedMatrix<Scalar>::Map outWeight() { return wO_(); }
  typename MappedMatrix<Scalar>::Map outBias() { return bO_(); }
  typename MappedMatrix<Scalar>::Map qkvWeightGrad() { return dWQkv_(); }
  typename MappedMatrix<Scalar>::Map qkvBiasGrad() { return dBQkv_(); }
  typename MappedMatrix<Scalar>::Map outWeightGrad() { return dWO_(); }
  typename MappedMatrix<Scalar>::Map outBiasGrad() { return dBO_(); }

  /// The attention probabilities of the last forward, [batch·heads·seqLen × seqLen] (before dropout);
  /// rows (b·heads + h)·seqLen + i.
  const Matrix& probabilities() const noexcept { return probs_; }

  /// x, y: [batch·seqLen × dim]; copies x for backward.
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

  /// Accumulates the parameter gradients and writes dx.  dy, dx: [batch·seqLen × dim].
  void backward(const Matrix& dy, Matrix& dx) {
    const Matrix& x = borrowed_ != nullptr ? *borrowed_ : input_;
    if (lastOnly_) {
      backwardLast(x, dy, dx);
      return;
    }
    const Index n = x.rows(), dim = options_.dim, len = options_.sequenceLength, heads = options_.heads;
    RECDIFF_REQUIRE(dy.rows() == n && dy.cols() == dim, "MultiHeadAttention::backward(): dy is ", dy.rows(), "x",
                    dy.cols(), ", expected ", n, "x", dim);
    const Index batch = n / len, d = headDim_;
    // Output projection.
    gemm(dWO_(), dy.transpose(), context_, Accumulate::kYes, precision_);
    dBO_().row(0) += dy.colwise().sum();
    dContext_.resize(n, dim);
    gemm(dContext_, dy, wO_(), Accumulate::kNo, precision_);
    // Attention core, per sequence and head.
    dQkv_.resize(n, 3 * dim);
    const Matrix& p = dropActive_ ? dropped_ : probs_;
    if (dropActive_) dProbs_.resize(probs_.rows(), len);
    const Scalar scale = static_cast<Scalar>(scale_);
    using ConstBlock = Eigen::Map<const Matrix, 0, Eigen::OuterStride<>>;
    using Block = Eigen::Map<Matrix, 0, Eigen::OuterStride<>>;
    ensureScratch();
    const bool parallel = batch > 1 && n * dim > 32768;
    parallelFor(batch, parallel, [&](Index b) {
      Matrix& dP = scratch_[threadNumber()];
      dP.resize(len, len);
      for (Index h = 0; h < heads; ++h) {
        const Scalar* base = qkv_.data() + b * len * 3 * dim + h * d;
        ConstBlock q(base, len, d, Eigen::OuterStride<>(3 * dim));
        ConstBlock k(base + dim, len, d, Eigen::OuterStride<>(3 * dim));
        ConstBlock v(base + 2 * dim, len, d, Eigen::OuterStride<>(3 * dim));
        Scalar* dbase = dQkv_.data() + b * len * 3 * dim + h * d;
        Block dq(dbase, len, d, Eigen::OuterStride<>(3 * dim));
        Block dk(dbase + dim, len, d, Eigen::OuterStride<>(3 * dim));
        Block dv(dbase + 2 * dim, len, d, Eigen::OuterStride<>(3 * dim));
        ConstBlock dO(dContext_.data() + b * len * dim + h * d, len, d, Eigen::OuterStride<>(dim));
        const Index r0 = (b * heads + h) * len;
        const auto pb = p.middleRows(r0, len);
        dv.noalias() = pb.transpose() * dO;
        dP.noalias() = dO * v.transpose();
        if (dropActive_) {
          // dP through the dropout: store it in dProbs_ and let the layer apply its mask below.
          dProbs_.middleRows(r0, len) = dP;
        } else {
          mask_.softmaxBlockBackward(probs_, b, r0, dP, scale);
          dq.noalias() = dP * k;
          dk.noalias() = dP.transpose() * q;
        }
      }
    });
    if (dropActive_) {
      dropout_.backward(dProbs_, dProbs_);
      parallelFor(batch, parallel, [&](Index b) {
        Matrix& dP = scratch_[threadNumber()];
        for (Index h = 0; h < heads; ++h) {
          const Scalar* base = qkv_.data() + b * len * 3 * dim + h * d;
          ConstBlock q(base, len, d, Eigen::OuterStride<>(3 * dim));
          ConstBlock k(base + dim, len, d, Eigen::OuterStride<>(3 * dim));
          Scalar* dbase = dQkv_.data() + b * len * 3 * dim + h * d;
          Block dq(dbase, len, d, Eigen::OuterStride<>(3 * dim));
          Block dk(dbase + dim, len, d, Eigen::OuterStride<>(3 * dim));
          const Index r0 = (b * heads + h) * len;
          dP = dProbs_.middleRows(r0, len);
          mask_.softmaxBlockBackward(probs_, b, r0, dP, scale);
          dq.noalias() = dP * k;
          dk.noalias() = dP.transpose() * q;
        }
      });
    }
    // Input projection.
    gemm(dWQkv_(), dQkv_.transpose(), x, Accumulate::kYes, precision_);
    dBQkv_().row(0) += dQkv_.colwise().sum();
    dx.resize(n, dim);
    gemm(dx, dQkv_, wQkv_(), Accumulate::kNo, precision_);
  }

 private:
  void ensureScratch() {
    if (scratch_.size() < threadSlots()) scratch_.resize(threadSlots());
  }

  /// Forward in last-query mode: y [batch × dim].
  void runLast(const Matrix& x, Matrix& y) {
    const Index n = x.rows(), dim = options_.dim, len = options_.sequenceLength, heads = options_.heads;
    const Index batch = n / len, d = headDim_;
    // K and V of every row; Q of the last rows only.
    kv_.resize(n, 2 * dim);
    kv_.rowwise() = bQkv_().row(0).segment(dim, 2 * dim);
    gemm(kv_, x, wQkv_().middleRows(dim, 2 * dim).transpose(), Accumulate::kYes, precision_);
    lastX_.resize(batch, dim);
    for (Index b = 0; b < batch; ++b) lastX_.row(b) = x.row(b * len + len - 1);
    q_.resize(batch, dim);
    q_.rowwise() = bQkv_().row(0).head(dim);
    gemm(q_, lastX_, wQkv_().topRows(dim).transpose(), Accumulate::kYes, precision_);
    probs_.resize(batch * heads, len);
    context_.resize(batch, dim);
    const Scalar scale = static_cast<Scalar>(scale_);
    const bool keyMask = mask_.keyMaskActive();
    mask_.prepareKeyMask(batch, keyMask);
    const bool parallel = batch > 1 && n * dim > 32768;
    using ConstBlock = Eigen::Map<const Matrix, 0, Eigen::OuterStride<>>;
    parallelFor(batch, parallel, [&](Index b) {
      for (Index h = 0; h < heads; ++h) {
        ConstBlock k(kv_.data() + b * len * 2 * dim + h * d, len, d, Eigen::OuterStride<>(2 * dim));
        probs_.row(b * heads + h).noalias() = q_.row(b).segment(h * d, d) * k.transpose();
      }
      // The heads' rows of sequence b are contiguous; all of them belong to the last query.
      mask_.softmaxBlock(probs_.row(b * heads).data(), heads, b, len - 1, 0, scale, keyMask);
    });
    dropActive_ = training_ && dropout_.probability() > 0.0;
    if (dropActive_) dropout_.forward(probs_, dropped_);
    const Matrix& p = dropActive_ ? dropped_ : probs_;
    parallelFor(batch, parallel, [&](Index b) {
      for (Index h = 0; h < heads; ++h) {
        ConstBlock v(kv_.data() + b * len * 2 * dim + dim + h * d, len, d, Eigen::OuterStride<>(2 * dim));
        context_.row(b).segment(h * d, d).noalias() = p.row(b * heads + h) * v;
      }
    });
    y.resize(batch, dim);
    y.rowwise() = bO_().row(0);
    gemm(y, context_, wO_().transpose(), Accumulate::kYes, precision_);
  }

  /// Backward in last-query mode: dy [batch × dim], dx [batch·seqLen × dim].
  void backwardLast(const Matrix& x, const Matrix& dy, Matrix& dx) {
    const Index n = x.rows(), dim = options_.dim, len = options_.sequenceLength, heads = options_.heads;
    const Index batch = n / len, d = headDim_;
    RECDIFF_REQUIRE(dy.rows() == batch && dy.cols() == dim, "MultiHeadAttention::backward(): dy is ", dy.rows(), "x",
                    dy.cols(), ", expected ", batch, "x", dim, " (last-query mode)");
    gemm(dWO_(), dy.transpose(), context_, Accumulate::kYes, precision_);
    dBO_().row(0) += dy.colwise().sum();
    dContext_.resize(batch, dim);
    gemm(dContext_, dy, wO_(), Accumulate::kNo, precision_);
    const Matrix& p = dropActive_ ? dropped_ : probs_;
    dKv_.resize(n, 2 * dim);
    dQ_.resize(batch, dim);
    dProbs_.resize(batch * heads, len);
    using ConstBlock = Eigen::Map<const Matrix, 0, Eigen::OuterStride<>>;
    using Block = Eigen::Map<Matrix, 0, Eigen::OuterStride<>>;
    const bool parallel = batch > 1 && n * dim > 32768;
    parallelFor(batch, parallel, [&](Index b) {
      for (Index h = 0; h < heads; ++h) {
        ConstBlock v(kv_.data() + b * len * 2 * dim + dim + h * d, len, d, Eigen::OuterStride<>(2 * dim));
        Block dv(dKv_.data() + b * len * 2 * dim + dim + h * d, len, d, Eigen::OuterStride<>(2 * dim));
        const auto dO = dContext_.row(b).segment(h * d, d);
        dv.noalias() = p.row(b * heads + h).transpose() * dO;
        dProbs_.row(b * heads + h).noalias() = dO * v.transpose();
      }
    });
    if (dropActive_) dropout_.backward(dProbs_, dProbs_);
    const Scalar scale = static_cast<Scalar>(scale_);
    parallelFor(batch, parallel, [&](Index b) {
      for (Index h = 0; h < heads; ++h) {
        ConstBlock k(kv_.data() + b * len * 2 * dim + h * d, len, d, Eigen::OuterStride<>(2 * dim));
        Block dk(dKv_.data() + b * len * 2 * dim + h * d, len, d, Eigen::OuterStride<>(2 * dim));
        auto dS = dProbs_.row(b * heads + h);
        if (mask_.queryRowBlanked(b, len - 1)) {
          dS.setZero();
        } else {
          softmaxRowBackward(probs_.row(b * heads + h).data(), dS.data(), dS.data(), len);
          dS *= scale;
        }
        dQ_.row(b).segment(h * d, d).noalias() = dS * k;
        dk.noalias() = dS.transpose() * q_.row(b).segment(h * d, d);
      }
    });
    gemm(dWQkv_().middleRows(dim, 2 * dim), dKv_.transpose(), x, Accumulate::kYes, precision_);
    gemm(dWQkv_().topRows(dim), dQ_.transpose(), lastX_, Accumulate::kYes, precision_);
    dBQkv_().row(0).segment(dim, 2 * dim) += dKv_.colwise().sum();
    dBQkv_().row(0).head(dim) += dQ_.colwise().sum();
    dx.resize(n, dim);
    gemm(dx, dKv_, wQkv_().middleRows(dim, 2 * dim), Accumulate::kNo, precision_);
    dQx_.resize(batch, dim);
    gemm(dQx_, dQ_, wQkv_().topRows(dim), Accumulate::kNo, precision_);
    for (Index b = 0; b < batch; ++b) dx.row(b * len + len - 1) += dQx_.row(b);
  }

  void run(const Matrix& x, Matrix& y) {
    const Index n = x.rows(), dim = options_.dim, len = options_.sequenceLength, heads = options_.heads;
    RECDIFF_REQUIRE(x.cols() == dim, "MultiHeadAttention::forward(): x has ", x.cols(), " columns, expected ", dim);
    RECDIFF_REQUIRE(n % len == 0, "MultiHeadAttention::forward(): ", n, " rows is not a multiple of sequenceLength ",
                    len);
    const Index batch = n / len, d = headDim_;
    RECDIFF_REQUIRE(mask_.matches(batch), "MultiHeadAttention::forward(): the padding mask has ",
                    mask_.rows(), " sequences, x has ", batch);
    RECDIFF_ASSERT(wQkv_.bound());
    if (lastOnly_) {
      runLast(x, y);
      return;
    }
    qkv_.resize(n, 3 * dim);
    qkv_.rowwise() = bQkv_().row(0);
    gemm(qkv_, x, wQkv_().transpose(), Accumulate::kYes, precision_);
    probs_.resize(batch * heads * len, len);
    context_.resize(n, dim);
    const Scalar scale = static_cast<Scalar>(scale_);
    const bool keyMask = mask_.keyMaskActive();
    mask_.prepareKeyMask(batch, keyMask);
    using ConstBlock = Eigen::Map<const Matrix, 0, Eigen::OuterStride<>>;
    using Block = Eigen::Map<Matrix, 0, Eigen::OuterStride<>>;
    dropActive_ = training_ && dropout_.probability() > 0.0;
    const bool drop = dropActive_;
    const bool parallel = batch > 1 && n * dim > 32768;
    parallelFor(batch, parallel, [&](Index b) {
      for (Index h = 0; h < heads; ++h) {
        const Scalar* base = qkv_.data() + b * len * 3 * dim + h * d;
        ConstBlock q(base, len, d, Eigen::OuterStride<>(3 * dim));
        ConstBlock k(base + dim, len, d, Eigen::OuterStride<>(3 * dim));
        const Index r0 = (b * heads + h) * len;
        auto s = probs_.middleRows(r0, len);
        s.noalias() = q * k.transpose();
        if (!options_.causal) {
          mask_.softmaxBlock(probs_.row(r0).data(), len, b, 0, 1, scale, keyMask);
        } else {
          for (Index i = 0; i < len; ++i) {
            Scalar* row = probs_.row(r0 + i).data();
            if (mask_.queryRowBlanked(b, i)) {
              std::fill(row, row + len, Scalar(1) / static_cast<Scalar>(len));
              continue;
            }
            mask_.attentionSoftmax(row, b, i + 1, scale, keyMask);
          }
        }
        if (!drop) {
          ConstBlock v(base + 2 * dim, len, d, Eigen::OuterStride<>(3 * dim));
          Block o(context_.data() + b * len * dim + h * d, len, d, Eigen::OuterStride<>(dim));
          o.noalias() = probs_.middleRows(r0, len) * v;
        }
      }
    });
    if (drop) {
      dropout_.forward(probs_, dropped_);
      parallelFor(batch, parallel, [&](Index b) {
        for (Index h = 0; h < heads; ++h) {
          ConstBlock v(qkv_.data() + b * len * 3 * dim + 2 * dim + h * d, len, d, Eigen::OuterStride<>(3 * dim));
          Block o(context_.data() + b * len * dim + h * d, len, d, Eigen::OuterStride<>(dim));
          o.noalias() = dropped_.middleRows((b * heads + h) * len, len) * v;
        }
      });
    }
    y.resize(n, dim);
    y.rowwise() = bO_().row(0);
    gemm(y, context_, wO_().transpose(), Accumulate::kYes, precision_);
  }

  MultiHeadAttentionOptions options_;
  Index headDim_ = 1;
  double scale_ = 1.0;
  Dropout<Scalar> dropout_;
  bool training_ = true;
  bool dropActive_ = false;
  MappedMatrix<Scalar> wQkv_, bQkv_, wO_, bO_, dWQkv_, dBQkv_, dWO_, dBO_;
  AttentionMask<Scalar> mask_;
  Matrix input_, qkv_, probs_, dropped_, context_, dContext_, dQkv_, dProbs_;
  Matrix kv_, q_, lastX_, dKv_, dQ_, dQx_;  // last-query mode
  bool lastOnly_ = false;
  GemmPrecision precision_ = GemmPrecision::kFloat;
  std::vector<Matrix> scratch_;
  const Matrix* borrowed_ = nullptr;
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_MULTI_HEAD_ATTENTION_HPP
