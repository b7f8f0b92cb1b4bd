#ifndef RECDIFF_NN_SOFTMAX_HPP
#define RECDIFF_NN_SOFTMAX_HPP

/// \file softmax.hpp
/// Row-wise softmax: y_ij = exp(x_ij - max_k x_ik) / sum_k exp(x_ik - max_k x_ik), and its backward
/// dx_ij = y_ij (dy_ij - sum_k dy_ik y_ik). Entries equal to -infinity are treated as masked: they get
/// probability 0, and a row whose entries are all -infinity becomes all zeros (not NaN).
///
/// Usage:
///   nn::Softmax<float> softmax;
///   softmax.forward(scores, probs);          // scores, probs: [rows × cols]
///   softmax.backward(dProbs, dScores);

#include <cmath>
#include <limits>

#include <Eigen/Core>

#include "../error.hpp"
#include "../types.hpp"
#include "parameters.hpp"

namespace recdiff::nn {

/// Softmax of one contiguous row of length n, in place. -inf entries are masked; an all-masked row becomes 0.
template <class Scalar>
inline void softmaxRowInPlace(Scalar* row, Index n) {
  Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> r(row, n);
  const Scalar m = r.maxCoeff();
  if (!(m > -std::numeric_limits<Scalar>::infinity())) {  // all masked (or NaN: propagate)
    if (std::isnan(m)) return;
    r.setZero();
    return;
  }
  // Masked entries are set to exactly 0: Eigen's SSE2 packet exp returns a subnormal, not 0, for -inf.
  r = (r == -std::numeric_limits<Scalar>::infinity()).select(Scalar(0), (r - m).exp());
  r *= Scalar(1) / r.sum();
}

/// Backward of a softmax row: dx = y ⊙ (dy - <dy, y>). dx may alias dy.
template <class Scalar>
inline void softmaxRowBackward(const Scalar* y, const Scalar* dy, Scalar* dx, Index n) {
  Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>> yr(y, n), dyr(dy, n);
  Eigen::Map<Eigen::Array<Scalar, Eigen::Dynamic, 1>> dxr(dx, n);
  const Scalar dot = (yr * dyr).sum();
  dxr = yr * (dyr - dot);
}

/// Row-wise softmax of a [rows × cols] matrix (rows of a row-major matrix are contiguous).
template <class Scalar>
inline void softmaxRows(const RowMatrix<Scalar>& x, RowMatrix<Scalar>& y) {
  if (&x != &y) y = x;
  for (Index i = 0; i < y.rows(); ++i) softmaxRowInPlace(y.row(i).data(), y.cols());
}

/// Row-wise softmax layer (no parameters). forward caches the output; backward uses it.
template <class Scalar>
class Softmax {
 public:
  Index parameterCount() const noexcept { return 0; }
  void bind(ParameterSlice<Scalar> /*values*/, ParameterSlice<Scalar> /*grads*/) {}
  void setTraining(bool /*training*/) noexcept {}

  /// x, y: [rows × cols]; y is resized.
  void forward(const RowMatrix<Scalar>& x, RowMatrix<Scalar>& y) {
    softmaxRows(x, output_);
    y = output_;
  }

  /// dy, dx: [rows × cols]; dx is resized.
  void backward(const RowMatrix<Scalar>& dy, RowMatrix<Scalar>& dx) {
    RECDIFF_REQUIRE(dy.rows() == output_.rows() && dy.cols() == output_.cols(), "Softmax::backward(): dy is ",
                    dy.rows(), "x", dy.cols(), " but the last forward produced ", output_.rows(), "x", output_.cols());
    dx.resize(dy.rows(), dy.cols());
    for (Index i = 0; i < dy.rows(); ++i)
      softmaxRowBackward(output_.row(i).data(), dy.row(i).data(), dx.row(i).data(), dy.cols());
  }

 private:
  RowMatrix<Scalar> output_;
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_SOFTMAX_HPP
