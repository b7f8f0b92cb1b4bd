#ifndef RECDIFF_NN_TRANSFORMER_BLOCK_HPP
#define RECDIFF_NN_TRANSFORMER_BLOCK_HPP

/// \file transformer_block.hpp
/// One Transformer encoder block over [batch·seqLen × dim] rows, in either residual form:
///   pre-LN  (Xiong et al. 2020; BERT4Rec's and DiffuRec's SublayerConnection):
///     h = x + Drop(Attn(LN1(x))),   y = h + Drop(FFN(LN2(h)))
///   post-LN (Vaswani et al. 2017):
///     h = LN1(x + Drop(Attn(x))),   y = LN2(h + Drop(FFN(h)))
/// and, optionally, a dropout on the block output (DiffuRec's TransformerBlock applies one). All dropouts
/// (attention probabilities, FFN hidden, residual branches, output) share one rate.
///
/// Last-row mode (setLastRowOnly(true)): only the last position of each sequence is computed past the
/// attention's keys and values (nn::MultiHeadAttention's last-query mode), so y is [batch × dim]. For the
/// final block of a model that reads the last position only (DiffuRec), it gives the same rows as the full
/// block at a fraction of the cost; backward still writes dx for every position.
///
/// Parameters in the bound slice: attention, feed-forward, LN1, LN2 (each as its own layer documents).
///
/// Usage:
///   nn::TransformerBlock<float> block({.dim = 128, .heads = 4, .sequenceLength = 50, .eps = 1e-12});
///   binder.bind(block); block.reset(rng);
///   block.setPaddingMask(valid);  block.forward(x, y);  block.backward(dy, dx);

#include <Eigen/Core>

#include "../error.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "dropout.hpp"
#include "feed_forward.hpp"
#include "gemm.hpp"
#include "layer_norm.hpp"
#include "multi_head_attention.hpp"
#include "parameters.hpp"

namespace recdiff::nn {

struct TransformerBlockOptions {
  Index dim = 0;             ///< model width
  Index heads = 1;           ///< attention heads
  Index sequenceLength = 1;  ///< positions per sequence
  Index ffnHidden = 0;       ///< FFN inner width; 0 means 4·dim
  bool preNorm = true;       ///< pre-LN (true) or post-LN (false)
  double eps = 1e-5;         ///< LayerNorm epsilon (DiffuRec: 1e-12)
  FeedForwardActivation activation = FeedForwardActivation::kGeluTanh;
  double dropout = 0.0;      ///< one rate for every dropout in the block
  bool outputDropout = false;  ///< also drop the block's output (DiffuRec)
  bool causal = false;
  PaddingMask paddingMask = PaddingMask::kKeys;
  double scale = 0.0;        ///< attention scale; 0 means 1/√(dim/heads)
};

/// A Transformer encoder block; see the file comment.
template <class Scalar>
class TransformerBlock {
 public:
  using Matrix = RowMatrix<Scalar>;

  explicit TransformerBlock(const TransformerBlockOptions& options)
      : options_(options),
        attention_({.dim = options.dim,
                    .heads = options.heads,
                    .sequenceLength = options.sequenceLength,
                    .scale = options.scale,
                    .causal = options.causal,
                    .paddingMask = options.paddingMask,
                    .dropout = options.dropout}),
        ffn_(options.dim, options.ffnHidden > 0 ? options.ffnHidden : 4 * options.dim, options.activation,
             options.dropout),
        norm1_(options.dim, options.eps),
        norm2_(options.dim, options.eps),
        drop1_(options.dropout),
        drop2_(options.dropout),
        dropOut_(options.outputDropout ? options.dropout : 0.0) {}

  Index parameterCount() const noexcept {
    return attention_.parameterCount() + ffn_.parameterCount() + norm1_.parameterCount() + norm2_.parameterCount();
  }
  const TransformerBlockOptions& options() const noexcept { return options_; }

  void bind(ParameterSlice<Scalar> values, ParameterSlice<Scalar> grads) {
    RECDIFF_REQUIRE(values.size == parameterCount() && grads.size == parameterCount(),
                    "TransformerBlock::bind(): expected slices of ", parameterCount(), " scalars, got ", values.size);
    Index at = 0;
    const auto bindOne = [&](auto& layer) {
      const Index n = layer.parameterCount();
      layer.bind(values.sub(at, n), grads.sub(at, n));
      at += n;
    };
    bindOne(attention_);
    bindOne(ffn_);
    bindOne(norm1_);
    bindOne(norm2_);
  }

  /// Xavier-normal projection weights, zero biases, unit LayerNorm gains.
  void reset(Rng& rng) {
    attention_.reset(rng);
    ffn_.reset(rng);
    norm1_.reset();
    norm2_.reset();
  }

  /// Training mode is the default (as torch modules); evaluation mode turns every dropout off.
  void setTraining(bool training) {
    attention_.setTraining(training);
    ffn_.setTraining(training);
    drop1_.setTraining(training);
    drop2_.setTraining(training);
    dropOut_.setTraining(training);
  }

  /// Seeds every dropout in the block from independent sub-streams of rng.
  void setRng(const Rng& rng) {
    attention_.setRng(rng.fork(1));
    ffn_.setRng(rng.fork(2));
    drop1_.reseed(rng.fork(3));
    drop2_.reseed(rng.fork(4));
    dropOut_.reseed(rng.fork(5));
  }

  void setSequenceLength(Index sequenceLength) {
    attention_.setSequenceLength(sequenceLength);
    options_.sequenceLength = sequenceLength;
  }
  void setPaddingMask(const Eigen::Ref<const PositionMask>& valid) { attention_.setPaddingMask(valid); }
  void clearPaddingMask() noexcept { attention_.clearPaddingMask(); }

  /// Last-row mode (see the file comment): forward() writes y [batch × dim]; backward() takes dy of that shape.
  void setLastRowOnly(bool lastOnly) noexcept {
    lastOnly_ = lastOnly;
    attention_.setLastQueryOnly(lastOnly);
  }

  /// Arithmetic of the block's projection and FFN products (MultiHeadAttention::setPrecision(),
  /// FeedForward::setPrecision()); GemmPrecision::kFloat unless set.
  void setPrecision(GemmPrecision precision) {
    attention_.setPrecision(precision);
    ffn_.setPrecision(precision);
  }
  GemmPrecision precision() const noexcept { return attention_.precision(); }

  MultiHeadAttention<Scalar>& attention() noexcept { return attention_; }
  FeedForward<Scalar>& feedForward() noexcept { return ffn_; }
  LayerNorm<Scalar>& norm1() noexcept { return norm1_; }
  LayerNorm<Scalar>& norm2() noexcept { return norm2_; }

  /// x, y: [batch·seqLen × dim]; y may not alias x.
  void forward(const Matrix& x, Matrix& y) {
    if (lastOnly_) {
      const Index len = options_.sequenceLength, batch = x.rows() / len;
      xLast_.resize(batch, x.cols());
      for (Index b = 0; b < batch; ++b) xLast_.row(b) = x.row(b * len + len - 1);
    }
    const Matrix& base = lastOnly_ ? xLast_ : x;  // the residual stream of the rows computed
    if (options_.preNorm) {
      norm1_.forward(x, a_);
      attention_.forwardBorrowed(a_, u_);
      residual(drop1_, base, u_, h_);
      norm2_.forward(h_, b_);
      ffn_.forwardBorrowed(b_, v_);
      residual(drop2_, h_, v_, y);
    } else {
      attention_.forward(x, u_);
      residual(drop1_, base, u_, z_);
      norm1_.forward(z_, h_);
      ffn_.forwardBorrowed(h_, v_);
      residual(drop2_, h_, v_, z_);
      norm2_.forward(z_, y);
    }
    dropOut_.forward(y, y);
  }

  /// Accumulates every parameter gradient and writes dx.  dy, dx: [batch·seqLen × dim]; dx may not alias dy.
  void backward(const Matrix& dy, Matrix& dx) {
    const Matrix* g = &dy;
    if (options_.outputDropout && options_.dropout > 0.0) {
      dropOut_.backward(dy, gOut_);
      g = &gOut_;
    }
    if (options_.preNorm) {
      // y = h + D2(FFN(LN2(h)))
      branchGrad(drop2_, *g, gBranch_);
      ffn_.backward(gBranch_, gTmp_);
      norm2_.backward(gTmp_, gTmp2_);
      gH_ = *g + gTmp2_;
      // h = x + D1(Attn(LN1(x))); in last-row mode these gradients cover every position while the ones
      // above cover the last rows only: separate buffers, so that neither is reallocated at every step.
      branchGrad(drop1_, gH_, gBranch_);
      Matrix& gA = lastOnly_ ? gAll_ : gTmp_;
      Matrix& gB = lastOnly_ ? gAll2_ : gTmp2_;
      attention_.backward(gBranch_, gA);
      norm1_.backward(gA, gB);
      addResidual(gH_, gB, dx);
    } else {
      // y = LN2(h + D2(FFN(h)))
      norm2_.backward(*g, gZ_);
      branchGrad(drop2_, gZ_, gBranch_);
      ffn_.backward(gBranch_, gTmp_);
      gH_ = gZ_ + gTmp_;
      // h = LN1(x + D1(Attn(x)))
      norm1_.backward(gH_, gZ_);
      branchGrad(drop1_, gZ_, gBranch_);
      attention_.backward(gBranch_, gTmp_);
      addResidual(gZ_, gTmp_, dx);
    }
  }

 private:
  /// out = base + Drop(branch); the sum in row blocks split over the threads when large.
  static void residual(Dropout<Scalar>& drop, const Matrix& base, Matrix& branch, Matrix& out) {
    drop.forward(branch, branch);  // identity in evaluation mode or with p = 0
    out.resize(base.rows(), base.cols());
    forEachRowBlock(base.rows(), base.cols(), [&](Index begin, Index count) {
      out.middleRows(begin, count) = base.middleRows(begin, count) + branch.middleRows(begin, count);
    });
  }
  static void branchGrad(Dropout<Scalar>& drop, const Matrix& g, Matrix& out) { drop.backward(g, out); }

  /// dx = gBranch + the residual gradient (every row, or the last rows only in last-row mode).
  void addResidual(const Matrix& gResidual, const Matrix& gBranch, Matrix& dx) const {
    if (!lastOnly_) {
      dx = gResidual + gBranch;
      return;
    }
    const Index len = options_.sequenceLength;
    dx = gBranch;
    for (Index b = 0; b < gResidual.rows(); ++b) dx.row(b * len + len - 1) += gResidual.row(b);
  }

  TransformerBlockOptions options_;
  MultiHeadAttention<Scalar> attention_;
  FeedForward<Scalar> ffn_;
  LayerNorm<Scalar> norm1_, norm2_;
  Dropout<Scalar> drop1_, drop2_, dropOut_;
  Matrix a_, u_, h_, b_, v_, z_;
  Matrix gOut_, gBranch_, gTmp_, gTmp2_, gH_, gZ_;
  Matrix gAll_, gAll2_;  // last-row mode: the every-position gradients of the attention sublayer
  Matrix xLast_;
  bool lastOnly_ = false;
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_TRANSFORMER_BLOCK_HPP
