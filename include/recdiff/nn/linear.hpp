#ifndef RECDIFF_NN_LINEAR_HPP
#define RECDIFF_NN_LINEAR_HPP

/// \file linear.hpp
/// Fully connected layer y = x Wᵀ + b over a batch of rows (PyTorch's nn.Linear layout: W is [out × in]).

#include <algorithm>
#include <type_traits>

#include <Eigen/Core>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../types.hpp"
#include "gemm.hpp"
#include "parameters.hpp"

namespace recdiff::nn {

/// Affine layer y = x Wᵀ + b.  x: [batch × in], y: [batch × out], W: [out × in], b: [out].
///
/// Parameters live in a ParameterBuffer slice, W first (row-major, as torch's `weight`), then b.
/// forward() caches the input (a copy into a resize-once member; forwardBorrowed() keeps a pointer instead);
/// backward() accumulates dW += dyᵀ x, db += Σ_rows dy and writes dx = dy W.
///
/// Usage:
///   nn::Linear<float> fc(784, 128);
///   nn::ParameterBuffer<float> params(fc.parameterCount());
///   nn::ParameterBinder<float>(params).bind(fc);
///   fc.forward(x, y);  ...  fc.backward(dy, dx);
/// \tparam Scalar float or double.
template <class Scalar>
class Linear {
 public:
  using Matrix = RowMatrix<Scalar>;

  Linear(Index in, Index out) : in_(in), out_(out) {
    RECDIFF_REQUIRE(in > 0 && out > 0, "Linear: dimensions must be positive, got in ", in, " out ", out);
  }

  Index inputSize() const noexcept { return in_; }
  Index outputSize() const noexcept { return out_; }
  Index parameterCount() const noexcept { return out_ * in_ + out_; }

  void bind(ParameterSlice<Scalar> values, ParameterSlice<Scalar> grads) {
    RECDIFF_REQUIRE(values.size == parameterCount() && grads.size == parameterCount(),
                    "Linear::bind(): expected slices of ", parameterCount(), " scalars, got ", values.size, " and ",
                    grads.size);
    weight_.bindTo(values, out_, in_);
    bias_.bindTo(values, 1, out_, out_ * in_);
    dWeight_.bindTo(grads, out_, in_);
    dBias_.bindTo(grads, 1, out_, out_ * in_);
  }

  /// W [out × in] and b [1 × out] as Eigen maps into the bound buffer.
  typename MappedMatrix<Scalar>::Map weight() { return weight_(); }
  typename MappedMatrix<Scalar>::Map bias() { return bias_(); }
  typename MappedMatrix<Scalar>::Map weightGrad() { return dWeight_(); }
  typename MappedMatrix<Scalar>::Map biasGrad() { return dBias_(); }

  /// y = x Wᵀ + b; copies x for backward().  x: [batch × in] (any dense expression), y resized to [batch × out].
  template <class Derived>
  void forward(const Eigen::MatrixBase<Derived>& x, Matrix& y) {
    input_ = x;
    borrowed_ = nullptr;
    apply(input_, y);
  }

  /// Like forward() but keeps a pointer to x instead of a copy: x must stay alive and unchanged until backward().
  void forwardBorrowed(const Matrix& x, Matrix& y) {
    borrowed_ = &x;
    apply(x, y);
  }

  /// y = x Wᵀ + b without caching anything (inference).
  template <class Derived>
  void apply(const Eigen::MatrixBase<Derived>& x, Matrix& y) const {
    RECDIFF_REQUIRE(x.cols() == in_, "Linear::forward(): input has ", x.cols(), " columns, expected ", in_);
    RECDIFF_ASSERT(weight_.bound());
    y.resize(x.rows(), out_);
    gemm(y, x, weight_().transpose(), Accumulate::kNo, precision_);
    const auto b = bias_().row(0);
    forEachRowBlock(y.rows(), y.cols(), [&y, &b](Index r, Index n) { y.middleRows(r, n).rowwise() += b; });
  }

  /// Accumulates dW, db and writes dx = dy W.  dy: [batch × out], dx resized to [batch × in].
  void backward(const Matrix& dy, Matrix& dx) {
    backwardParameters(dy);
    dx.resize(dy.rows(), in_);
    gemm(dx, dy, weight_(), Accumulate::kNo, precision_);
  }

  /// Accumulates dW and db only (skips the input gradient, e.g. for a model's first layer).
  void backwardParameters(const Matrix& dy) {
    const Matrix& x = cachedInput();
    RECDIFF_REQUIRE(dy.rows() == x.rows() && dy.cols() == out_, "Linear::backward(): dy is ", dy.rows(), "x",
                    dy.cols(), ", expected ", x.rows(), "x", out_);
    gemm(dWeight_(), dy.transpose(), x, Accumulate::kYes, precision_);
    // Column blocks (multiples of 256 columns, so every column is summed exactly as one colwise().sum() would):
    // the same values on any number of threads.
    auto db = dBias_();
    const Index blocks = (out_ + kBiasBlock - 1) / kBiasBlock;
    parallelFor(blocks, blocks > 1 && dy.size() >= (Index{1} << 16), [&](Index c) {
      const Index at = c * kBiasBlock, n = std::min(kBiasBlock, out_ - at);
      db.middleCols(at, n) += dy.middleCols(at, n).colwise().sum();
    });
  }

  void setTraining(bool) noexcept {}

  /// Arithmetic of the layer's three products (forward, dx, dW); GemmPrecision::kFloat unless set. kBf16 needs
  /// Scalar = float (std::invalid_argument otherwise) and is checked for availability at the first product.
  void setPrecision(GemmPrecision precision) {
    RECDIFF_REQUIRE((precision == GemmPrecision::kFloat || std::is_same_v<Scalar, float>),
                    "Linear::setPrecision(): GemmPrecision::kBf16 needs a float layer");
    precision_ = precision;
  }
  GemmPrecision precision() const noexcept { return precision_; }

 private:
  static constexpr Index kBiasBlock = 256;
  const Matrix& cachedInput() const { return borrowed_ != nullptr ? *borrowed_ : input_; }

  Index in_;
  Index out_;
  MappedMatrix<Scalar> weight_, bias_, dWeight_, dBias_;
  Matrix input_;
  const Matrix* borrowed_ = nullptr;
  GemmPrecision precision_ = GemmPrecision::kFloat;
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_LINEAR_HPP
