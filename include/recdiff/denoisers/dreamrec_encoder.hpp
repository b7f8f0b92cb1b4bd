#ifndef RECDIFF_DENOISERS_DREAMREC_ENCODER_HPP
#define RECDIFF_DENOISERS_DREAMREC_ENCODER_HPP

/// \file dreamrec_encoder.hpp
/// DreamRec's history encoder "T-enc" (Yang et al., "Generate What You Prefer", NeurIPS 2023, Sec. 4.2; the
/// authors' `Tenc.cacu_h`): one SASRec-style block over the last N items of a history, right-padded.
///   e   = Dropout(E[seq] + P) ⊙ m                       m = 1 at real positions, 0 at padding
///   q   = LN1(e)
///   a_i = Σ_{j ≤ i} softmax_j(Q_i·K_jᵀ / √H) V_j + q_i  Q = q W_qᵀ + b_q;  K, V = e W_{k,v}ᵀ + b_{k,v}
///                                                       (keys and values from the UNnormalised e, scale 1/√H
///                                                       whatever the heads, dropout on the probabilities,
///                                                       no output projection: SASRec's TF layout)
///   r   = LN2(a);   f = LNf(Dropout(W2 relu(W1 r + b1) + b2) + r)   (the reference's PositionwiseFeedForward)
///   h   = LN3(f ⊙ m)[L − 1]                             L = the history's real length
/// All LayerNorms use PyTorch's eps 1e-5.
///
/// Only the row L − 1 is read, and with causal attention over right-padded rows it depends on e_0 … e_{L−1}
/// and on nothing else; so this encoder computes Q, the attention, the FFN and the LayerNorms for that single
/// row per history, and moves the key and value projections to that row's side (W_kᵀ Q once instead of K for
/// L rows; W_v applied to Σ_j p̃_j e_j once instead of V for L rows; b_k cancels in the softmax and gets no
/// gradient). The numbers are the reference's full-matrix pass (tested), at about 1/N of its work. Padded keys
/// never enter a real row's causal window, so the reference's key mask has no effect on h and is not needed.
///
/// Empty histories (L = 0): the reference indexes position −1, i.e. the last, padded, position, whose
/// masked output is 0, so h = LN3(0) = β3, LN3's bias (a learned constant, the same for every empty
/// history). This encoder returns exactly that, and back-propagates into β3 only. DreamRec models can
/// instead map empty histories to the guidance null vector (DreamRecOptions::emptyHistory).
///
/// Item ids: 1 … items are items, 0 is the padding id (row 0 of E is a trained row that never reaches h; the
/// reference pads with id `items` instead — only the numbering differs).
///
/// Usage:
///   DreamRecEncoder<float> enc({.items = 3706, .hidden = 64, .maxLength = 10});
///   binder.bind(enc); enc.reset(rng); enc.setRng(rng.fork(1));
///   enc.forward(history, lengths, h);     // history [batch × 10] ids, lengths [batch], h [batch × 64]
///   enc.backward(dh);                     // accumulates every gradient, E's included

#include <cmath>
#include <vector>

#include <Eigen/Core>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "../nn/dropout.hpp"
#include "../nn/embedding.hpp"
#include "../nn/feed_forward.hpp"
#include "../nn/init.hpp"
#include "../nn/layer_norm.hpp"
#include "../nn/linear.hpp"
#include "../nn/parameters.hpp"
#include "../nn/softmax.hpp"

namespace recdiff {

struct DreamRecEncoderOptions {
  Index items = 0;        ///< number of items; E has items + 1 rows, row 0 = padding
  Index hidden = 64;      ///< H
  Index heads = 1;        ///< attention heads (H a multiple of it); the reference uses 1
  Index maxLength = 10;   ///< N, history positions (learned position table of N rows)
  double dropout = 0.1;   ///< embedding, attention-probability and FFN-output dropout (training mode)
  double eps = 1e-5;      ///< LayerNorm epsilon (PyTorch's default, as the reference)
};

/// DreamRec's T-enc; see the file comment.
template <class Scalar_>
class DreamRecEncoder {
 public:
  using Scalar = Scalar_;
  using Matrix = RowMatrix<Scalar>;
  /// [batch × maxLength] item ids, right-padded with 0.
  using Histories = Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  explicit DreamRecEncoder(const DreamRecEncoderOptions& options)
      : options_(validated(options)),
        items_(options.items + 1, options.hidden),
        positions_(options.maxLength, options.hidden),
        ln1_(options.hidden, options.eps),
        q_(options.hidden, options.hidden),
        kv_(options.hidden, 2 * options.hidden),
        ln2_(options.hidden, options.eps),
        ffn_(options.hidden, options.hidden, nn::FeedForwardActivation::kRelu, 0.0),
        lnf_(options.hidden, options.eps),
        ln3_(options.hidden, options.eps),
        embeddingDropout_(options.dropout),
        attentionDropout_(options.dropout),
        ffnDropout_(options.dropout) {}

  const DreamRecEncoderOptions& options() const noexcept { return options_; }
  Index hidden() const noexcept { return options_.hidden; }
  Index items() const noexcept { return options_.items; }

  Index parameterCount() const noexcept {
    return items_.parameterCount() + positions_.parameterCount() + ln1_.parameterCount() + q_.parameterCount() +
           kv_.parameterCount() + ln2_.parameterCount() + ffn_.parameterCount() + lnf_.parameterCount() +
           ln3_.parameterCount();
  }

  /// Binds E, P, LN1, W_q, [W_k; W_v], LN2, the FFN, LNf and LN3 in this order.
  void bind(nn::ParameterSlice<Scalar> values, nn::ParameterSlice<Scalar> grads) {
    RECDIFF_REQUIRE(values.size == parameterCount() && grads.size == parameterCount(),
                    "DreamRecEncoder::bind(): expected slices of ", parameterCount(), " scalars, got ", values.size);
    Index at = 0;
    const auto bindOne = [&](auto& layer) {
      const Index n = layer.parameterCount();
      layer.bind(values.sub(at, n), grads.sub(at, n));
      at += n;
    };
    bindOne(items_);
    bindOne(positions_);
    bindOne(ln1_);
    bindOne(q_);
    bindOne(kv_);
    bindOne(ln2_);
    bindOne(ffn_);
    bindOne(lnf_);
    bindOne(ln3_);
  }

  /// (name, dims) of every tensor in bind() order, for checkpoints.
  std::vector<nn::ParameterShape> parameterShapes(const std::string& prefix = "encoder.") const {
    const Index h = options_.hidden;
    return {{prefix + "item_embeddings", {options_.items + 1, h}},
            {prefix + "positional_embeddings", {options_.maxLength, h}},
            {prefix + "ln_1", {2, h}},
            {prefix + "linear_q", {h * h + h}},
            {prefix + "linear_kv", {2 * h * h + 2 * h}},
            {prefix + "ln_2", {2, h}},
            {prefix + "feed_forward", {2 * h * h + 2 * h}},
            {prefix + "feed_forward.layer_norm", {2, h}},
            {prefix + "ln_3", {2, h}}};
  }

  /// The reference's initialisation in distribution: E, P ~ N(0, 1); LayerNorms 1 / 0; PyTorch's default
  /// Linear / Conv1d init U(±1/√fan_in) for every weight and bias.
  void reset(Rng& rng) {
    items_.reset(rng);
    positions_.reset(rng);
    for (auto* ln : {&ln1_, &ln2_, &lnf_, &ln3_}) ln->reset();
    const double bound = 1.0 / std::sqrt(static_cast<double>(options_.hidden));
    nn::init::uniform(q_.weight(), rng, -bound, bound);
    nn::init::uniform(q_.bias(), rng, -bound, bound);
    nn::init::uniform(kv_.weight(), rng, -bound, bound);
    nn::init::uniform(kv_.bias(), rng, -bound, bound);
    nn::init::uniform(ffn_.weight1(), rng, -bound, bound);
    nn::init::uniform(ffn_.bias1(), rng, -bound, bound);
    nn::init::uniform(ffn_.weight2(), rng, -bound, bound);
    nn::init::uniform(ffn_.bias2(), rng, -bound, bound);
  }

  /// Training mode (the default) applies the three dropouts.
  void setTraining(bool training) {
    training_ = training;
    embeddingDropout_.setTraining(training);
    attentionDropout_.setTraining(training);
    ffnDropout_.setTraining(training);
  }
  bool training() const noexcept { return training_; }

  /// Seeds the dropouts from independent sub-streams of rng.
  void setRng(const Rng& rng) {
    embeddingDropout_.reseed(rng.fork(1));
    attentionDropout_.reseed(rng.fork(2));
    ffnDropout_.reseed(rng.fork(3));
  }

  /// Data-parallel row shards (nn::Dropout::setRowShard): the next training forward() holds histories
  /// [firstRow, firstRow + its rows) of a batch of globalRows and masks them exactly as that whole batch would.
  void setRowShard(Index firstRow, Index globalRows) {
    RECDIFF_REQUIRE(firstRow >= 0 && globalRows >= firstRow, "DreamRecEncoder::setRowShard(): rows from ", firstRow,
                    " of a batch of ", globalRows);
    shardFirst_ = firstRow;
    shardRows_ = globalRows;
  }

  /// Saves or loads the three dropout streams' positions (the parameters are saved by their owner).
  template <class Archive>
  void serializeState(Archive& ar) {
    ar("embedding_dropout", embeddingDropout_);
    ar("attention_dropout", attentionDropout_);
    ar("ffn_dropout", ffnDropout_);
  }

  nn::Embedding<Scalar>& itemEmbedding() noexcept { return items_; }
  const nn::Embedding<Scalar>& itemEmbedding() const noexcept { return items_; }
  nn::Embedding<Scalar>& positionEmbedding() noexcept { return positions_; }
  nn::LayerNorm<Scalar>& outputNorm() noexcept { return ln3_; }

  /// h [batch × H] for histories [batch × N'] (N' ≤ maxLength; right-padded with 0) of real lengths
  /// `lengths` [batch] (0 … N'). Caches what backward() needs.
  void forward(const Histories& seq, const Eigen::Ref<const Eigen::ArrayXi>& lengths, Matrix& h) {
    const Index batch = seq.rows(), len = seq.cols(), dim = options_.hidden, heads = options_.heads;
    RECDIFF_REQUIRE(len > 0 && len <= options_.maxLength, "DreamRecEncoder::forward(): histories of ", len,
                    " positions, expected 1 … ", options_.maxLength);
    RECDIFF_REQUIRE(lengths.size() == batch, "DreamRecEncoder::forward(): ", lengths.size(), " lengths for ", batch,
                    " histories");
    batch_ = batch;
    len_ = len;
    lengths_ = lengths;
    for (Index b = 0; b < batch; ++b) {
      RECDIFF_REQUIRE(lengths(b) >= 0 && lengths(b) <= len, "DreamRecEncoder::forward(): length ", lengths(b),
                      " of history ", b, " is outside [0, ", len, "]");
      for (Index j = 0; j < len; ++j) {
        const int id = seq(b, j);
        RECDIFF_REQUIRE(id >= 0 && id <= options_.items, "DreamRecEncoder::forward(): item id ", id, " at (", b, ", ", j,
                        ") is outside [0, ", options_.items, "]");
        RECDIFF_REQUIRE((j < lengths(b)) == (id != 0), "DreamRecEncoder::forward(): history ", b, " of length ",
                        lengths(b), " has id ", id, " at position ", j, " (right padding with 0 expected)");
      }
    }
    // e = Dropout(E[seq] + P) ⊙ m: padded rows are 0 (and stay 0 through the dropout).
    e_.setZero(batch * len, dim);
    const auto table = items_.weight();
    const auto pos = positions_.weight();
    for (Index b = 0; b < batch; ++b)
      for (Index j = 0; j < lengths(b); ++j) e_.row(b * len + j) = table.row(seq(b, j)) + pos.row(j);
    if (shardRows_ >= 0) {  // setRowShard(): the shard's rows of the whole batch's masks, then no shard
      embeddingDropout_.setRowShard(shardFirst_ * len, shardRows_ * len);
      attentionDropout_.setRowShard(shardFirst_ * heads, shardRows_ * heads);
      ffnDropout_.setRowShard(shardFirst_, shardRows_);
      shardRows_ = -1;
    }
    embeddingDropout_.forward(e_, e_);
    ids_ = seq;
    // The last real row of each history (an empty one reads its zero row N'−1: q = LN1(0)).
    last_.resize(batch, dim);
    for (Index b = 0; b < batch; ++b) last_.row(b) = e_.row(b * len + (lengths(b) > 0 ? lengths(b) - 1 : len - 1));
    ln1_.forward(last_, query_);
    q_.forwardBorrowed(query_, qOut_);
    // One attention row per history and head, with the key and value projections moved to the query side
    // (one row instead of L):  s_j = Q_h·(W_k,h e_j + b_k,h)/√H = (W_k,hᵀ Q_h)·e_j/√H + const  (the constant
    // Q_h·b_k,h cancels in the softmax), and Σ_j p̃_j (W_v,h e_j + b_v,h) = W_v,h ē_h + (Σ_j p̃_j) b_v,h with
    // ē_h = Σ_j p̃_j e_j.
    const Index d = dim / heads;
    const Scalar scale = Scalar(1) / std::sqrt(static_cast<Scalar>(dim));
    const auto wkv = kv_.weight();
    const auto bkv = kv_.bias();
    qk_.resize(batch, heads * dim);
    for (Index hd = 0; hd < heads; ++hd)
      qk_.middleCols(hd * dim, dim).noalias() = qOut_.middleCols(hd * d, d) * wkv.middleRows(hd * d, d);
    // Histories are independent: rows b are split over the threads (each row's arithmetic is the same on any
    // number of threads).
    const bool parallel = batch >= kParallelRows;
    probs_.setZero(batch * heads, len);
    parallelFor(batch, parallel, [&](Index b) {
      const Index l = lengths(b);
      if (l == 0) return;  // no key: the context is 0 (the row is masked out below)
      const auto keys = e_.middleRows(b * len, l);
      for (Index hd = 0; hd < heads; ++hd) {
        auto p = probs_.row(b * heads + hd).head(l);
        p.noalias() = qk_.row(b).segment(hd * dim, dim) * keys.transpose();
        p *= scale;
        nn::softmaxRowInPlace(p.data(), l);
      }
    });
    attentionDropout_.forward(probs_, dropped_);
    eBar_.setZero(batch, heads * dim);
    pSum_.setZero(batch, heads);
    parallelFor(batch, parallel, [&](Index b) {
      const Index l = lengths(b);
      if (l == 0) return;
      const auto keys = e_.middleRows(b * len, l);
      for (Index hd = 0; hd < heads; ++hd) {
        const auto p = dropped_.row(b * heads + hd).head(l);
        eBar_.row(b).segment(hd * dim, dim).noalias() = p * keys;
        pSum_(b, hd) = p.sum();
      }
    });
    // a = context + q.
    a_ = query_;
    for (Index hd = 0; hd < heads; ++hd) {
      a_.middleCols(hd * d, d).noalias() += eBar_.middleCols(hd * dim, dim) * wkv.middleRows(dim + hd * d, d).transpose();
      a_.middleCols(hd * d, d).noalias() += pSum_.col(hd) * bkv.row(0).segment(dim + hd * d, d);
    }
    // f = LNf(Dropout(FFN(LN2(a))) + LN2(a)), masked for empty histories; h = LN3(f).
    ln2_.forward(a_, r_);
    ffn_.forwardBorrowed(r_, u_);
    ffnDropout_.forward(u_, u_);
    u_ += r_;
    lnf_.forward(u_, f_);
    for (Index b = 0; b < batch; ++b)
      if (lengths(b) == 0) f_.row(b).setZero();
    ln3_.forward(f_, h);
  }

  /// Back-propagates dL/dh [batch × H] into every parameter gradient (E through the history rows).
  void backward(const Matrix& dh) {
    const Index batch = batch_, len = len_, dim = options_.hidden, heads = options_.heads, d = dim / heads;
    RECDIFF_REQUIRE(dh.rows() == batch && dh.cols() == dim, "DreamRecEncoder::backward(): dh is ", dh.rows(), "x",
                    dh.cols(), ", expected ", batch, "x", dim);
    ln3_.backward(dh, g1_);
    for (Index b = 0; b < batch; ++b)
      if (lengths_(b) == 0) g1_.row(b).setZero();
    lnf_.backward(g1_, g2_);  // d(u + r)
    ffnDropout_.backward(g2_, g1_);
    ffn_.backward(g1_, g3_);
    g2_ += g3_;  // dr
    ln2_.backward(g2_, gA_);
    // Attention (see forward()): a = Σ_h [W_v,h ē_h + (Σ_j p̃_j) b_v,h] + q.
    const auto wkv = kv_.weight();
    const auto bkv = kv_.bias();
    auto dWkv = kv_.weightGrad();
    auto dBkv = kv_.biasGrad();
    gEBar_.resize(batch, heads * dim);
    for (Index hd = 0; hd < heads; ++hd) {
      const auto dCtx = gA_.middleCols(hd * d, d);
      dWkv.middleRows(dim + hd * d, d).noalias() += dCtx.transpose() * eBar_.middleCols(hd * dim, dim);
      dBkv.row(0).segment(dim + hd * d, d).noalias() += pSum_.col(hd).transpose() * dCtx;
      gEBar_.middleCols(hd * dim, dim).noalias() = dCtx * wkv.middleRows(dim + hd * d, d);
    }
    // Per history b (rows b of gProbs, gQk and rows b·len … of gE): split over the threads as in forward().
    const bool parallel = batch >= kParallelRows;
    gE_.setZero(batch * len, dim);
    gProbs_.setZero(batch * heads, len);
    parallelFor(batch, parallel, [&](Index b) {
      const Index l = lengths_(b);
      if (l == 0) return;
      const auto keys = e_.middleRows(b * len, l);
      auto gKeys = gE_.middleRows(b * len, l);
      for (Index hd = 0; hd < heads; ++hd) {
        const Scalar vb = gA_.row(b).segment(hd * d, d).dot(bkv.row(0).segment(dim + hd * d, d));
        const auto gBar = gEBar_.row(b).segment(hd * dim, dim);
        auto gp = gProbs_.row(b * heads + hd).head(l);
        gp.noalias() = gBar * keys.transpose();
        gp.array() += vb;
        gKeys.noalias() += dropped_.row(b * heads + hd).head(l).transpose() * gBar;
      }
    });
    attentionDropout_.backward(gProbs_, gProbs_);
    const Scalar scale = Scalar(1) / std::sqrt(static_cast<Scalar>(dim));
    gQk_.setZero(batch, heads * dim);
    parallelFor(batch, parallel, [&](Index b) {
      const Index l = lengths_(b);
      if (l == 0) return;
      const auto keys = e_.middleRows(b * len, l);
      auto gKeys = gE_.middleRows(b * len, l);
      for (Index hd = 0; hd < heads; ++hd) {
        auto g = gProbs_.row(b * heads + hd).head(l);
        nn::softmaxRowBackward(probs_.row(b * heads + hd).data(), g.data(), g.data(), l);
        g *= scale;
        gQk_.row(b).segment(hd * dim, dim).noalias() += g * keys;
        gKeys.noalias() += g.transpose() * qk_.row(b).segment(hd * dim, dim);
      }
    });
    // qk_h = Q_h W_k,h:  dQ_h = dqk_h W_k,hᵀ,  dW_k,h += Q_hᵀ dqk_h  (b_k has no gradient: it cancels).
    gQ_.resize(batch, dim);
    for (Index hd = 0; hd < heads; ++hd) {
      gQ_.middleCols(hd * d, d).noalias() = gQk_.middleCols(hd * dim, dim) * wkv.middleRows(hd * d, d).transpose();
      dWkv.middleRows(hd * d, d).noalias() += qOut_.middleCols(hd * d, d).transpose() * gQk_.middleCols(hd * dim, dim);
    }
    q_.backward(gQ_, gQuery_);
    gQuery_ += gA_;  // the residual onto q
    ln1_.backward(gQuery_, gLast_);
    for (Index b = 0; b < batch; ++b) gE_.row(b * len + (lengths_(b) > 0 ? lengths_(b) - 1 : len - 1)) += gLast_.row(b);
    embeddingDropout_.backward(gE_, gE_);
    auto dTable = items_.weightGrad();
    auto dPos = positions_.weightGrad();
    for (Index b = 0; b < batch; ++b)
      for (Index j = 0; j < lengths_(b); ++j) {
        dTable.row(ids_(b, j)) += gE_.row(b * len + j);
        dPos.row(j) += gE_.row(b * len + j);
      }
  }

 private:
  static DreamRecEncoderOptions validated(const DreamRecEncoderOptions& o) {
    RECDIFF_REQUIRE(o.items > 0, "DreamRecEncoder: items must be positive, got ", o.items);
    RECDIFF_REQUIRE(o.hidden > 0 && o.heads > 0 && o.hidden % o.heads == 0, "DreamRecEncoder: hidden ", o.hidden,
                    " must be a positive multiple of heads ", o.heads);
    RECDIFF_REQUIRE(o.maxLength > 0, "DreamRecEncoder: maxLength must be positive, got ", o.maxLength);
    RECDIFF_REQUIRE(o.dropout >= 0.0 && o.dropout < 1.0, "DreamRecEncoder: dropout must lie in [0, 1), got ",
                    o.dropout);
    return o;
  }

  /// Batches of at least this many histories split their per-history loops over the OpenMP threads.
  static constexpr Index kParallelRows = 64;

  DreamRecEncoderOptions options_;
  nn::Embedding<Scalar> items_, positions_;
  nn::LayerNorm<Scalar> ln1_;
  nn::Linear<Scalar> q_, kv_;
  nn::LayerNorm<Scalar> ln2_;
  nn::FeedForward<Scalar> ffn_;
  nn::LayerNorm<Scalar> lnf_, ln3_;
  nn::Dropout<Scalar> embeddingDropout_, attentionDropout_, ffnDropout_;
  Index shardFirst_ = 0, shardRows_ = -1;  ///< < 0: no shard pending (setRowShard)
  bool training_ = true;
  Index batch_ = 0, len_ = 0;
  Histories ids_;
  Eigen::ArrayXi lengths_;
  Matrix e_, last_, query_, qOut_, qk_, probs_, dropped_, eBar_, pSum_, a_, r_, u_, f_;
  Matrix g1_, g2_, g3_, gA_, gEBar_, gProbs_, gQk_, gQ_, gQuery_, gLast_, gE_;
};

}  // namespace recdiff

#endif  // RECDIFF_DENOISERS_DREAMREC_ENCODER_HPP
