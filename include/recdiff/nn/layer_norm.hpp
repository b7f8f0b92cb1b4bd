#ifndef RECDIFF_NN_LAYER_NORM_HPP
#define RECDIFF_NN_LAYER_NORM_HPP

/// \file layer_norm.hpp
/// Layer normalisation over the last dimension (Ba, Kiros, Hinton 2016, Eq. 4), with the epsilon inside the
/// square root as TensorFlow, PyTorch and DiffuRec's own LayerNorm do:
///   mu = mean_j x_ij,  var = mean_j (x_ij - mu)^2,  xhat = (x - mu) / sqrt(var + eps),  y = gamma ⊙ xhat + beta.
/// Backward: with g = dy ⊙ gamma, dx = (g - mean(g) - xhat ⊙ mean(g ⊙ xhat)) / sqrt(var + eps).
/// PyTorch's default eps is 1e-5; DiffuRec (and BERT's TF code) use 1e-12.
///
/// Parameters (in this order in the bound slice): gamma [dim], beta [dim]. reset() sets gamma = 1, beta = 0.
///
/// Usage:
///   nn::LayerNorm<float> norm(128, 1e-12);
///   binder.bind(norm); norm.reset();
///   norm.forward(x, y);            // x, y: [rows × 128]
///   norm.backward(dy, dx);         // accumulates dgamma, dbeta

#include <Eigen/Core>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../types.hpp"
#include "parameters.hpp"

namespace recdiff::nn {

/// Layer normalisation over each row; see the file comment for the maths.
template <class Scalar>
class LayerNorm {
 public:
  explicit LayerNorm(Index dim, double eps = 1e-5) : dim_(dim), eps_(eps) {
    RECDIFF_REQUIRE(dim > 0, "LayerNorm: dim must be positive, got ", dim);
    RECDIFF_REQUIRE(eps >= 0.0, "LayerNorm: eps must be >= 0, got ", eps);
  }

  Index parameterCount() const noexcept { return 2 * dim_; }
  Index dim() const noexcept { return dim_; }
  double eps() const noexcept { return eps_; }

  void bind(ParameterSlice<Scalar> values, ParameterSlice<Scalar> grads) {
    gamma_.bindTo(values, 1, dim_, 0);
    beta_.bindTo(values, 1, dim_, dim_);
    dGamma_.bindTo(grads, 1, dim_, 0);
    dBeta_.bindTo(grads, 1, dim_, dim_);
  }

  /// gamma = 1, beta = 0 (PyTorch's initialisation).
  void reset() {
    gamma_().setOnes();
    beta_().setZero();
  }

  void setTraining(bool /*training*/) noexcept {}

  /// Views of the parameters and their gradients, each [1 × dim].
  typename MappedMatrix<Scalar>::Map gamma() { return gamma_(); }
  typename MappedMatrix<Scalar>::Map beta() { return beta_(); }
  typename MappedMatrix<Scalar>::Map gammaGrad() { return dGamma_(); }
  typename MappedMatrix<Scalar>::Map betaGrad() { return dBeta_(); }

  /// x, y: [rows × dim]; y is resized and may not alias x.
  void forward(const RowMatrix<Scalar>& x, RowMatrix<Scalar>& y) {
    RECDIFF_REQUIRE(x.cols() == dim_, "LayerNorm::forward(): x has ", x.cols(), " columns, expected ", dim_);
    RECDIFF_ASSERT(gamma_.bound());
    const Index n = x.rows();
    xhat_.resize(n, dim_);
    rstd_.resize(n);
    y.resize(n, dim_);
    const auto gamma = gamma_().row(0).array();
    const auto beta = beta_().row(0).array();
    const Scalar invDim = Scalar(1) / static_cast<Scalar>(dim_);
    const Scalar eps = static_cast<Scalar>(eps_);
    parallelFor(n, n * dim_ > 32768, [&](Index i) {
      const auto xi = x.row(i).array();
      const Scalar mu = xi.sum() * invDim;
      auto xh = xhat_.row(i).array();
      xh = xi - mu;
      const Scalar var = xh.square().sum() * invDim;
      const Scalar r = Scalar(1) / std::sqrt(var + eps);
      rstd_(i) = r;
      xh *= r;
      y.row(i).array() = xh * gamma + beta;
    });
  }

  /// dy, dx: [rows × dim] (rows as in the last forward); accumulates dgamma, dbeta; dx is resized.
  void backward(const RowMatrix<Scalar>& dy, RowMatrix<Scalar>& dx) {
    RECDIFF_REQUIRE(dy.rows() == xhat_.rows() && dy.cols() == dim_, "LayerNorm::backward(): dy is ", dy.rows(), "x",
                    dy.cols(), " but the last forward saw ", xhat_.rows(), "x", dim_);
    const Index n = dy.rows();
    dx.resize(n, dim_);
    dGamma_().row(0).array() += (dy.array() * xhat_.array()).colwise().sum();
    dBeta_().row(0) += dy.colwise().sum();
    const auto gamma = gamma_().row(0).array();
    const Scalar invDim = Scalar(1) / static_cast<Scalar>(dim_);
    parallelFor(n, n * dim_ > 32768, [&](Index i) {
      const auto xh = xhat_.row(i).array();
      auto dxi = dx.row(i).array();
      dxi = dy.row(i).array() * gamma;  // g
      const Scalar meanG = dxi.sum() * invDim;
      const Scalar meanGx = (dxi * xh).sum() * invDim;
      dxi = (dxi - meanG - xh * meanGx) * rstd_(i);
    });
  }

  /// The normalised input xhat of the last forward, [rows × dim].
  const RowMatrix<Scalar>& normalized() const noexcept { return xhat_; }

 private:
  Index dim_;
  double eps_;
  MappedMatrix<Scalar> gamma_, beta_, dGamma_, dBeta_;
  RowMatrix<Scalar> xhat_;
  ColVector<Scalar> rstd_;
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_LAYER_NORM_HPP
