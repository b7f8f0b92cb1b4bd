// DiffuRecApproximator: finite-difference gradient of the whole training loss (every parameter, the item table
// included, through scores, history and noised target), the input gradient, the two attention-mask readings,
// learned positions, and the Denoiser contract.

#include <recdiff/concepts.hpp>
#include <recdiff/denoisers/diffurec_approximator.hpp>
#include <recdiff/sampling/ddpm_sampler.hpp>
#include <recdiff/diffusion.hpp>
#include <recdiff/schedules.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

namespace {

using recdiff::Index;
using recdiff::RowMatrix;
template <class S>
using Model = recdiff::DiffuRecApproximator<S>;
template <class S>
using Diffusion = recdiff::GaussianDiffusion<recdiff::AnySchedule, recdiff::PredictX0, recdiff::FixedLargeVariance, S>;

static_assert(recdiff::Denoiser<Model<float>>);
static_assert(recdiff::Denoiser<Model<double>>);

template <class S>
typename Model<S>::Sequences paddedSequences() {
  typename Model<S>::Sequences seq(3, 4);
  seq << 0, 0, 2, 5,  //
      1, 7, 4, 4,     //
      0, 3, 6, 1;
  return seq;
}

recdiff::DiffuRecApproximatorOptions smallOptions(recdiff::nn::PaddingMask mask, bool positions, double dropout) {
  return {.items = 7,
          .hidden = 4,
          .blocks = 2,
          .heads = 2,
          .maxLength = 4,
          .steps = 4,
          .lambda = 0.3,  // large, so the conditioning path is well exercised
          .dropout = dropout,
          .embeddingDropout = dropout,
          .learnedPositions = positions,
          .attentionMask = mask};
}

}  // namespace

TEST_CASE("DiffuRecApproximator training loss gradient matches central differences", "[denoisers][diffurec][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  const Diffusion<double> diffusion(recdiff::makeSchedule("trunc_lin"), 4);
  const auto seq = paddedSequences<double>();
  Eigen::ArrayXi targets(3), t(3);
  targets << 3, 0, 7;  // row 0 (padding) is an ordinary, trained row of the softmax
  t << 0, 3, 2;
  for (const auto mask : {recdiff::nn::PaddingMask::kKeys, recdiff::nn::PaddingMask::kQueryRows})
    for (const bool positions : {false, true})
      for (const double dropout : {0.0, 0.2}) {
        CAPTURE(static_cast<int>(mask), positions, dropout);
        Model<double> model(smallOptions(mask, positions, dropout));
        model.reset(rng);
        const auto noise = recdiff::test::randomMatrix<double>(3, 4, rng);
        const auto lambdaNoise = recdiff::test::randomMatrix<double>(12, 4, rng);
        const auto loss = [&] {
          model.setRng(recdiff::Rng(77));  // the same dropout masks at every evaluation
          return model.trainingLoss(diffusion, seq, targets, t, noise, &lambdaNoise);
        };
        const double error = recdiff::test::gradientError(model.parameters(), loss, loss);
        CHECK(error < 1e-6);
      }
}

TEST_CASE("DiffuRecApproximator input gradient matches central differences", "[denoisers][diffurec][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  Model<double> model(smallOptions(recdiff::nn::PaddingMask::kKeys, false, 0.0));
  model.reset(rng);
  const auto seq = paddedSequences<double>();
  Eigen::ArrayXi t(3);
  t << 1, 0, 3;
  RowMatrix<double> xt = recdiff::test::randomMatrix<double>(3, 4, rng);
  const auto lambdaNoise = recdiff::test::randomMatrix<double>(12, 4, rng);
  const auto w = recdiff::test::randomMatrix<double>(3, 4, rng);
  RowMatrix<double> out, dXt;
  model.forwardWithNoise(xt, t, seq, lambdaNoise, out);
  model.backward(w, &dXt);
  const auto fd = recdiff::test::finiteDifferenceGradient(xt, [&] {
    model.forwardWithNoise(xt, t, seq, lambdaNoise, out);
    return (out.array() * w.array()).sum();
  });
  CHECK(recdiff::test::relativeError(Eigen::Map<const recdiff::ColVector<double>>(dXt.data(), dXt.size()), fd) < 1e-6);
}

TEST_CASE("DiffuRecApproximator key masking hides padded positions and the reference query-row mask does not",
          "[denoisers][diffurec]") {
  recdiff::Rng rng(recdiff::test::seed());
  const auto seq = paddedSequences<double>();
  Eigen::ArrayXi t(3);
  t << 1, 0, 3;
  for (const auto mask : {recdiff::nn::PaddingMask::kKeys, recdiff::nn::PaddingMask::kQueryRows}) {
    Model<double> model(smallOptions(mask, false, 0.0));
    model.reset(rng);
    const auto xt = recdiff::test::randomMatrix<double>(3, 4, rng);
    const auto lambdaNoise = recdiff::test::randomMatrix<double>(12, 4, rng);
    RowMatrix<double> before, after;
    model.forwardWithNoise(xt, t, seq, lambdaNoise, before);
    model.itemEmbedding().weight().row(0) += recdiff::test::randomMatrix<double>(1, 4, rng);  // feeds padded positions only
    model.forwardWithNoise(xt, t, seq, lambdaNoise, after);
    CHECK((before.row(1) - after.row(1)).norm() == 0.0);  // sequence 1 has no padding
    if (mask == recdiff::nn::PaddingMask::kKeys) {
      CHECK((before - after).norm() < 1e-12);
    } else {
      CHECK((before.row(0) - after.row(0)).norm() > 1e-6);  // padded keys still attend
    }
  }
}

TEMPLATE_TEST_CASE("DiffuRecApproximator samples deterministically for a seed in evaluation mode",
                   "[denoisers][diffurec]", float, double) {
  recdiff::Rng rng(recdiff::test::seed());
  const Diffusion<TestType> diffusion(recdiff::makeSchedule("trunc_lin"), 4);
  Model<TestType> model(smallOptions(recdiff::nn::PaddingMask::kKeys, true, 0.1));
  model.reset(rng);
  model.setTraining(false);
  const auto seq = paddedSequences<TestType>();
  RowMatrix<TestType> a, b;
  model.setRng(recdiff::Rng(3));
  recdiff::Rng r1(9), r2(9);
  recdiff::DdpmSampler(diffusion, recdiff::diffuRecReverseOptions()).sampleFromNoise(model, seq, seq.rows(), 4, r1, a);
  model.setRng(recdiff::Rng(3));
  recdiff::DdpmSampler(diffusion, recdiff::diffuRecReverseOptions()).sampleFromNoise(model, seq, seq.rows(), 4, r2, b);
  REQUIRE(a.rows() == 3);
  REQUIRE(a.cols() == 4);
  CHECK(a.allFinite());
  CHECK((a - b).norm() == TestType(0));
}

TEST_CASE("DiffuRecApproximator rejects bad options and shapes", "[denoisers][diffurec]") {
  CHECK_THROWS_AS(Model<double>({.items = 0}), std::invalid_argument);
  CHECK_THROWS_AS(Model<double>({.items = 5, .hidden = 6, .heads = 4}), std::invalid_argument);
  Model<double> model(smallOptions(recdiff::nn::PaddingMask::kKeys, true, 0.0));
  const auto seq = paddedSequences<double>();
  RowMatrix<double> xt = RowMatrix<double>::Zero(2, 4), out;
  Eigen::ArrayXi t = Eigen::ArrayXi::Zero(3);
  CHECK_THROWS_AS(model.forward(xt, t, seq, out), std::invalid_argument);
  typename Model<double>::Sequences tooLong = Model<double>::Sequences::Ones(3, 5);
  xt.setZero(3, 4);
  CHECK_THROWS_AS(model.forward(xt, t, tooLong, out), std::invalid_argument);
}
