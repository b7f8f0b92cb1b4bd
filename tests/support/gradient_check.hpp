#ifndef RECDIFF_TESTS_SUPPORT_GRADIENT_CHECK_HPP
#define RECDIFF_TESTS_SUPPORT_GRADIENT_CHECK_HPP
// Central-difference gradient checks (mlpack's Jacobian and gradient tests, STYLE.md 4.6).
//
// Layer checks (any type with parameterCount(), bind(values, grads), forward(x, y), backward(dy, dx)):
//   recdiff::Rng rng(recdiff::test::seed());
//   recdiff::nn::Linear<double> layer(7, 5);
//   auto model = recdiff::test::SingleLayerHarness(layer, rng);        // owns the buffer, binds, random init
//   const auto x = recdiff::test::randomMatrix<double>(4, 7, rng);
//   CHECK(recdiff::test::inputJacobianError(model, x) < 1e-6);
//   CHECK(recdiff::test::parameterGradientError(model, x) < 1e-6);
// Both project the output on a fixed random cotangent w, L(x, θ) = Σ w ⊙ layer(x; θ), and compare the
// analytic gradient of L (backward(w, dx) and the accumulated parameter gradient) with central differences
// coordinate by coordinate. The error is ||g − g_fd|| / ||g + g_fd|| (0 when both are exactly zero).
//
// Whole models: finiteDifferenceGradient(values, loss, h) perturbs any contiguous Eigen object in place and
// calls loss() (which must read those values); gradientError(buffer, loss, analytic) compares against the
// gradient `analytic()` leaves in buffer.grads().

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include <recdiff/nn/parameters.hpp>
#include <recdiff/random.hpp>
#include <recdiff/types.hpp>

namespace recdiff::test {

/// The scalar type of a layer: Layer::Scalar when it exists, else the first template argument (Linear<double>).
template <class T>
struct FirstTemplateArgument;
template <template <class...> class L, class S, class... Rest>
struct FirstTemplateArgument<L<S, Rest...>> {
  using type = S;
};
template <class Layer, class = void>
struct LayerScalar {
  using type = typename FirstTemplateArgument<Layer>::type;
};
template <class Layer>
struct LayerScalar<Layer, std::void_t<typename Layer::Scalar>> {
  using type = typename Layer::Scalar;
};
template <class Layer>
using LayerScalarT = typename LayerScalar<Layer>::type;

/// A [rows × cols] matrix of N(0, scale²) draws.
template <class Scalar>
RowMatrix<Scalar> randomMatrix(Index rows, Index cols, Rng& rng, double scale = 1.0) {
  RowMatrix<Scalar> m(rows, cols);
  rng.fillNormal(m, 0.0, scale);
  return m;
}

/// ||a − b|| / ||a + b||, computed in double; 0 when both are zero.
template <class A, class B>
double relativeError(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  const auto ad = a.template cast<double>().eval();
  const auto bd = b.template cast<double>().eval();
  const double num = (ad - bd).norm();
  const double den = (ad + bd).norm();
  if (den == 0.0) return num;
  return num / den;
}

/// Central differences of loss() with respect to every coefficient of `values` (perturbed in place, restored).
/// `values` must be a contiguous lvalue Eigen object (matrix, vector or Map) that loss() reads.
template <class Values, class Loss>
ColVector<double> finiteDifferenceGradient(Values&& values, Loss&& loss, double h = 1e-6) {
  using Scalar = typename std::decay_t<Values>::Scalar;
  auto* data = values.data();
  const Index n = values.size();
  ColVector<double> g(n);
  for (Index i = 0; i < n; ++i) {
    const Scalar saved = data[i];
    data[i] = static_cast<Scalar>(static_cast<double>(saved) + h);
    const double up = static_cast<double>(loss());
    data[i] = static_cast<Scalar>(static_cast<double>(saved) - h);
    const double down = static_cast<double>(loss());
    data[i] = saved;
    g(i) = (up - down) / (2.0 * h);
  }
  return g;
}

/// Relative error between the analytic gradient of a whole model and central differences.
/// loss(): evaluates the loss at the buffer's current values (no side effect on them).
/// analytic(): leaves dLoss/dθ in buffer.grads() (it should zero the gradients first, or this does it).
template <class Scalar, class Loss, class Analytic>
double gradientError(nn::ParameterBuffer<Scalar>& buffer, Loss&& loss, Analytic&& analytic, double h = 1e-6) {
  buffer.zeroGrad();
  analytic();
  const ColVector<double> g = buffer.grads().template cast<double>();
  const ColVector<double> fd = finiteDifferenceGradient(buffer.values(), loss, h);
  return relativeError(g, fd);
}

/// Owns a ParameterBuffer for one layer, binds the layer to it and fills it with N(0, scale²) values.
template <class Layer>
class SingleLayerHarness {
 public:
  using Scalar = LayerScalarT<Layer>;

  SingleLayerHarness(Layer& layer, Rng& rng, double scale = 0.5) : layer_(&layer) {
    buffer_.resize(layer.parameterCount());
    nn::ParameterBinder<Scalar> binder(buffer_);
    binder.bind(layer);
    rng.fillNormal(buffer_.values(), 0.0, scale);
  }

  Layer& layer() { return *layer_; }
  nn::ParameterBuffer<Scalar>& parameters() { return buffer_; }

  void forward(const RowMatrix<Scalar>& x, RowMatrix<Scalar>& y) { layer_->forward(x, y); }
  void backward(const RowMatrix<Scalar>& dy, RowMatrix<Scalar>& dx) { layer_->backward(dy, dx); }

  /// Σ w ⊙ layer(x).
  double projectedOutput(const RowMatrix<Scalar>& x, const RowMatrix<Scalar>& w) {
    forward(x, y_);
    return (y_.template cast<double>().array() * w.template cast<double>().array()).sum();
  }

  /// A fixed random cotangent shaped like the output for x.
  RowMatrix<Scalar> cotangent(const RowMatrix<Scalar>& x, Rng& rng) {
    forward(x, y_);
    return randomMatrix<Scalar>(y_.rows(), y_.cols(), rng);
  }

 private:
  Layer* layer_;
  nn::ParameterBuffer<Scalar> buffer_;
  RowMatrix<Scalar> y_;
};

template <class Layer>
SingleLayerHarness(Layer&, Rng&) -> SingleLayerHarness<Layer>;
template <class Layer>
SingleLayerHarness(Layer&, Rng&, double) -> SingleLayerHarness<Layer>;

/// ||dx − dx_fd|| / ||dx + dx_fd|| for L = Σ w ⊙ layer(x), w a random cotangent drawn from `cotangentSeed`.
template <class Harness>
double inputJacobianError(Harness& model, const RowMatrix<typename Harness::Scalar>& x, double h = 1e-6,
                          std::uint64_t cotangentSeed = 17) {
  using Scalar = typename Harness::Scalar;
  Rng rng(cotangentSeed);
  const RowMatrix<Scalar> w = model.cotangent(x, rng);
  RowMatrix<Scalar> y, dx;
  model.forward(x, y);
  model.backward(w, dx);
  RowMatrix<Scalar> xp = x;
  const ColVector<double> fd =
      finiteDifferenceGradient(xp, [&] { return model.projectedOutput(xp, w); }, h);
  const ColVector<double> g = Eigen::Map<const ColVector<Scalar>>(dx.data(), dx.size()).template cast<double>();
  if (dx.rows() != x.rows() || dx.cols() != x.cols()) return std::numeric_limits<double>::infinity();
  return relativeError(g, fd);
}

/// ||g − g_fd|| / ||g + g_fd|| over all parameters, for L = Σ w ⊙ layer(x).
template <class Harness>
double parameterGradientError(Harness& model, const RowMatrix<typename Harness::Scalar>& x, double h = 1e-6,
                              std::uint64_t cotangentSeed = 19) {
  using Scalar = typename Harness::Scalar;
  Rng rng(cotangentSeed);
  const RowMatrix<Scalar> w = model.cotangent(x, rng);
  auto& buffer = model.parameters();
  return gradientError(
      buffer, [&] { return model.projectedOutput(x, w); },
      [&] {
        RowMatrix<Scalar> y, dx;
        model.forward(x, y);
        model.backward(w, dx);
      },
      h);
}

}  // namespace recdiff::test

#endif  // RECDIFF_TESTS_SUPPORT_GRADIENT_CHECK_HPP
