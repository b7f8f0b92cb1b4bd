#ifndef RECDIFF_NN_SEQUENTIAL_HPP
#define RECDIFF_NN_SEQUENTIAL_HPP

/// \file sequential.hpp
/// A compile-time chain of layers (torch.nn.Sequential without the virtual calls): y = f_n(… f_1(x)).
/// The container is itself a layer: parameterCount() is the sum, bind() hands each layer its consecutive
/// sub-slice in order, forward()/backward() run through member buffers that are resized once per batch shape.

#include <array>
#include <cstddef>
#include <tuple>
#include <utility>

#include <Eigen/Core>

#include "../types.hpp"
#include "parameters.hpp"

namespace recdiff::nn {

/// Sequential<Scalar, Layers...>: every layer needs parameterCount(), bind(values, grads), forward(x, y),
/// backward(dy, dx) on RowMatrix<Scalar>, and setTraining(bool).
///
/// Usage:
///   nn::Sequential<float, nn::Linear<float>, nn::Tanh<float>, nn::Linear<float>> mlp(
///       nn::Linear<float>(10, 32), nn::Tanh<float>(), nn::Linear<float>(32, 1));
///   nn::ParameterBuffer<float> params(mlp.parameterCount());
///   nn::ParameterBinder<float>(params).bind(mlp);
///   mlp.forward(x, y);  mlp.backward(dy, dx);
/// \tparam Scalar float or double.  \tparam Layers the layer types, applied left to right.
template <class Scalar, class... Layers>
class Sequential {
  static_assert(sizeof...(Layers) > 0, "Sequential: needs at least one layer");

 public:
  using Matrix = RowMatrix<Scalar>;
  static constexpr std::size_t kSize = sizeof...(Layers);

  explicit Sequential(Layers... layers) : layers_(std::move(layers)...) {}

  /// The i-th layer.
  template <std::size_t I>
  auto& layer() noexcept {
    return std::get<I>(layers_);
  }

  Index parameterCount() const {
    return std::apply([](const auto&... l) { return (Index{0} + ... + l.parameterCount()); }, layers_);
  }

  void bind(ParameterSlice<Scalar> values, ParameterSlice<Scalar> grads) {
    Index offset = 0;
    std::apply(
        [&](auto&... l) {
          ((l.bind(values.sub(offset, l.parameterCount()), grads.sub(offset, l.parameterCount())),
            offset += l.parameterCount()),
           ...);
        },
        layers_);
  }

  void setTraining(bool training) {
    std::apply([training](auto&... l) { (l.setTraining(training), ...); }, layers_);
  }

  /// y = f_n(… f_1(x)).  Intermediate outputs live in member buffers.
  void forward(const Matrix& x, Matrix& y) { forwardFrom<0>(x, y); }

  /// Backward through every layer in reverse; accumulates parameter gradients and writes dx.
  void backward(const Matrix& dy, Matrix& dx) { backwardFrom<kSize - 1>(dy, dx); }

 private:
  template <std::size_t I>
  void forwardFrom(const Matrix& in, Matrix& y) {
    if constexpr (I + 1 == kSize) {
      std::get<I>(layers_).forward(in, y);
    } else {
      std::get<I>(layers_).forward(in, activations_[I]);
      forwardFrom<I + 1>(activations_[I], y);
    }
  }

  template <std::size_t I>
  void backwardFrom(const Matrix& dOut, Matrix& dx) {
    if constexpr (I == 0) {
      std::get<0>(layers_).backward(dOut, dx);
    } else {
      std::get<I>(layers_).backward(dOut, gradients_[I - 1]);
      backwardFrom<I - 1>(gradients_[I - 1], dx);
    }
  }

  std::tuple<Layers...> layers_;
  std::array<Matrix, kSize - 1> activations_;  // output of layer i, i < n − 1
  std::array<Matrix, kSize - 1> gradients_;    // dL/d(output of layer i)
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_SEQUENTIAL_HPP
