// DiffRec end to end through the model and trainer code paths against the authors' code
// (tests/golden/diffrec_dnn.json: DNN + GaussianDiffusion.training_losses + torch.optim.AdamW + p_sample).
#include <recdiff/models/diffrec.hpp>

#include <string>
#include <vector>

#include "support/catch.hpp"
#include "support/golden.hpp"
#include "support/tolerances.hpp"

namespace {

using recdiff::Index;
using recdiff::test::Json;

/// The reference's parameter names in state_dict order (= DiffRecMlp's buffer order).
std::vector<std::string> parameterNames(std::size_t hidden) {
  std::vector<std::string> names = {"emb_layer.weight", "emb_layer.bias"};
  for (const char* stack : {"in_layers", "out_layers"})
    for (std::size_t k = 0; k < hidden; ++k) {
      names.push_back(std::string(stack) + "." + std::to_string(k) + ".weight");
      names.push_back(std::string(stack) + "." + std::to_string(k) + ".bias");
    }
  return names;
}

/// Concatenates the named arrays of `group` into one flat vector (row-major, as torch stores them).
Eigen::VectorXd flatten(const Json& group, const std::vector<std::string>& names) {
  std::vector<double> flat;
  for (const auto& n : names) {
    INFO("parameter " << n);
    REQUIRE(group.contains(n));
    for (const auto& v : group.at(n).at("data")) flat.push_back(v.get<double>());
  }
  return Eigen::Map<const Eigen::VectorXd>(flat.data(), static_cast<Index>(flat.size()));
}

template <class Parameterization>
void checkCase(const Json& c, recdiff::DiffRecOptions::Folding folding) {
  recdiff::DiffRecOptions o;
  o.foldedReverse = folding;  // p_sample through the folded loop or DdpmSampler's step-by-step loop
  o.dims = c.at("hidden_dims").get<std::vector<Index>>();
  o.timeEmbeddingSize = c.at("emb_size").get<Index>();
  o.steps = c.at("steps").get<Index>();
  o.schedule.name = c.at("schedule").get<std::string>();
  o.schedule.noiseScale = c.at("noise_scale").get<double>();
  o.schedule.noiseMin = c.at("noise_min").get<double>();
  o.schedule.noiseMax = c.at("noise_max").get<double>();
  o.reweight = c.at("reweight").get<bool>();
  // DiffRec rounds the t = 0 eps likelihood coefficients to float32 (_extract_into_tensor(...).float()); with exact
  // ones the per-example loss of such a case moves by up to ~3e-6 relative (losses_test.cpp). kModel unchanged.
  o.coefficientPrecision = recdiff::CoefficientPrecision::kReferenceFloat32;
  o.learningRate = c.at("adamw").at("lr").get<double>();
  o.weightDecay = c.at("adamw").at("weight_decay").get<double>();
  REQUIRE(c.at("adamw").at("betas").at(0).get<double>() == 0.9);
  REQUIRE(c.at("adamw").at("betas").at(1).get<double>() == 0.999);
  REQUIRE(c.at("adamw").at("eps").get<double>() == 1e-8);
  const Index items = c.at("n_items").get<Index>();
  recdiff::DiffRec<Parameterization, double> model(o, items);

  const auto names = parameterNames(o.dims.size());
  const Eigen::VectorXd params = flatten(c.at("params"), names);
  REQUIRE(params.size() == model.model().parameters().size());
  model.model().parameters().values() = params;
  model.model().setTraining(false);  // the reference's dropout is off in the golden run

  const auto x0 = recdiff::test::goldenMatrix<double>(c.at("x_start"));
  const auto noise = recdiff::test::goldenMatrix<double>(c.at("noise"));
  const auto tv = c.at("timesteps").get<std::vector<int>>();
  const Eigen::ArrayXi t = Eigen::Map<const Eigen::ArrayXi>(tv.data(), static_cast<Index>(tv.size()));
  const Eigen::ArrayXd ones = Eigen::ArrayXd::Ones(t.size());  // uniform sampler: p_t = 1/T, weight 1

  const double loss = model.trainer().lossAndGradient(x0, t, ones, noise, recdiff::NoCondition{});
  constexpr double kTol = recdiff::test::Tolerance<double>::kModel;
  CHECK(recdiff::test::tensorRelativeError(model.trainer().lastNoisedInput(), recdiff::test::goldenMatrix<double>(c.at("x_t"))) < kTol);
  CHECK(recdiff::test::tensorRelativeError(model.trainer().lastOutput(), recdiff::test::goldenMatrix<double>(c.at("model_output"))) < kTol);
  CHECK(recdiff::test::maxRelativeError(model.trainer().lastLoss().weighted.matrix().transpose(),
                                        recdiff::test::goldenMatrix<double>(c.at("per_example_loss"))) < kTol);
  CHECK(std::abs(loss - c.at("loss").get<double>()) <= kTol * std::abs(c.at("loss").get<double>()));
  const Eigen::VectorXd grads = flatten(c.at("grads"), names);
  CHECK(recdiff::test::tensorRelativeError(model.model().parameters().grads(), grads) < kTol);

  model.optimizer().step(model.model().parameters());
  CHECK(recdiff::test::maxRelativeError(model.model().parameters().values(), flatten(c.at("params_after_adamw_step"), names)) <
        kTol);

  // p_sample(model, x_start, steps = 0, sampling_noise = False) with the stepped parameters.
  recdiff::RowMatrix<double> scores;
  recdiff::Rng rng(1);
  model.scores(x0, scores, rng);
  CHECK(recdiff::test::tensorRelativeError(scores, recdiff::test::goldenMatrix<double>(c.at("p_sample_steps0_no_noise"))) <
        kTol);
}

}  // namespace

TEST_CASE("DiffRec through its trainer reproduces the authors' loss gradients AdamW step and p_sample",
          "[models][diffrec][golden]") {
  const Json golden = recdiff::test::loadGolden("diffrec_dnn.json");
  const auto& cases = golden.at("cases");
  REQUIRE(!cases.empty());
  // One section per case and reverse loop: a failing case does not hide the others.
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const Json& c = cases[k];
    const std::string meanType = c.at("mean_type").get<std::string>();
    for (const auto folding : {recdiff::DiffRecOptions::Folding::kAlways, recdiff::DiffRecOptions::Folding::kNever}) {
      const bool folded = folding == recdiff::DiffRecOptions::Folding::kAlways;
      DYNAMIC_SECTION("case " << k << " (seed " << c.at("seed").get<int>() << ", mean_type " << meanType
                              << ", hidden_dims " << c.at("hidden_dims").dump() << "), "
                              << (folded ? "folded" : "step-by-step") << " reverse loop") {
        if (meanType == "x0") checkCase<recdiff::PredictX0>(c, folding);
        else if (meanType == "eps") checkCase<recdiff::PredictEpsilon>(c, folding);
        else FAIL("unknown mean_type " << meanType);
      }
    }
  }
}
