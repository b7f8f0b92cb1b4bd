#ifndef RECDIFF_NN_PARAMETERS_HPP
#define RECDIFF_NN_PARAMETERS_HPP

/// \file parameters.hpp
/// The flat parameter buffer (mlpack's memory model, STYLE.md 4.2): a model owns ONE contiguous vector of
/// values and one of gradients; every layer binds views into slices of them. Optimizers, checkpoints and
/// gradient checks then work on a single vector.
///
/// Lifecycle: (1) each layer reports parameterCount(); (2) the model sizes the buffer once with the total;
/// (3) a ParameterBinder hands each layer its slice in order; (4) forward/backward use the views.
/// Resizing the buffer after binding invalidates the views (the binder re-binds everything).
///
/// Usage:
///   nn::ParameterBuffer<float> params;
///   params.resize(a.parameterCount() + b.parameterCount());
///   nn::ParameterBinder<float> binder(params);
///   binder.bind(a); binder.bind(b);        // a gets [0, na), b gets [na, na + nb)
///   params.zeroGrad(); ... backward ...; optimizer.step(params);

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../types.hpp"

namespace recdiff::nn {

/// Name and dimensions of one parameter tensor of a model (torch's state_dict entry), in buffer order.
/// Checkpoints record them so that a file is only loaded into a model of the same layout.
struct ParameterShape {
  std::string name;
  std::vector<Index> dims;

  Index size() const {
    Index n = 1;
    for (const Index d : dims) n *= d;
    return n;
  }
  bool operator==(const ParameterShape&) const = default;
};

/// A non-owning view of `size` contiguous scalars.
template <class Scalar>
struct ParameterSlice {
  Scalar* data = nullptr;
  Index size = 0;

  /// The sub-slice [offset, offset + count).
  ParameterSlice sub(Index offset, Index count) const {
    RECDIFF_ASSERT(offset >= 0 && count >= 0 && offset + count <= size);
    return {data + offset, count};
  }
};

/// A rebindable row-major matrix view into a ParameterSlice; `operator()` yields the Eigen::Map.
template <class Scalar>
class MappedMatrix {
 public:
  using Map = Eigen::Map<RowMatrix<Scalar>>;
  using ConstMap = Eigen::Map<const RowMatrix<Scalar>>;

  /// Views `rows × cols` scalars of `slice` starting at `offset`.
  void bindTo(ParameterSlice<Scalar> slice, Index rows, Index cols, Index offset = 0) {
    RECDIFF_REQUIRE(offset >= 0 && offset + rows * cols <= slice.size, "MappedMatrix::bindTo(): ", rows, "x", cols,
                    " at offset ", offset, " does not fit a slice of ", slice.size);
    data_ = slice.data + offset;
    rows_ = rows;
    cols_ = cols;
  }

  Map operator()() { return Map(data_, rows_, cols_); }
  ConstMap operator()() const { return ConstMap(data_, rows_, cols_); }
  bool bound() const noexcept { return data_ != nullptr; }
  Index rows() const noexcept { return rows_; }
  Index cols() const noexcept { return cols_; }
  Scalar* data() const noexcept { return data_; }

 private:
  Scalar* data_ = nullptr;
  Index rows_ = 0;
  Index cols_ = 0;
};

/// Flat, contiguous parameter values and gradients of one model.
template <class Scalar>
class ParameterBuffer {
 public:
  using Vector = ColVector<Scalar>;

  ParameterBuffer() = default;
  explicit ParameterBuffer(Index size) { resize(size); }

  /// Sets the size; values and gradients become zero. Invalidates every bound view.
  void resize(Index size) {
    RECDIFF_REQUIRE(size >= 0, "ParameterBuffer::resize(): negative size ", size);
    values_.setZero(size);
    grads_.setZero(size);
  }

  Index size() const noexcept { return values_.size(); }
  Vector& values() noexcept { return values_; }
  const Vector& values() const noexcept { return values_; }
  Vector& grads() noexcept { return grads_; }
  const Vector& grads() const noexcept { return grads_; }

  /// Sets every gradient to zero (in chunks over the OpenMP threads when the buffer is large).
  void zeroGrad() {
    forEachChunk(grads_.size(), [this](Index at, Index n) { grads_.segment(at, n).setZero(); });
  }

  /// True when every gradient is finite (no NaN, no ±inf); the divergence check before an optimizer step.
  bool gradsFinite() const {
    std::atomic<bool> finite{true};
    forEachChunk(grads_.size(), [&](Index at, Index n) {
      if (!grads_.segment(at, n).allFinite()) finite.store(false, std::memory_order_relaxed);
    });
    return finite.load();
  }

  ParameterSlice<Scalar> valueSlice(Index offset, Index count) {
    RECDIFF_REQUIRE(offset >= 0 && count >= 0 && offset + count <= size(), "ParameterBuffer::valueSlice(): [", offset,
                    ", ", offset + count, ") is outside a buffer of ", size());
    return {values_.data() + offset, count};
  }
  ParameterSlice<Scalar> gradSlice(Index offset, Index count) {
    RECDIFF_REQUIRE(offset >= 0 && count >= 0 && offset + count <= size(), "ParameterBuffer::gradSlice(): [", offset,
                    ", ", offset + count, ") is outside a buffer of ", size());
    return {grads_.data() + offset, count};
  }

 private:
  static constexpr Index kChunk = Index{1} << 16;

  template <class F>
  static void forEachChunk(Index n, const F& f) {
    const Index chunks = (n + kChunk - 1) / kChunk;
    parallelFor(chunks, chunks > 4, [&](Index c) {
      const Index at = c * kChunk;
      f(at, std::min(kChunk, n - at));
    });
  }

  Vector values_;
  Vector grads_;
};

/// Hands consecutive slices of a buffer to layers: any type with `parameterCount()` and
/// `bind(ParameterSlice values, ParameterSlice grads)`.
template <class Scalar>
class ParameterBinder {
 public:
  explicit ParameterBinder(ParameterBuffer<Scalar>& buffer) : buffer_(&buffer) {}

  /// Binds `layer` to the next parameterCount() scalars; returns the offset it got.
  template <class Layer>
  Index bind(Layer& layer) {
    const Index n = layer.parameterCount();
    const Index at = offset_;
    layer.bind(buffer_->valueSlice(at, n), buffer_->gradSlice(at, n));
    offset_ += n;
    return at;
  }

  /// Scalars handed out so far.
  Index offset() const noexcept { return offset_; }

 private:
  ParameterBuffer<Scalar>* buffer_;
  Index offset_ = 0;
};

}  // namespace recdiff::nn

#endif  // RECDIFF_NN_PARAMETERS_HPP
