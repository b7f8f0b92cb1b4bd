#ifndef RECDIFF_NN_ATTENTION_MASK_HPP
#define RECDIFF_NN_ATTENTION_MASK_HPP

/// \file attention_mask.hpp
/// The padding mask of nn::MultiHeadAttention and the masked softmax of its score rows (forward and backward).
/// Two meanings of a padding mask (PaddingMask): padded positions hidden as keys (the sound default), or
/// padded QUERY rows blanked as DiffuRec's reference code does (they attend uniformly to all seqLen positions
/// and pass no gradient to Q or K, while padded keys stay visible to every other row). Causal masking is the
/// caller's `visible` argument of attentionSoftmax(). Split out of multi_head_attention.hpp unchanged: the
/// same operations in the same order.

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Core>

#include "../error.hpp"
#include "../types.hpp"
#include "softmax.hpp"

namespace recdiff::nn {

/// Which positions a padding mask hides.
enum class PaddingMask {
  kKeys,       ///< padded positions are hidden as keys (standard)
  kQueryRows,  ///< padded positions' query rows are blanked (DiffuRec's reference code); padded keys stay visible
};

/// [batch × seqLen] validity of positions: true = a real item, false = padding.
using PositionMask = Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// An optional [batch × seqLen] padding mask and the softmax of attention score rows under it.
template <class Scalar>
class AttentionMask {
 public:
  using Matrix = RowMatrix<Scalar>;

  AttentionMask(PaddingMask mode, Index sequenceLength) : mode_(mode), len_(sequenceLength) {}

  void setSequenceLength(Index sequenceLength) noexcept { len_ = sequenceLength; }

  /// Sets the mask [batch × seqLen] (true = real position) for the following calls.
  void set(const Eigen::Ref<const PositionMask>& valid) {
    RECDIFF_REQUIRE(valid.cols() == len_, "MultiHeadAttention::setPaddingMask(): mask has ", valid.cols(),
                    " columns, sequenceLength is ", len_);
    mask_ = valid;
    hasMask_ = true;
  }
  void clear() noexcept { hasMask_ = false; }
  bool active() const noexcept { return hasMask_; }
  /// True when a mask is set in key-padding mode (what prepareKeyMask() / the softmax functions call keyMask).
  bool keyMaskActive() const noexcept { return hasMask_ && mode_ == PaddingMask::kKeys; }
  /// Whether the mask (if any) covers `batch` sequences.
  bool matches(Index batch) const noexcept { return !hasMask_ || mask_.rows() == batch; }
  Index rows() const noexcept { return mask_.rows(); }

  /// Whether query row i of sequence b is blanked (PaddingMask::kQueryRows and position i padded).
  bool queryRowBlanked(Index b, Index i) const {
    return hasMask_ && mode_ == PaddingMask::kQueryRows && !mask_(b, i);
  }

  /// dP (for rows r0 … r0+len−1 of the probabilities probs_) becomes dS = scale · P ⊙ (dP − <dP, P>); blanked rows get 0.
  void softmaxBlockBackward(const Matrix& probs_, Index b, Index r0, Matrix& dP, Scalar scale) const {
    const Index len = len_;
    for (Index i = 0; i < len; ++i) {
      if (queryRowBlanked(b, i)) {
        dP.row(i).setZero();
        continue;
      }
      softmaxRowBackward(probs_.row(r0 + i).data(), dP.row(i).data(), dP.row(i).data(), len);
      dP.row(i) *= scale;
    }
  }

  /// Per-sequence key masks for attentionSoftmax() (key-padding mode): keyKeep_ 1 / 0 and keyBias_ 0 / −∞ per
  /// key, anyKey_ whether a sequence has a visible key.
  void prepareKeyMask(Index batch, bool keyMask) {
    if (!keyMask) return;
    const Index len = len_;
    keyKeep_.resize(batch, len);
    keyBias_.resize(batch, len);
    anyKey_.resize(batch);
    for (Index b = 0; b < batch; ++b) {
      for (Index j = 0; j < len; ++j) {
        keyKeep_(b, j) = mask_(b, j) ? Scalar(1) : Scalar(0);
        keyBias_(b, j) = mask_(b, j) ? Scalar(0) : -std::numeric_limits<Scalar>::infinity();
      }
      anyKey_(b) = mask_.row(b).any();
    }
  }

  /// Softmax of `rows` contiguous score rows of sequence b (seqLen entries each), in place, without causal
  /// masking; row i belongs to query query0 + i·queryStep (for the query-row mask). The exponentials run over
  /// the whole block in one vectorised pass (per row, the last seqLen mod 16 entries of every row would be
  /// scalar libm calls); maxima, masks and sums are per row as in attentionSoftmax().
  void softmaxBlock(Scalar* block, Index rows, Index b, Index query0, Index queryStep, Scalar scale,
                    bool keyMask) const {
    const Index len = len_;
    using Row = Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>>;
    using ConstRow = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>;
    Row all(block, rows * len);
    if (keyMask) {
      // Key padding (never together with blanked query rows: that is the other PaddingMask).
      if (!anyKey_(b)) {
        all.setZero();
        return;
      }
      const ConstRow keep(keyKeep_.row(b).data(), len), bias(keyBias_.row(b).data(), len);
      for (Index i = 0; i < rows; ++i) {
        Row r(block + i * len, len);
        const Scalar m = (r + bias).maxCoeff();
        r = (r - m).min(Scalar(0)) * scale;
      }
      all = all.exp();
      for (Index i = 0; i < rows; ++i) {
        Row r(block + i * len, len);
        r *= keep;
        r *= Scalar(1) / r.sum();
      }
      return;
    }
    for (Index i = 0; i < rows; ++i) {
      Row r(block + i * len, len);
      if (queryRowBlanked(b, query0 + i * queryStep)) {
        r.setZero();
        continue;
      }
      const Scalar m = r.maxCoeff();
      r = (r - m) * scale;
    }
    all = all.exp();
    for (Index i = 0; i < rows; ++i) {
      Row r(block + i * len, len);
      if (queryRowBlanked(b, query0 + i * queryStep)) r.setConstant(Scalar(1) / static_cast<Scalar>(len));
      else r *= Scalar(1) / r.sum();
    }
  }

  /// Softmax of one score row of sequence b, in place, vectorised: entries j ≥ visible (causal) and padded
  /// keys (keyMask; prepareKeyMask() first) get probability exactly 0; a row with no visible key becomes all
  /// zeros. Without causal masking it is one vectorised pass: the masked maximum as max(r + keyBias), then
  /// exp(min(r − m, 0)·scale) ⊙ keyKeep (the min keeps a masked score above m from overflowing; visible
  /// scores are ≤ m, so their values are those of the plain formula).
  void attentionSoftmax(Scalar* row, Index b, Index visible, Scalar scale, bool keyMask) const {
    const Index len = len_;
    Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> r(row, len);
    if (visible == len) {
      if (!keyMask) {
        const Scalar m = r.maxCoeff();
        r = ((r - m) * scale).exp();
        r *= Scalar(1) / r.sum();
        return;
      }
      if (!anyKey_(b)) {
        r.setZero();
        return;
      }
      using ConstRow = Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>;
      const ConstRow keep(keyKeep_.row(b).data(), len), bias(keyBias_.row(b).data(), len);
      const Scalar m = (r + bias).maxCoeff();
      r = ((r - m).min(Scalar(0)) * scale).exp() * keep;
      r *= Scalar(1) / r.sum();
      return;
    }
    Scalar m = -std::numeric_limits<Scalar>::infinity();
    bool any = false;
    for (Index j = 0; j < visible; ++j)
      if (!keyMask || mask_(b, j)) {
        m = std::max(m, row[j]);
        any = true;
      }
    if (!any) {
      r.setZero();
      return;
    }
    r = ((r - m) * scale).exp();  // max of the visible entries is 0 after the shift: no overflow
    for (Index j = visible; j < len; ++j) row[j] = Scalar(0);
    if (keyMask)
      for (Index j = 0; j < visible; ++j)
        if (!mask_(b, j)) row[j] = Scalar(0);
    r *= Scalar(1) / r.sum();
  }

 private:
  PaddingMask mode_;
  Index len_;
  PositionMask mask_;
  bool hasMask_ = false;
  Matrix keyKeep_, keyBias_;  // prepareKeyMask()
  Eigen::Array<bool, Eigen::Dynamic, 1> anyKey_;
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_ATTENTION_MASK_HPP
