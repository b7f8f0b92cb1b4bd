#ifndef RECDIFF_DENOISERS_DIFFREC_MLP_HPP
#define RECDIFF_DENOISERS_DIFFREC_MLP_HPP

/// \file diffrec_mlp.hpp
/// DiffRec's denoiser (Wang et al., "Diffusion Recommender Model", SIGIR 2023, Sec. 3.2 and the authors'
/// `DNN`): for a noised interaction row x_t [items] and a step t,
///   e   = W_e · sinusoid(t) + b_e                  (sinusoid: [cos | sin], raw t; time_embedding.hpp)
///   h_0 = [ dropout(normalize?(x_t)) | e ]         (items + emb)
///   h_k = tanh(W_k h_{k−1} + b_k)                  every layer but the last
///   out = W_L h_{L−1} + b_L                        (no output activation)
/// `dims` follows DiffRec's `--dims`: out_dims = dims + [items] and in_dims is its reverse, so [200, 600]
/// builds items+emb → 600 → 200 → 600 → items and [1000] builds items+emb → 1000 → items.
/// Initialisation as the reference: Xavier-normal weights (std √(2/(fan_in + fan_out))), N(0, 0.001²) biases.
/// Parameters are laid out in torch's state_dict order: emb_layer, in_layers.*, out_layers.* (weight, bias).
///
/// Usage:
///   DiffRecMlp<float> model({.items = 3706, .dims = {200, 600}, .timeEmbeddingSize = 10}, rng);
///   model.setTraining(true);
///   model.forward(xt, t, NoCondition{}, out);      // xt, out: [batch × items]; t: [batch]
///   model.parameters().zeroGrad();
///   model.backward(dOut, nullptr);                  // nullptr: skip dL/dxt (the largest GEMM)
///   optimizer.step(model.parameters());

#include <cmath>
#include <cstdint>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "../concepts.hpp"
#include "../error.hpp"
#include "../io/hyperparameters.hpp"
#include "../nn/dropout.hpp"
#include "../nn/gemm.hpp"
#include "../nn/init.hpp"
#include "../nn/linear.hpp"
#include "../nn/parameters.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"
#include "time_embedding.hpp"

namespace recdiff {

/// Hyperparameters of DiffRecMlp (reference flag names in brackets).
struct DiffRecMlpOptions {
  Index items = 0;                      ///< number of items, the input and output width
  std::vector<Index> dims = {1000};     ///< hidden widths [--dims]; the mirrored stack is built from it
  Index timeEmbeddingSize = 10;         ///< [--emb_size]
  double dropout = 0.5;                 ///< dropout probability on the input row
  bool normalizeInput = false;          ///< L2-normalise each input row first [--norm]
  /// Compute the sinusoid in float32 as the reference does (`timestep_embedding` works in float32). Either
  /// way a double model matches the reference to ~5e-8 absolute; off computes the sinusoid exactly.
  bool float32TimeEmbedding = false;
  /// Arithmetic of the products of training passes (forward in training mode, and backward): kBf16 rounds
  /// both operands of every GEMM to bfloat16 and accumulates in fp32 (nn/gemm.hpp, docs/bf16.md). Inference
  /// (evaluation mode) always computes in Scalar. kBf16 needs Scalar = float, oneDNN and AVX512-BF16; the
  /// constructor throws otherwise. Not a checkpointed setting.
  nn::GemmPrecision trainingPrecision = nn::GemmPrecision::kFloat;
};

/// DiffRec's MLP denoiser; satisfies the Denoiser concept (concepts.hpp) with Condition = NoCondition.
/// Owns its flat parameter buffer. Non-copyable (its layers view its own buffer); movable.
/// \tparam ScalarT float or double.
template <class ScalarT>
class DiffRecMlp {
 public:
  using Scalar = ScalarT;
  using Condition = NoCondition;
  using Matrix = RowMatrix<Scalar>;
  using Options = DiffRecMlpOptions;

  /// Builds the layers, initialises them from `rng` as the reference does, and forks the dropout stream.
  DiffRecMlp(const Options& options, Rng& rng) : options_(options), dropout_(options.dropout, rng.fork(0xD80F)) {
    RECDIFF_REQUIRE(options.items > 0, "DiffRecMlp: items must be positive, got ", options.items);
    RECDIFF_REQUIRE(options.timeEmbeddingSize > 0, "DiffRecMlp: timeEmbeddingSize must be positive, got ",
                    options.timeEmbeddingSize);
    RECDIFF_REQUIRE(!options.dims.empty(), "DiffRecMlp: dims must name at least one hidden width");
    for (const Index d : options.dims) RECDIFF_REQUIRE(d > 0, "DiffRecMlp: hidden widths must be positive, got ", d);
    if (options.trainingPrecision == nn::GemmPrecision::kBf16) {
      RECDIFF_REQUIRE((std::is_same_v<Scalar, float>), "DiffRecMlp: trainingPrecision kBf16 needs DiffRecMlp<float>");
      if (!nn::bf16GemmAvailable())
        throw std::runtime_error("DiffRecMlp: trainingPrecision kBf16 is unavailable: " +
                                 nn::bf16GemmUnavailableReason());
    }
    const Index emb = options.timeEmbeddingSize;
    // out_dims = dims + [items]; in_dims = reverse(out_dims); chain = [items + emb] + in_dims[1:] + out_dims[1:].
    std::vector<Index> outDims = options.dims;
    outDims.push_back(options.items);
    std::vector<Index> chain{options.items + emb};
    for (auto it = outDims.rbegin() + 1; it != outDims.rend(); ++it) chain.push_back(*it);
    for (std::size_t i = 1; i < outDims.size(); ++i) chain.push_back(outDims[i]);
    embLayer_.emplace_back(emb, emb);
    for (std::size_t i = 0; i + 1 < chain.size(); ++i) layers_.emplace_back(chain[i], chain[i + 1]);
    Index total = embLayer_[0].parameterCount();
    for (const auto& l : layers_) total += l.parameterCount();
    params_.resize(total);
    nn::ParameterBinder<Scalar> binder(params_);
    binder.bind(embLayer_[0]);
    for (auto& l : layers_) binder.bind(l);
    initialize(rng);
    activations_.resize(layers_.size() - 1);
  }

  DiffRecMlp(const DiffRecMlp&) = delete;
  DiffRecMlp& operator=(const DiffRecMlp&) = delete;
  DiffRecMlp(DiffRecMlp&&) noexcept = default;
  DiffRecMlp& operator=(DiffRecMlp&&) noexcept = default;

  /// Re-draws every parameter: Xavier-normal weights, N(0, 0.001²) biases (the reference's init_weights()).
  void initialize(Rng& rng) {
    for (auto* l : allLayers()) {
      nn::init::xavierNormal(l->weight(), rng);
      nn::init::normal(l->bias(), rng, 0.0, 0.001);
    }
  }

  /// The model-type tag checkpoints record.
  static constexpr const char* kModelType = "DiffRecMlp";

  const Options& options() const noexcept { return options_; }

  /// Parameter tensors in buffer order, named as torch's state_dict (emb_layer, in_layers.k, out_layers.k).
  std::vector<nn::ParameterShape> parameterShapes() const {
    std::vector<nn::ParameterShape> shapes;
    const auto add = [&shapes](const std::string& name, const nn::Linear<Scalar>& l) {
      shapes.push_back({name + ".weight", {l.outputSize(), l.inputSize()}});
      shapes.push_back({name + ".bias", {l.outputSize()}});
    };
    add("emb_layer", embLayer_[0]);
    const std::size_t half = layers_.size() / 2;
    for (std::size_t i = 0; i < layers_.size(); ++i)
      add(i < half ? "in_layers." + std::to_string(i) : "out_layers." + std::to_string(i - half), layers_[i]);
    return shapes;
  }

  /// The options as strings, for checkpoints: items, dims ("200,600"), emb_size, dropout, norm.
  std::map<std::string, std::string> hyperparameters() const {
    std::ostringstream dims, drop;
    for (std::size_t i = 0; i < options_.dims.size(); ++i) dims << (i ? "," : "") << options_.dims[i];
    drop.precision(17);
    drop << options_.dropout;
    return {{"items", std::to_string(options_.items)}, {"dims", dims.str()},
            {"emb_size", std::to_string(options_.timeEmbeddingSize)}, {"dropout", drop.str()},
            {"norm", options_.normalizeInput ? "1" : "0"}};
  }

  /// Inverse of hyperparameters(); throws std::invalid_argument on a missing or malformed entry.
  static Options optionsFromHyperparameters(const std::map<std::string, std::string>& h) {
    const io::HyperparameterReader r(h, "DiffRecMlp::optionsFromHyperparameters()");
    Options o;
    o.items = r.count("items");
    o.timeEmbeddingSize = r.count("emb_size");
    o.dropout = r.number("dropout");
    o.normalizeInput = r.flag("norm");
    o.dims = r.indexList("dims");
    return o;
  }
  Index items() const noexcept { return options_.items; }
  nn::ParameterBuffer<Scalar>& parameters() noexcept { return params_; }
  const nn::ParameterBuffer<Scalar>& parameters() const noexcept { return params_; }

  /// Training mode turns dropout on (the model starts in training mode, like a torch module).
  void setTraining(bool training) noexcept { dropout_.setTraining(training); }
  bool training() const noexcept { return dropout_.training(); }
  /// Replaces the dropout generator.
  void reseedDropout(Rng rng) noexcept { dropout_.reseed(rng); }
  /// Saves or loads the dropout stream's position (the parameters are saved by their owner).
  template <class Archive>
  void serializeState(Archive& ar) { ar("dropout", dropout_); }
  /// Data-parallel training: the next forward() holds rows [firstRow, …) of a batch of globalRows rows and
  /// draws their dropout as that batch would (nn::Dropout::setRowShard).
  void setRowShard(Index firstRow, Index globalRows) { dropout_.setRowShard(firstRow, globalRows); }

  /// The time-embedding layer (index 0) and the MLP layers (1 … L), in parameter order.
  nn::Linear<Scalar>& timeEmbeddingLayer() noexcept { return embLayer_[0]; }
  nn::Linear<Scalar>& layer(std::size_t i) { return layers_.at(i); }
  std::size_t layerCount() const noexcept { return layers_.size(); }

  /// Denoises a batch.  xt: [batch × items], t: [batch] (0-based steps), out: [batch × items] (resized).
  /// Caches what backward() needs; buffers are reused while the batch size stays the same.
  void forward(const Matrix& xt, const Eigen::ArrayXi& t, const Condition& /*cond*/, Matrix& out) {
    const Index batch = xt.rows(), items = options_.items, emb = options_.timeEmbeddingSize;
    RECDIFF_REQUIRE(xt.cols() == items, "DiffRecMlp::forward(): xt has ", xt.cols(), " columns, expected ", items);
    RECDIFF_REQUIRE(t.size() == batch, "DiffRecMlp::forward(): xt has ", batch, " rows but t has ", t.size(),
                    " entries");
    const nn::GemmPrecision precision = training() ? options_.trainingPrecision : nn::GemmPrecision::kFloat;
    embLayer_[0].setPrecision(precision);  // (a loop over allLayers() would allocate its vector every batch)
    for (auto& l : layers_) l.setPrecision(precision);
    TimeEmbeddingOptions embOptions = diffRecTimeEmbedding();
    embOptions.float32Arithmetic = options_.float32TimeEmbedding;
    sinusoidalTimestepEmbedding(t, emb, sinusoid_, embOptions);
    embLayer_[0].forwardBorrowed(sinusoid_, timeEmb_);

    input_.resize(batch, items + emb);
    const Matrix* source = &xt;
    if (options_.normalizeInput) {
      // F.normalize: x / max(||x||, 1e-12).
      rowNorms_ = xt.rowwise().norm().array().max(Scalar(1e-12));
      normalized_.resize(batch, items);
      normalized_.noalias() = rowNorms_.inverse().matrix().asDiagonal() * xt;
      source = &normalized_;
    }
    const Matrix* mask = dropout_.sampleMask(batch, items);
    masked_ = mask != nullptr;
    nn::forEachRowBlock(batch, items, [&](Index r, Index n) {
      auto dst = input_.block(r, 0, n, items);
      if (masked_) dst = source->middleRows(r, n).cwiseProduct(mask->middleRows(r, n));
      else dst = source->middleRows(r, n);
    });
    input_.rightCols(emb) = timeEmb_;

    const std::size_t last = layers_.size() - 1;
    const Matrix* h = &input_;
    for (std::size_t k = 0; k < last; ++k) {
      layers_[k].forwardBorrowed(*h, activations_[k]);
      Matrix& a = activations_[k];
      nn::forEachRowBlock(a.rows(), a.cols(), [&a](Index r, Index n) {
        a.middleRows(r, n).array() = a.middleRows(r, n).array().tanh();
      });
      h = &activations_[k];
    }
    layers_[last].forwardBorrowed(*h, out);
  }

  /// Accumulates every parameter gradient for dL/dout = dOut [batch × items]; writes dL/dxt when dXt is not
  /// null (otherwise skips the input gradient of the first layer, the largest GEMM of the pass).
  void backward(const Matrix& dOut, Matrix* dXt) {
    const Index batch = dOut.rows(), items = options_.items, emb = options_.timeEmbeddingSize;
    RECDIFF_REQUIRE(batch == input_.rows() && dOut.cols() == items, "DiffRecMlp::backward(): dOut is ", dOut.rows(),
                    "x", dOut.cols(), ", expected ", input_.rows(), "x", items);
    const Matrix* g = &dOut;
    for (std::size_t k = layers_.size() - 1; k > 0; --k) {
      Matrix& next = (k % 2 == 1) ? gradA_ : gradB_;
      layers_[k].backward(*g, next);
      const Matrix& a = activations_[k - 1];
      nn::forEachRowBlock(next.rows(), next.cols(), [&next, &a](Index r, Index n) {
        next.middleRows(r, n).array() *= Scalar(1) - a.middleRows(r, n).array().square();
      });
      g = &next;
    }
    auto& first = layers_[0];
    first.backwardParameters(*g);
    // The time-embedding part of dL/dh0, then the embedding layer's parameters.
    dTimeEmb_.resize(batch, emb);
    nn::gemm(dTimeEmb_, *g, first.weight().rightCols(emb), nn::Accumulate::kNo, first.precision());
    embLayer_[0].backwardParameters(dTimeEmb_);
    if (dXt == nullptr) return;
    dXt->resize(batch, items);
    nn::gemm(*dXt, *g, first.weight().leftCols(items), nn::Accumulate::kNo, first.precision());
    if (masked_) dXt->array() *= dropout_.mask().array();
    if (options_.normalizeInput) {
      // y = x / n: dx = (dy − y (y·dy)) / n where ||x|| > 1e-12, else dy / 1e-12.
      dots_ = normalized_.cwiseProduct(*dXt).rowwise().sum().array();
      for (Index i = 0; i < batch; ++i) {
        if (rowNorms_(i) > Scalar(1e-12)) dXt->row(i) = (dXt->row(i) - dots_(i) * normalized_.row(i)) / rowNorms_(i);
        else dXt->row(i) /= rowNorms_(i);
      }
    }
  }

  /// Inference helper: forward in evaluation mode, restoring the previous mode.
  void predict(const Matrix& xt, const Eigen::ArrayXi& t, Matrix& out) {
    const bool was = training();
    setTraining(false);
    forward(xt, t, Condition{}, out);
    setTraining(was);
  }

  /// Multiply-adds of one forward pass on a [batch × items] input (GEMMs only), for FLOP counters.
  double forwardFlops(Index batch) const {
    double f = 2.0 * static_cast<double>(batch) * static_cast<double>(embLayer_[0].parameterCount());
    for (const auto& l : layers_)
      f += 2.0 * static_cast<double>(batch) * static_cast<double>(l.inputSize() * l.outputSize());
    return f;
  }

 private:
  std::vector<nn::Linear<Scalar>*> allLayers() {
    std::vector<nn::Linear<Scalar>*> all{&embLayer_[0]};
    for (auto& l : layers_) all.push_back(&l);
    return all;
  }

  Options options_;
  nn::ParameterBuffer<Scalar> params_;
  std::vector<nn::Linear<Scalar>> embLayer_;  // one element: a vector keeps the layer's address stable on move
  std::vector<nn::Linear<Scalar>> layers_;
  nn::Dropout<Scalar> dropout_;
  bool masked_ = false;

  Matrix sinusoid_, timeEmb_, input_, normalized_, dTimeEmb_, gradA_, gradB_;
  std::vector<Matrix> activations_;
  ArrayX<Scalar> dots_;
  ArrayX<Scalar> rowNorms_;  // max(||x||, 1e-12) per row, when normalizeInput
};

}  // namespace recdiff

#endif  // RECDIFF_DENOISERS_DIFFREC_MLP_HPP
