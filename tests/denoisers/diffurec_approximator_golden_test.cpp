// DiffuRecApproximator against the authors' code (tests/golden/diffurec_approximator.json, float64 PyTorch):
// x_t, predicted x0, the cross-entropy loss, every used parameter's gradient and the reverse-sampling output
// given the recorded noises, for every case in the file.
//
// Facts the numbers depend on (read from WHUIR/DiffuRec src/diffurec.py): the reference computes the sinusoid
// of t · 1000/T in float32 (t.float(), float32 frequencies from torch's float32 exp, float32 cos/sin), so the
// model is built with float32Sinusoid; its q_sample reads sqrt(alphaBar_t) and sqrt(1 − alphaBar_t) through
// _extract_into_tensor(...).float(), so also with float32Coefficients (in the T = 5, H = 12 case an entry of x_t
// that is a small difference of the two terms is 3.2e-5 off with exact coefficients, and a float32 frequency
// 1 ULP off torch's moves the time_embed.0.weight gradient by 1.8e-6; the tolerance stays kModel); its attention
// mask blanks padded query rows (kQueryRows; the cases have no padding); the reverse process reuses the recorded
// lambda noise at every step (Λ = λ + λ·lambda_noise) and draws reverse_noises[0] as x_T and reverse_noises[k] at
// step T − k, with the "fixed large" variance.

#include <string>
#include <vector>

#include <recdiff/denoisers/diffurec_approximator.hpp>
#include <recdiff/sampling/ddpm_sampler.hpp>
#include <recdiff/diffusion.hpp>
#include <recdiff/schedules.hpp>

#include "support/catch.hpp"
#include "support/golden.hpp"
#include "support/tolerances.hpp"

namespace {

using recdiff::Index;
using recdiff::RowMatrix;
using Model = recdiff::DiffuRecApproximator<double>;
using Map = Eigen::Map<RowMatrix<double>>;

struct Slot {
  std::string name;
  double* value;
  double* grad;
  Index rows, cols;
};

// The reference's parameter names mapped onto the approximator's flat buffer.
std::vector<Slot> namedSlots(Model& model, Index blocks, Index h) {
  std::vector<Slot> slots;
  const auto add = [&](std::string name, auto value, auto grad) {
    slots.push_back({std::move(name), value.data(), grad.data(), value.rows(), value.cols()});
  };
  const auto addRows = [&](std::string name, auto value, auto grad, Index offset, Index count) {
    // `count` contiguous scalars starting at `offset` of a row-major view.
    slots.push_back({std::move(name), value.data() + offset, grad.data() + offset, 1, count});
  };
  add("item_embeddings.weight", model.itemEmbedding().weight(), model.itemEmbedding().weightGrad());
  add("LayerNorm.weight", model.inputNorm().gamma(), model.inputNorm().gammaGrad());
  add("LayerNorm.bias", model.inputNorm().beta(), model.inputNorm().betaGrad());
  auto& mlp = model.timeMlp();
  const std::string x = "diffu.xstart_model.";
  add(x + "time_embed.0.weight", mlp.weight1(), mlp.weight1Grad());
  add(x + "time_embed.0.bias", mlp.bias1(), mlp.bias1Grad());
  add(x + "time_embed.2.weight", mlp.weight2(), mlp.weight2Grad());
  add(x + "time_embed.2.bias", mlp.bias2(), mlp.bias2Grad());
  for (Index k = 0; k < blocks; ++k) {
    const std::string p = x + "att.transformer_blocks." + std::to_string(k) + ".";
    auto& b = model.block(k);
    auto& att = b.attention();
    for (Index j = 0; j < 3; ++j) {
      const std::string l = p + "attention.linear_layers." + std::to_string(j) + ".";
      addRows(l + "weight", att.qkvWeight(), att.qkvWeightGrad(), j * h * h, h * h);
      addRows(l + "bias", att.qkvBias(), att.qkvBiasGrad(), j * h, h);
    }
    add(p + "attention.w_layer.weight", att.outWeight(), att.outWeightGrad());
    add(p + "attention.w_layer.bias", att.outBias(), att.outBiasGrad());
    auto& ffn = b.feedForward();
    add(p + "feed_forward.w_1.weight", ffn.weight1(), ffn.weight1Grad());
    add(p + "feed_forward.w_1.bias", ffn.bias1(), ffn.bias1Grad());
    add(p + "feed_forward.w_2.weight", ffn.weight2(), ffn.weight2Grad());
    add(p + "feed_forward.w_2.bias", ffn.bias2(), ffn.bias2Grad());
    add(p + "input_sublayer.norm.weight", b.norm1().gamma(), b.norm1().gammaGrad());
    add(p + "input_sublayer.norm.bias", b.norm1().beta(), b.norm1().betaGrad());
    add(p + "output_sublayer.norm.weight", b.norm2().gamma(), b.norm2().gammaGrad());
    add(p + "output_sublayer.norm.bias", b.norm2().beta(), b.norm2().betaGrad());
  }
  add(x + "norm_diffu_rep.weight", model.outputNorm().gamma(), model.outputNorm().gammaGrad());
  add(x + "norm_diffu_rep.bias", model.outputNorm().beta(), model.outputNorm().betaGrad());
  return slots;
}

Model::Sequences sequencesOf(const recdiff::test::Json& j) {
  const Index rows = static_cast<Index>(j.size()), cols = static_cast<Index>(j.at(0).size());
  Model::Sequences s(rows, cols);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) s(r, c) = j.at(static_cast<std::size_t>(r)).at(static_cast<std::size_t>(c)).get<int>();
  return s;
}

// max |a − b| / max |b|: the error of a gradient array relative to its scale. Entries far below the array's
// scale (and the key-projection bias gradient, which is zero in exact arithmetic: softmax ignores a constant
// added to every key) carry only the reference's float32 rounding of the sinusoid, so an entry-wise ratio
// would measure that noise. The floor 1e-8 keeps an all-zero gradient comparable.
template <class A, class B>
double arrayRelativeError(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  return (a - b).cwiseAbs().maxCoeff() / std::max(b.cwiseAbs().maxCoeff(), 1e-8);
}

Eigen::ArrayXi intsOf(const recdiff::test::Json& j) {
  Eigen::ArrayXi a(static_cast<Index>(j.size()));
  for (Index i = 0; i < a.size(); ++i) a(i) = j.at(static_cast<std::size_t>(i)).get<int>();
  return a;
}

}  // namespace

TEST_CASE("DiffuRecApproximator reproduces the reference outputs gradients and reverse samples", "[denoisers][diffurec][golden]") {
  const auto golden = recdiff::test::loadGolden("diffurec_approximator.json");
  const double tol = recdiff::test::Tolerance<double>::kModel;
  const auto& cases = golden.at("cases");
  REQUIRE(!cases.empty());
  // One section per case: a failing case does not hide the others.
  for (std::size_t index = 0; index < cases.size(); ++index) {
    const auto& c = cases[index];
    DYNAMIC_SECTION("case " << index << ": seed " << c.at("seed").get<int>() << ", T " << c.at("diffusion_steps").get<Index>()
                            << ", " << c.at("noise_schedule").get<std::string>()) {
      const Index h = c.at("hidden_size").get<Index>(), blocks = c.at("num_blocks").get<Index>();
      const Index batch = c.at("batch").get<Index>(), len = c.at("seq_len").get<Index>();
      const Index steps = c.at("diffusion_steps").get<Index>();
      CAPTURE(c.at("seed").get<int>(), h, blocks, len, steps, c.at("noise_schedule").get<std::string>());
      Model model({.items = c.at("n_items").get<Index>(),
                   .hidden = h,
                   .blocks = blocks,
                   .heads = c.at("heads").get<Index>(),
                   .maxLength = len,
                   .steps = steps,
                   .rescaleTimesteps = c.at("rescale_timesteps").get<bool>(),
                   .lambda = c.at("lambda_uncertainty").get<double>(),
                   .dropout = 0.0,
                   .embeddingDropout = 0.0,
                   .eps = 1e-12,
                   .attentionMask = recdiff::nn::PaddingMask::kQueryRows,
                   .float32Sinusoid = true,
                   .float32Coefficients = true});
      auto slots = namedSlots(model, blocks, h);
      const auto& params = c.at("params");
      for (const auto& s : slots) {
        INFO(s.name);
        REQUIRE(params.contains(s.name));
        const auto m = recdiff::test::goldenMatrix<double>(params.at(s.name));
        REQUIRE(m.size() == s.rows * s.cols);
        Map(s.value, s.rows, s.cols) = Eigen::Map<const RowMatrix<double>>(m.data(), s.rows, s.cols);
      }
      const recdiff::GaussianDiffusion<recdiff::AnySchedule, recdiff::PredictX0, recdiff::FixedLargeVariance, double>
          diffusion(recdiff::makeSchedule(c.at("noise_schedule").get<std::string>()), steps);
      const auto seq = sequencesOf(c.at("sequence"));
      const Eigen::ArrayXi labels = intsOf(c.at("labels")), t = intsOf(c.at("timesteps"));
      const RowMatrix<double> noise = recdiff::test::goldenMatrix<double>(c.at("noise"));
      const RowMatrix<double> lambdaFlat = recdiff::test::goldenMatrix<double>(c.at("lambda_noise"));
      const RowMatrix<double> lambdaNoise = Eigen::Map<const RowMatrix<double>>(lambdaFlat.data(), batch * len, h);

      model.parameters().zeroGrad();
      const double loss = model.trainingLoss(diffusion, seq, labels, t, noise, &lambdaNoise);
      CHECK(recdiff::test::maxRelativeError(model.lastXt(), recdiff::test::goldenMatrix<double>(c.at("x_t"))) < tol);
      CHECK(recdiff::test::maxRelativeError(model.lastX0Hat(), recdiff::test::goldenMatrix<double>(c.at("x0_pred"))) < tol);
      CHECK(std::abs(loss - c.at("loss").get<double>()) < tol * std::abs(c.at("loss").get<double>()));
      const auto& grads = c.at("grads");
      REQUIRE(grads.size() == slots.size());
      for (const auto& s : slots) {
        INFO("gradient of " << s.name);
        REQUIRE(grads.contains(s.name));
        const auto g = recdiff::test::goldenMatrix<double>(grads.at(s.name));
        const Eigen::Map<const RowMatrix<double>> ours(s.grad, s.rows, s.cols);
        CHECK(arrayRelativeError(ours, Eigen::Map<const RowMatrix<double>>(g.data(), s.rows, s.cols)) < tol);
      }

      const auto& reverse = c.at("reverse_noises");
      REQUIRE(static_cast<Index>(reverse.size()) == steps + 1);
      const RowMatrix<double> initial = recdiff::test::goldenMatrix<double>(reverse.at(0));
      std::vector<RowMatrix<double>> stepNoises;
      for (Index k = 1; k <= steps; ++k) stepNoises.push_back(recdiff::test::goldenMatrix<double>(reverse.at(static_cast<std::size_t>(k))));
      // The reference's reverse_p_sample with its recorded draws: DdpmSampler's replay loop, Λ fixed.
      using Seq = recdiff::DiffuRecApproximator<double>::Sequences;
      auto withLambda = recdiff::makeFunctionDenoiser<double, Seq>(
          [&](const RowMatrix<double>& x, const Eigen::ArrayXi& ts, const Seq& s, RowMatrix<double>& out) {
            model.forwardWithNoise(x, ts, s, lambdaNoise, out);
          });
      RowMatrix<double> sampled = initial;
      recdiff::DdpmSampler(diffusion, recdiff::diffuRecReverseOptions()).runWithNoise(withLambda, seq, sampled, stepNoises);
      CHECK(recdiff::test::maxRelativeError(sampled, recdiff::test::goldenMatrix<double>(c.at("reverse_output"))) < tol);
    }
  }
}
