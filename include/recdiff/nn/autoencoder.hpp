#ifndef RECDIFF_NN_AUTOENCODER_HPP
#define RECDIFF_NN_AUTOENCODER_HPP

/// \file autoencoder.hpp
/// L-DiffRec's item-cluster autoencoder (Wang et al., SIGIR 2023, Sec. 3.4; the authors'
/// `L-DiffRec/models/Autoencoder.py`), composed as the reference does:
///
///   input      x [batch × items]; in training, dropout p = 0.1 on x (scaled by 1/(1−p)); the dropped-out x is
///              also the reconstruction target (the reference's Encode returns it)
///   encoders   one per item cluster c with n_c items: n_c → latent_c[0] → … → 2·latent_c[last], tanh after
///              EVERY layer (including the last: the reference never pops the encoder's final activation);
///              the output splits into μ_c | logvar_c
///   latent     z = concat_c(μ_c + ε ⊙ exp(½ logvar_c)) in training when variational, else concat_c(μ_c)
///   KL         −½ · mean_rows Σ_cols (1 + logvar − μ² − exp(logvar)) — computed (and added to the loss with
///              the annealed weight) whether or not the autoencoder is variational, as in the reference
///   decoder    clusters = 1: latent → outDims… → items (tanh between layers, none at the end);
///              clusters > 1 and outDims empty: one Linear(latent → items) over the concatenated latent;
///              clusters > 1 and outDims not empty: per cluster, reversed(latent_c) → n_c (the reference uses
///              outDims only as this switch)
///   loss       multinomial log-likelihood −mean_rows Σ_items log_softmax(logits) ⊙ target (Mult-VAE)
///
/// Per-cluster latent widths (the reference's rule): for every cluster but the last,
/// latent_c[j] = max(1, ⌊n_c / items · inDims[j]⌋); the last cluster takes inDims[j] − Σ of the others.
/// Logits and inputs are in the original item order (the cluster gather/scatter is internal), so callers never
/// see the reference's `category_map` permutation. Weights Xavier-normal, biases 0.
///
/// Usage:
///   ItemAutoencoder<float> ae({.items = 3706, .inDims = {300}, .variational = true}, labels, rng);
///   ae.setTraining(true);
///   ae.encode(x, rng, z);            // z: [batch × latentSize()]
///   ae.decode(zHat, logits);         // logits: [batch × items]
///   const double rec = multinomialLoss(logits, ae.target(), &dLogits);
///   ae.parameters().zeroGrad();
///   ae.backwardDecode(dLogits, &dZhat);
///   ae.backwardEncode(dZ, klWeight);  // dZ: gradient of the rest of the loss w.r.t. z; adds klWeight · ∂KL

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "../error.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "init.hpp"
#include "linear.hpp"
#include "parameters.hpp"

namespace recdiff::nn {

/// Options of ItemAutoencoder (reference flags in brackets).
struct AutoencoderOptions {
  Index items = 0;                    ///< catalogue size
  std::vector<Index> inDims = {300};  ///< [--in_dims] encoder widths, the last = total latent size
  std::vector<Index> outDims = {};    ///< [--out_dims] decoder hidden widths (clusters = 1) / per-cluster switch
  bool variational = true;            ///< [--reparam] sample z with the reparameterisation trick in training
  double dropout = 0.1;               ///< on the input row, in training
};

/// Multinomial log-likelihood loss −mean_rows Σ_j log_softmax(logits)_j · target_j, and optionally its gradient
/// d/dlogits = (softmax(logits) · Σ_j target_j − target) / batch.
template <class Scalar>
double multinomialLoss(const RowMatrix<Scalar>& logits, const RowMatrix<Scalar>& target, RowMatrix<Scalar>* dLogits) {
  RECDIFF_REQUIRE(logits.rows() == target.rows() && logits.cols() == target.cols(), "multinomialLoss(): logits [",
                  logits.rows(), " x ", logits.cols(), "] and target [", target.rows(), " x ", target.cols(), "] differ");
  const Index b = logits.rows();
  RECDIFF_REQUIRE(b > 0, "multinomialLoss(): empty batch");
  if (dLogits != nullptr) dLogits->resize(b, logits.cols());
  double total = 0.0;
  for (Index i = 0; i < b; ++i) {
    const double m = static_cast<double>(logits.row(i).maxCoeff());
    const double lse = m + std::log((logits.row(i).template cast<double>().array() - m).exp().sum());
    const double mass = static_cast<double>(target.row(i).sum());
    total -= (logits.row(i).template cast<double>().array() - lse).matrix().dot(target.row(i).template cast<double>());
    if (dLogits != nullptr)
      dLogits->row(i) = (((logits.row(i).template cast<double>().array() - lse).exp() * mass -
                          target.row(i).template cast<double>().array()) /
                         static_cast<double>(b))
                            .matrix()
                            .template cast<Scalar>();
  }
  return total / static_cast<double>(b);
}

/// L-DiffRec's autoencoder over item clusters (see the file comment). Owns its parameter buffer.
template <class ScalarT>
class ItemAutoencoder {
 public:
  using Scalar = ScalarT;
  using Matrix = RowMatrix<Scalar>;

  /// `labels` [items]: the cluster of each item, clusters numbered 0 … C−1 with none empty (C = 1: one cluster).
  ItemAutoencoder(const AutoencoderOptions& options, const Eigen::ArrayXi& labels, Rng& rng) : options_(options) {
    RECDIFF_REQUIRE(options.items > 0 && labels.size() == options.items, "ItemAutoencoder: ", labels.size(),
                    " labels for ", options.items, " items");
    RECDIFF_REQUIRE(!options.inDims.empty(), "ItemAutoencoder: inDims is empty");
    RECDIFF_REQUIRE(options.dropout >= 0.0 && options.dropout < 1.0, "ItemAutoencoder: dropout ", options.dropout,
                    " outside [0, 1)");
    const Index clusters = labels.size() > 0 ? static_cast<Index>(labels.maxCoeff()) + 1 : 0;
    RECDIFF_REQUIRE(labels.minCoeff() >= 0, "ItemAutoencoder: negative cluster label");
    std::vector<std::vector<int>> members(static_cast<std::size_t>(clusters));
    for (Index i = 0; i < labels.size(); ++i) members[static_cast<std::size_t>(labels(i))].push_back(static_cast<int>(i));
    for (Index c = 0; c < clusters; ++c)
      RECDIFF_REQUIRE(!members[static_cast<std::size_t>(c)].empty(), "ItemAutoencoder: cluster ", c, " is empty");
    const std::vector<Index>& in = options.inDims;
    // latent widths per cluster
    std::vector<std::vector<Index>> widths(static_cast<std::size_t>(clusters));
    for (Index c = 0; c < clusters; ++c) {
      auto& w = widths[static_cast<std::size_t>(c)];
      for (std::size_t j = 0; j < in.size(); ++j) {
        if (c + 1 < clusters) {
          const Index v = static_cast<Index>(static_cast<double>(members[static_cast<std::size_t>(c)].size()) /
                                             static_cast<double>(options.items) * static_cast<double>(in[j]));
          w.push_back(v != 0 ? v : 1);
        } else {
          Index rest = in[j];
          for (Index o = 0; o + 1 < clusters; ++o) rest -= widths[static_cast<std::size_t>(o)][j];
          RECDIFF_REQUIRE(rest > 0, "ItemAutoencoder: inDims[", j, "] = ", in[j], " is too small for ", clusters, " clusters");
          w.push_back(rest);
        }
      }
    }
    Index offset = 0;
    for (Index c = 0; c < clusters; ++c) {
      Block e;
      e.items = members[static_cast<std::size_t>(c)];
      const auto& w = widths[static_cast<std::size_t>(c)];
      e.latentOffset = offset;
      e.latentSize = w.back();
      offset += e.latentSize;
      std::vector<Index> chain{static_cast<Index>(e.items.size())};
      for (std::size_t j = 0; j + 1 < w.size(); ++j) chain.push_back(w[j]);
      chain.push_back(2 * w.back());
      for (std::size_t k = 0; k + 1 < chain.size(); ++k) e.layers.emplace_back(chain[k], chain[k + 1]);
      encoders_.push_back(std::move(e));
    }
    latent_ = offset;
    if (clusters == 1 || options.outDims.empty()) {
      Block d;
      if (clusters == 1) {
        d.items = members[0];
      } else {
        for (const auto& m : members) d.items.insert(d.items.end(), m.begin(), m.end());
      }
      d.latentOffset = 0;
      d.latentSize = latent_;
      std::vector<Index> chain{latent_};
      if (clusters == 1) chain.insert(chain.end(), options.outDims.begin(), options.outDims.end());
      chain.push_back(options.items);
      for (std::size_t k = 0; k + 1 < chain.size(); ++k) d.layers.emplace_back(chain[k], chain[k + 1]);
      decoders_.push_back(std::move(d));
    } else {
      for (Index c = 0; c < clusters; ++c) {
        Block d;
        d.items = members[static_cast<std::size_t>(c)];
        d.latentOffset = encoders_[static_cast<std::size_t>(c)].latentOffset;
        d.latentSize = encoders_[static_cast<std::size_t>(c)].latentSize;
        std::vector<Index> chain(widths[static_cast<std::size_t>(c)].rbegin(), widths[static_cast<std::size_t>(c)].rend());
        chain.push_back(static_cast<Index>(d.items.size()));
        for (std::size_t k = 0; k + 1 < chain.size(); ++k) d.layers.emplace_back(chain[k], chain[k + 1]);
        decoders_.push_back(std::move(d));
      }
    }
    Index count = 0;
    for (auto* b : blocks())
      for (auto& l : b->layers) count += l.parameterCount();
    params_.resize(count);
    ParameterBinder<Scalar> binder(params_);
    for (auto* b : blocks())
      for (auto& l : b->layers) binder.bind(l);
    initialize(rng);
  }

  ItemAutoencoder(const ItemAutoencoder&) = delete;
  ItemAutoencoder& operator=(const ItemAutoencoder&) = delete;

  /// Xavier-normal weights, zero biases (the reference's xavier_normal_initialization).
  void initialize(Rng& rng) {
    for (auto* b : blocks())
      for (auto& l : b->layers) {
        init::xavierNormal(l.weight(), rng);
        l.bias().setZero();
      }
  }

  const AutoencoderOptions& options() const noexcept { return options_; }
  Index items() const noexcept { return options_.items; }
  Index clusters() const noexcept { return static_cast<Index>(encoders_.size()); }
  /// Total latent width (the diffusion's dimension).
  Index latentSize() const noexcept { return latent_; }
  /// Latent width of each cluster, in cluster order.
  std::vector<Index> clusterLatentSizes() const {
    std::vector<Index> s;
    for (const auto& e : encoders_) s.push_back(e.latentSize);
    return s;
  }
  ParameterBuffer<Scalar>& parameters() noexcept { return params_; }
  const ParameterBuffer<Scalar>& parameters() const noexcept { return params_; }
  void setTraining(bool training) noexcept { training_ = training; }
  bool training() const noexcept { return training_; }

  /// Encodes x [batch × items] into z [batch × latentSize()]; in training draws the dropout mask and (when
  /// variational) ε from `rng`. Caches what backwardEncode() needs; target(), mu(), logVar(), kl() refer to it.
  template <class Derived>
  void encode(const Eigen::MatrixBase<Derived>& x, Rng& rng, Matrix& z) {
    RECDIFF_REQUIRE(x.cols() == items(), "ItemAutoencoder::encode(): input has ", x.cols(), " columns, expected ", items());
    const Index b = x.rows();
    target_ = x.template cast<Scalar>();
    if (training_ && options_.dropout > 0.0) {
      mask_.resize(b, items());
      rng.fillUniform(mask_, 0.0, 1.0);
      const Scalar keep = static_cast<Scalar>(1.0 - options_.dropout);
      mask_ = (mask_.array() < keep).select(Matrix::Constant(b, items(), Scalar(1) / keep), Matrix::Zero(b, items()));
      target_.array() *= mask_.array();
    }
    mu_.resize(b, latent_);
    logVar_.resize(b, latent_);
    for (auto& e : encoders_) {
      gatherColumns(target_, e.items, e.input);
      e.acts.resize(e.layers.size());
      const Matrix* h = &e.input;
      for (std::size_t k = 0; k < e.layers.size(); ++k) {
        e.layers[k].forwardBorrowed(*h, e.acts[k]);
        e.acts[k] = e.acts[k].array().tanh();
        h = &e.acts[k];
      }
      mu_.middleCols(e.latentOffset, e.latentSize) = h->leftCols(e.latentSize);
      logVar_.middleCols(e.latentOffset, e.latentSize) = h->rightCols(e.latentSize);
    }
    if (training_ && options_.variational) {
      eps_.resize(b, latent_);
      rng.fillNormal(eps_);
      z = mu_.array() + eps_.array() * (Scalar(0.5) * logVar_.array()).exp();
      sampled_ = true;
    } else {
      z = mu_;
      sampled_ = false;
    }
  }

  /// KL term of the last encode(): −½ · mean_rows Σ (1 + logvar − μ² − exp(logvar)).
  double kl() const {
    const auto t = (Scalar(1) + logVar_.array() - mu_.array().square() - logVar_.array().exp()).template cast<double>();
    return -0.5 * t.sum() / static_cast<double>(mu_.rows());
  }
  /// The reconstruction target of the last encode() (the input after dropout) [batch × items].
  const Matrix& target() const noexcept { return target_; }
  const Matrix& mu() const noexcept { return mu_; }
  const Matrix& logVar() const noexcept { return logVar_; }

  /// Item logits [batch × items] (original item order) from latents z [batch × latentSize()]; caches for
  /// backwardDecode().
  void decode(const Matrix& z, Matrix& logits) {
    RECDIFF_REQUIRE(z.cols() == latent_, "ItemAutoencoder::decode(): latent has ", z.cols(), " columns, expected ", latent_);
    logits.resize(z.rows(), items());
    for (auto& d : decoders_) {
      d.input = z.middleCols(d.latentOffset, d.latentSize);
      d.acts.resize(d.layers.size());
      const Matrix* h = &d.input;
      for (std::size_t k = 0; k < d.layers.size(); ++k) {
        d.layers[k].forwardBorrowed(*h, d.acts[k]);
        if (k + 1 < d.layers.size()) d.acts[k] = d.acts[k].array().tanh();
        h = &d.acts[k];
      }
      scatterColumns(*h, d.items, logits);
    }
  }

  /// Accumulates the decoder's parameter gradients for dLogits [batch × items] and, if dZ is given, writes
  /// d/dz [batch × latentSize()].
  void backwardDecode(const Matrix& dLogits, Matrix* dZ) {
    if (dZ != nullptr) dZ->setZero(dLogits.rows(), latent_);
    for (auto& d : decoders_) {
      Matrix dy;
      gatherColumns(dLogits, d.items, dy);
      Matrix dx;
      for (std::size_t k = d.layers.size(); k-- > 0;) {
        if (k + 1 < d.layers.size()) dy.array() *= Scalar(1) - d.acts[k].array().square();
        d.layers[k].backward(dy, dx);
        dy.swap(dx);
      }
      if (dZ != nullptr) dZ->middleCols(d.latentOffset, d.latentSize) += dy;
    }
  }

  /// Accumulates the encoders' parameter gradients for dZ [batch × latentSize()] (the gradient of the rest of the
  /// loss w.r.t. the last encode()'s z) plus klWeight · ∂KL.
  void backwardEncode(const Matrix& dZ, double klWeight) {
    RECDIFF_REQUIRE(dZ.rows() == mu_.rows() && dZ.cols() == latent_, "ItemAutoencoder::backwardEncode(): dZ shape mismatch");
    const Scalar w = static_cast<Scalar>(klWeight / static_cast<double>(mu_.rows()));
    Matrix dMu = dZ, dLogVar(dZ.rows(), latent_);
    // ∂KL/∂μ = μ / B, ∂KL/∂logvar = −½ (1 − exp(logvar)) / B
    dMu.array() += w * mu_.array();
    dLogVar.array() = Scalar(-0.5) * w * (Scalar(1) - logVar_.array().exp());
    if (sampled_) {
      const auto s = (Scalar(0.5) * logVar_.array()).exp();
      dLogVar.array() += dZ.array() * eps_.array() * Scalar(0.5) * s;
    }
    for (auto& e : encoders_) {
      Matrix dy(dZ.rows(), 2 * e.latentSize);
      dy.leftCols(e.latentSize) = dMu.middleCols(e.latentOffset, e.latentSize);
      dy.rightCols(e.latentSize) = dLogVar.middleCols(e.latentOffset, e.latentSize);
      Matrix dx;
      for (std::size_t k = e.layers.size(); k-- > 0;) {
        dy.array() *= Scalar(1) - e.acts[k].array().square();
        if (k == 0) {
          e.layers[k].backwardParameters(dy);
        } else {
          e.layers[k].backward(dy, dx);
          dy.swap(dx);
        }
      }
    }
  }

  /// Named tensors in buffer order (checkpoints): encoder.<cluster>.<layer>.weight [out × in] and .bias [out],
  /// then decoder.<block>.<layer>.… (one decoder block, or one per cluster).
  std::vector<ParameterShape> parameterShapes() const {
    std::vector<ParameterShape> shapes;
    const auto add = [&shapes](const char* part, const std::vector<Block>& blocks) {
      for (std::size_t c = 0; c < blocks.size(); ++c)
        for (std::size_t k = 0; k < blocks[c].layers.size(); ++k) {
          const auto& l = blocks[c].layers[k];
          const std::string name = std::string(part) + "." + std::to_string(c) + "." + std::to_string(k);
          shapes.push_back({name + ".weight", {l.outputSize(), l.inputSize()}});
          shapes.push_back({name + ".bias", {l.outputSize()}});
        }
    };
    add("encoder", encoders_);
    add("decoder", decoders_);
    return shapes;
  }

  /// Scalars per part: {encoders, decoders}.
  std::pair<Index, Index> parameterSplit() const {
    Index enc = 0, dec = 0;
    for (const auto& e : encoders_)
      for (const auto& l : e.layers) enc += l.parameterCount();
    for (const auto& d : decoders_)
      for (const auto& l : d.layers) dec += l.parameterCount();
    return {enc, dec};
  }

 private:
  struct Block {
    std::vector<int> items;  // items read (encoder) or written (decoder), in column order
    Index latentOffset = 0, latentSize = 0;
    std::vector<Linear<Scalar>> layers;
    Matrix input;
    std::vector<Matrix> acts;
  };

  /// dst(r, j) = src(r, columns[j]), row by row (row-major: contiguous writes, reads within one cached row).
  static void gatherColumns(const Matrix& src, const std::vector<int>& columns, Matrix& dst) {
    const Index n = static_cast<Index>(columns.size());
    dst.resize(src.rows(), n);
    for (Index r = 0; r < src.rows(); ++r) {
      const Scalar* in = src.data() + r * src.cols();
      Scalar* out = dst.data() + r * n;
      for (Index j = 0; j < n; ++j) out[j] = in[columns[static_cast<std::size_t>(j)]];
    }
  }
  /// dst(r, columns[j]) = src(r, j), row by row; dst keeps its shape.
  static void scatterColumns(const Matrix& src, const std::vector<int>& columns, Matrix& dst) {
    const Index n = static_cast<Index>(columns.size());
    RECDIFF_ASSERT(src.cols() == n && src.rows() == dst.rows());
    for (Index r = 0; r < src.rows(); ++r) {
      const Scalar* in = src.data() + r * n;
      Scalar* out = dst.data() + r * dst.cols();
      for (Index j = 0; j < n; ++j) out[columns[static_cast<std::size_t>(j)]] = in[j];
    }
  }

  std::vector<Block*> blocks() {
    std::vector<Block*> b;
    for (auto& e : encoders_) b.push_back(&e);
    for (auto& d : decoders_) b.push_back(&d);
    return b;
  }

  AutoencoderOptions options_;
  std::vector<Block> encoders_, decoders_;
  Index latent_ = 0;
  ParameterBuffer<Scalar> params_;
  bool training_ = true;
  bool sampled_ = false;
  Matrix target_, mask_, mu_, logVar_, eps_;
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_AUTOENCODER_HPP
