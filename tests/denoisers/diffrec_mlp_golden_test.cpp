// DiffRec's DNN + training_losses + AdamW against tests/golden/diffrec_dnn.json (the authors' code, float64,
// dropout off), for every case in the file.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <recdiff/denoisers/diffrec_mlp.hpp>
#include <recdiff/diffusion.hpp>
#include <recdiff/optim/optimizer.hpp>

#include "support/catch.hpp"
#include "support/golden.hpp"
#include "support/tolerances.hpp"

using recdiff::ArrayX;
using recdiff::DiffRecMlp;
using recdiff::Index;
using recdiff::RowMatrix;
using recdiff::test::goldenArray;
using recdiff::test::goldenMatrix;
using recdiff::test::Json;

namespace {
// Relative error of a tensor: max |a − b| / max |b|. The reference computes the time embedding in float32, which
// moves outputs and gradients by ~4e-8 absolute; element-wise relative errors of entries near zero (an output of
// 0.0028) would measure that rounding, not the model.
template <class A, class B>
double tensorRelativeError(const Eigen::DenseBase<A>& a, const Eigen::DenseBase<B>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return std::numeric_limits<double>::infinity();
  const double scale = b.derived().cwiseAbs().maxCoeff();
  const double diff = (a.derived() - b.derived()).cwiseAbs().maxCoeff();
  return std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff / scale;
}

// torch's state_dict names in our parameter order: emb_layer, in_layers.*, out_layers.*.
std::vector<std::string> layerNames(std::size_t hidden) {
  std::vector<std::string> names{"emb_layer"};
  for (std::size_t i = 0; i < hidden; ++i) names.push_back("in_layers." + std::to_string(i));
  for (std::size_t i = 0; i < hidden; ++i) names.push_back("out_layers." + std::to_string(i));
  return names;
}

// Concatenates weight (row-major [out, in]) and bias of every layer, as our buffer lays them out.
recdiff::ColVector<double> flatten(const Json& group, const std::vector<std::string>& names) {
  std::vector<double> flat;
  for (const auto& n : names)
    for (const char* part : {".weight", ".bias"}) {
      const auto a = goldenArray(group.at(n + part));
      flat.insert(flat.end(), a.data(), a.data() + a.size());
    }
  return Eigen::Map<const recdiff::ColVector<double>>(flat.data(), static_cast<Index>(flat.size()));
}

// Relative error of each parameter tensor, reported by name.
void checkGroup(const recdiff::ColVector<double>& got, const Json& group, const std::vector<std::string>& names,
                double tolerance) {
  Index offset = 0;
  for (const auto& n : names)
    for (const char* part : {".weight", ".bias"}) {
      const auto expected = goldenArray(group.at(n + part));
      const auto actual = got.segment(offset, expected.size()).array();
      offset += expected.size();
      INFO(n << part);
      CHECK(tensorRelativeError(actual, expected) < tolerance);
    }
  CHECK(offset == got.size());
}
}  // namespace

TEST_CASE("DiffRecMlp reproduces the DiffRec DNN golden outputs gradients and AdamW step",
          "[denoisers][diffrec_mlp][golden]") {
  const auto golden = recdiff::test::loadGolden("diffrec_dnn.json");
  const auto& cases = golden.at("cases");
  REQUIRE(!cases.empty());
  const double tol = recdiff::test::Tolerance<double>::kModel;
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const auto& c = cases[k];
    DYNAMIC_SECTION("case " << k << ": seed " << c.at("seed").get<int>() << ", mean type "
                            << c.at("mean_type").get<std::string>()) {
      const auto items = c.at("n_items").get<Index>();
      const auto dims = c.at("hidden_dims").get<std::vector<Index>>();
      const auto emb = c.at("emb_size").get<Index>();
      const std::string meanType = c.at("mean_type").get<std::string>();
      INFO("case seed " << c.at("seed").get<int>() << ", mean type " << meanType);
      recdiff::Rng rng(1);
      DiffRecMlp<double> model({.items = items, .dims = dims, .timeEmbeddingSize = emb}, rng);
      model.setTraining(false);
      const auto names = layerNames(dims.size());
      const recdiff::ColVector<double> initial = flatten(c.at("params"), names);
      REQUIRE(initial.size() == model.parameters().size());
      model.parameters().values() = initial;

      const RowMatrix<double> x0 = goldenMatrix(c.at("x_start"));
      const RowMatrix<double> noise = goldenMatrix(c.at("noise"));
      const RowMatrix<double> xt = goldenMatrix(c.at("x_t"));
      const auto ts = c.at("timesteps").get<std::vector<int>>();
      const Eigen::ArrayXi t = Eigen::Map<const Eigen::ArrayXi>(ts.data(), static_cast<Index>(ts.size()));
      const Index batch = x0.rows();

      RowMatrix<double> out;
      model.forward(xt, t, recdiff::NoCondition{}, out);
      CHECK(tensorRelativeError(out, goldenMatrix(c.at("model_output"))) < tol);

      // training_losses(reweight=True) with uniform timesteps (pt = 1), then .mean() over the batch. The
      // per-example weights come from the diffusion core (and must equal the file's); at t = 0 the eps case uses
      // the x0 likelihood term.
      const bool eps = meanType == "eps";
      const auto schedule = recdiff::diffRecSchedule(c.at("noise_scale").get<double>(), c.at("noise_min").get<double>(),
                                                     c.at("noise_max").get<double>());
      const recdiff::GaussianDiffusion<decltype(schedule), recdiff::PredictX0, recdiff::FixedSmallVariance, double>
          diffusion(schedule, c.at("steps").get<Index>());
      REQUIRE(c.at("reweight").get<bool>());
      const ArrayX<double> weight = eps ? recdiff::reweightEpsilon(diffusion, t) : recdiff::reweightX0(diffusion, t);
      CHECK(recdiff::test::maxRelativeError(weight, goldenArray(c.at("per_example_weight"))) <
            recdiff::test::Tolerance<double>::kTable);
      // _predict_xstart_from_eps casts its coefficients to float32 (_extract_into_tensor(...).float()); the t = 0
      // term x0 − x0Hat is a small difference of O(1) numbers, so that rounding is visible at 1e-6 and we follow it.
      const double c1f = static_cast<float>(diffusion.tables().sqrtRecipAlphaBar(0));
      const double c2f = static_cast<float>(diffusion.tables().sqrtRecipAlphaBarMinusOne(0));
      ArrayX<double> perExample(batch);
      RowMatrix<double> dOut(batch, items);
      for (Index i = 0; i < batch; ++i) {
        if (eps && t(i) == 0) {
          const Eigen::RowVectorXd diff = x0.row(i) - (c1f * xt.row(i) - c2f * out.row(i));
          perExample(i) = weight(i) * diff.squaredNorm() / static_cast<double>(items) / 2.0;
          dOut.row(i) = weight(i) * c2f * diff / static_cast<double>(items * batch);
        } else {
          const Eigen::RowVectorXd diff = out.row(i) - (eps ? noise.row(i) : x0.row(i));
          perExample(i) = weight(i) * diff.squaredNorm() / static_cast<double>(items);
          dOut.row(i) = 2.0 * weight(i) * diff / static_cast<double>(items * batch);
        }
      }
      CHECK(recdiff::test::maxRelativeError(perExample, goldenArray(c.at("per_example_loss"))) < tol);
      CHECK(perExample.mean() == Approx(c.at("loss").get<double>()).epsilon(tol));

      model.parameters().zeroGrad();
      model.backward(dOut, nullptr);
      checkGroup(model.parameters().grads(), c.at("grads"), names, tol);

      const auto& adam = c.at("adamw");
      recdiff::optim::AdamW opt({.learningRate = adam.at("lr").get<double>(),
                                 .beta1 = adam.at("betas")[0].get<double>(),
                                 .beta2 = adam.at("betas")[1].get<double>(),
                                 .epsilon = adam.at("eps").get<double>(),
                                 .weightDecay = adam.at("weight_decay").get<double>()});
      opt.step(model.parameters());
      checkGroup(model.parameters().values(), c.at("params_after_adamw_step"), names, tol);
    }
  }
}
