#ifndef RECDIFF_NN_EMBEDDING_HPP
#define RECDIFF_NN_EMBEDDING_HPP

/// \file embedding.hpp
/// A lookup table: forward gathers rows, y_i = W[ids_i]; backward scatter-adds, dW[ids_i] += dy_i.
/// An optional padding row (for example item 0 in DiffuRec's and SASRec's tables) is either trained like any
/// other row (DiffuRec, which declares no padding_idx) or frozen (PyTorch's padding_idx: it receives no
/// gradient and reset() sets it to zero).
///
/// Parameters: weight [rows × dim]. reset(rng) draws N(0, 1) like torch.nn.Embedding.
///
/// Usage:
///   nn::Embedding<float> items(nItems + 1, 128, {.paddingIndex = 0, .padding = nn::PaddingRow::Trained});
///   binder.bind(items); items.reset(rng);
///   items.forward(ids, y);                 // ids: [n] ints, y: [n × 128]
///   items.backward(dy);                    // accumulates into the weight's gradient

#include <Eigen/Core>

#include "../error.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "parameters.hpp"

namespace recdiff::nn {

/// How an Embedding treats its padding row.
enum class PaddingRow {
  Trained,  ///< the padding row is an ordinary parameter (DiffuRec)
  Frozen,   ///< no gradient reaches it; reset() zeroes it (torch padding_idx)
};

struct EmbeddingOptions {
  Index paddingIndex = -1;             ///< row index of the padding entry, or -1 for none
  PaddingRow padding = PaddingRow::Trained;
};

/// Row lookup table [rows × dim] with a scatter-add backward.
template <class Scalar>
class Embedding {
 public:
  Embedding(Index rows, Index dim, EmbeddingOptions options = {}) : rows_(rows), dim_(dim), options_(options) {
    RECDIFF_REQUIRE(rows > 0 && dim > 0, "Embedding: rows and dim must be positive, got ", rows, " and ", dim);
    RECDIFF_REQUIRE(options.paddingIndex >= -1 && options.paddingIndex < rows, "Embedding: paddingIndex ",
                    options.paddingIndex, " is outside [-1, ", rows, ")");
  }

  Index parameterCount() const noexcept { return rows_ * dim_; }
  Index rows() const noexcept { return rows_; }
  Index dim() const noexcept { return dim_; }
  const EmbeddingOptions& options() const noexcept { return options_; }

  void bind(ParameterSlice<Scalar> values, ParameterSlice<Scalar> grads) {
    weight_.bindTo(values, rows_, dim_);
    dWeight_.bindTo(grads, rows_, dim_);
  }

  /// N(0, 1) entries; a frozen padding row is set to zero.
  void reset(Rng& rng) {
    auto w = weight_();
    rng.fillNormal(w);
    if (frozenPadding()) w.row(options_.paddingIndex).setZero();
  }

  void setTraining(bool /*training*/) noexcept {}

  /// The table and its gradient, [rows × dim].
  typename MappedMatrix<Scalar>::Map weight() { return weight_(); }
  typename MappedMatrix<Scalar>::ConstMap weight() const { return weight_(); }
  typename MappedMatrix<Scalar>::Map weightGrad() { return dWeight_(); }

  /// Gathers y_i = W[ids_i]. ids: [n] with entries in [0, rows); y: [n × dim] (resized). Caches ids.
  void forward(const Eigen::Ref<const Eigen::ArrayXi>& ids, RowMatrix<Scalar>& y) {
    lookup(ids, y);
    ids_ = ids;
  }

  /// Gathers y_i = W[ids_i] without caching anything (for a second read of the table; see accumulate()).
  void lookup(const Eigen::Ref<const Eigen::ArrayXi>& ids, RowMatrix<Scalar>& y) const {
    checkIds(ids, "forward");
    y.resize(ids.size(), dim_);
    const auto w = weight_();
    for (Index i = 0; i < ids.size(); ++i) y.row(i) = w.row(ids(i));
  }

  /// Scatter-adds dW[ids_i] += dy_i for the ids of the last forward (skipping a frozen padding row).
  void backward(const RowMatrix<Scalar>& dy) { accumulate(ids_, dy); }

  /// Scatter-adds dW[ids_i] += dy_i for explicit ids (used when the same table is read in several places).
  void accumulate(const Eigen::Ref<const Eigen::ArrayXi>& ids, const RowMatrix<Scalar>& dy) {
    RECDIFF_REQUIRE(dy.rows() == ids.size() && dy.cols() == dim_, "Embedding::backward(): dy is ", dy.rows(), "x",
                    dy.cols(), " for ", ids.size(), " ids of dim ", dim_);
    checkIds(ids, "backward");
    auto dw = dWeight_();
    const bool skip = frozenPadding();
    for (Index i = 0; i < ids.size(); ++i) {
      if (skip && ids(i) == options_.paddingIndex) continue;
      dw.row(ids(i)) += dy.row(i);
    }
  }

 private:
  bool frozenPadding() const noexcept { return options_.paddingIndex >= 0 && options_.padding == PaddingRow::Frozen; }

  void checkIds(const Eigen::Ref<const Eigen::ArrayXi>& ids, const char* where) const {
    for (Index i = 0; i < ids.size(); ++i)
      if (ids(i) < 0 || ids(i) >= rows_)
        throw std::out_of_range(::recdiff::detail::concat("Embedding::", where, "(): id ", ids(i), " at position ", i,
                                               " is outside [0, ", rows_, ")"));
  }

  Index rows_, dim_;
  EmbeddingOptions options_;
  MappedMatrix<Scalar> weight_, dWeight_;
  Eigen::ArrayXi ids_;
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_EMBEDDING_HPP
