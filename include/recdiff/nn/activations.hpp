#ifndef RECDIFF_NN_ACTIVATIONS_HPP
#define RECDIFF_NN_ACTIVATIONS_HPP

/// \file activations.hpp
/// Element-wise activations with hand-written backward passes: Tanh, ReLU, Sigmoid, SiLU, GELU (exact and
/// tanh approximation). None has parameters; each caches what its derivative needs (the output for Tanh and
/// Sigmoid, the input for the others). forward(x, y) may be called with y aliasing x (in place), and so may
/// backward(dy, dx).

#include <cmath>

#include <Eigen/Core>

#include "../types.hpp"
#include "parameters.hpp"

// The shared base lives in recdiff::detail (a recdiff::nn::detail would hide recdiff::detail::concat from
// unqualified `detail::` lookups in other nn headers).
namespace recdiff::detail {
/// Shared plumbing of a parameter-free element-wise layer.
template <class Scalar>
class ElementwiseBase {
 public:
  using Matrix = RowMatrix<Scalar>;
  Index parameterCount() const noexcept { return 0; }
  void bind(nn::ParameterSlice<Scalar>, nn::ParameterSlice<Scalar>) noexcept {}
  void setTraining(bool) noexcept {}

 protected:
  Matrix cache_;
};
}  // namespace recdiff::detail

namespace recdiff::nn {

/// y = tanh(x);  dx = dy ⊙ (1 − y²).
template <class Scalar>
class Tanh : public recdiff::detail::ElementwiseBase<Scalar> {
 public:
  using Matrix = RowMatrix<Scalar>;
  void forward(const Matrix& x, Matrix& y) {
    y.resize(x.rows(), x.cols());
    y.array() = x.array().tanh();
    this->cache_ = y;
  }
  void backward(const Matrix& dy, Matrix& dx) {
    dx.resize(dy.rows(), dy.cols());
    dx.array() = dy.array() * (Scalar(1) - this->cache_.array().square());
  }
};

/// y = max(x, 0);  dx = dy ⊙ [x > 0].
template <class Scalar>
class ReLU : public recdiff::detail::ElementwiseBase<Scalar> {
 public:
  using Matrix = RowMatrix<Scalar>;
  void forward(const Matrix& x, Matrix& y) {
    this->cache_ = x;
    y.resize(x.rows(), x.cols());
    y.array() = this->cache_.array().max(Scalar(0));
  }
  void backward(const Matrix& dy, Matrix& dx) {
    dx.resize(dy.rows(), dy.cols());
    dx.array() = (this->cache_.array() > Scalar(0)).select(dy.array(), Scalar(0));
  }
};

/// y = σ(x) = 1 / (1 + e^{−x});  dx = dy ⊙ y (1 − y).
template <class Scalar>
class Sigmoid : public recdiff::detail::ElementwiseBase<Scalar> {
 public:
  using Matrix = RowMatrix<Scalar>;
  void forward(const Matrix& x, Matrix& y) {
    y.resize(x.rows(), x.cols());
    y.array() = Scalar(1) / (Scalar(1) + (-x.array()).exp());
    this->cache_ = y;
  }
  void backward(const Matrix& dy, Matrix& dx) {
    dx.resize(dy.rows(), dy.cols());
    dx.array() = dy.array() * this->cache_.array() * (Scalar(1) - this->cache_.array());
  }
};

/// SiLU (swish): y = x σ(x);  dx = dy ⊙ σ(x) (1 + x (1 − σ(x))).  (Elfwing et al. 2018)
template <class Scalar>
class SiLU : public recdiff::detail::ElementwiseBase<Scalar> {
 public:
  using Matrix = RowMatrix<Scalar>;
  void forward(const Matrix& x, Matrix& y) {
    this->cache_ = x;
    y.resize(x.rows(), x.cols());
    y.array() = this->cache_.array() / (Scalar(1) + (-this->cache_.array()).exp());
  }
  void backward(const Matrix& dy, Matrix& dx) {
    const auto& x = this->cache_.array();
    dx.resize(dy.rows(), dy.cols());
    dx.array() = dy.array() * (Scalar(1) / (Scalar(1) + (-x).exp())) *
                 (Scalar(1) + x * (Scalar(1) - Scalar(1) / (Scalar(1) + (-x).exp())));
  }
};

/// Which GELU formula: the exact x Φ(x), or the tanh approximation
/// 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))) that BERT and DiffuRec use.  (Hendrycks & Gimpel 2016)
enum class GeluApproximation { kExact, kTanh };

/// GELU.  Exact: y = x Φ(x), dy/dx = Φ(x) + x φ(x).
/// Tanh:  y = ½ x (1 + u), u = tanh(k (x + c x³)), dy/dx = ½ (1 + u) + ½ x (1 − u²) k (1 + 3 c x²).
template <class Scalar>
class GELU : public recdiff::detail::ElementwiseBase<Scalar> {
 public:
  using Matrix = RowMatrix<Scalar>;

  explicit GELU(GeluApproximation approximation = GeluApproximation::kExact) : approximation_(approximation) {}
  GeluApproximation approximation() const noexcept { return approximation_; }

  void forward(const Matrix& x, Matrix& y) {
    this->cache_ = x;
    const auto& a = this->cache_.array();
    y.resize(x.rows(), x.cols());
    if (approximation_ == GeluApproximation::kTanh) {
      y.array() = Scalar(0.5) * a * (Scalar(1) + (kK * (a + kC * a.cube())).tanh());
    } else {
      y.array() = Scalar(0.5) * a * (Scalar(1) + (a * kInvSqrt2).unaryExpr([](Scalar v) { return std::erf(v); }));
    }
  }

  void backward(const Matrix& dy, Matrix& dx) {
    const auto& a = this->cache_.array();
    dx.resize(dy.rows(), dy.cols());
    if (approximation_ == GeluApproximation::kTanh) {
      const Eigen::Array<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> u =
          (kK * (a + kC * a.cube())).tanh();
      dx.array() = dy.array() * (Scalar(0.5) * (Scalar(1) + u) +
                                 Scalar(0.5) * a * (Scalar(1) - u.square()) * kK * (Scalar(1) + Scalar(3) * kC * a.square()));
    } else {
      dx.array() = dy.array() * (Scalar(0.5) * (Scalar(1) + (a * kInvSqrt2).unaryExpr([](Scalar v) { return std::erf(v); })) +
                                 a * kInvSqrt2Pi * (Scalar(-0.5) * a.square()).exp());
    }
  }

 private:
  static constexpr Scalar kInvSqrt2 = Scalar(0.70710678118654752440084436210484904);
  static constexpr Scalar kInvSqrt2Pi = Scalar(0.39894228040143267793994605993438187);
  static constexpr Scalar kK = Scalar(0.79788456080286535587989211986876374);  // √(2/π)
  static constexpr Scalar kC = Scalar(0.044715);
  GeluApproximation approximation_;
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_ACTIVATIONS_HPP
