// Optimizer trajectories on the quadratic f(θ) = ½ Σ a_i (θ_i − c_i)², θ0 = (0.5, 0.5, −1), a = (1, 4, 0.25),
// c = (1, −2, 3). Expected values follow torch.optim's documented algorithms (Adam, AdamW, SGD), evaluated in
// double precision by a direct transcription of them (outside this code base) and, for longer runs, by the
// scalar reference below.
#include <cmath>
#include <vector>

#include <recdiff/optim/clip_grad_norm.hpp>
#include <recdiff/optim/optimizer.hpp>
#include <recdiff/random.hpp>

#include "support/catch.hpp"

using recdiff::ColVector;
namespace optim = recdiff::optim;

namespace {
const double kA[3] = {1.0, 4.0, 0.25};
const double kC[3] = {1.0, -2.0, 3.0};

template <class Scalar>
void quadraticGradient(recdiff::nn::ParameterBuffer<Scalar>& p) {
  for (int i = 0; i < 3; ++i) p.grads()(i) = static_cast<Scalar>(kA[i]) * (p.values()(i) - static_cast<Scalar>(kC[i]));
}

template <class Scalar>
recdiff::nn::ParameterBuffer<Scalar> startingPoint() {
  recdiff::nn::ParameterBuffer<Scalar> p(3);
  p.values() << Scalar(0.5), Scalar(0.5), Scalar(-1.0);
  return p;
}

template <class Opt, class Scalar>
void checkTrajectory(Opt& opt, const std::vector<std::vector<double>>& expected, double tolerance) {
  auto p = startingPoint<Scalar>();
  for (std::size_t k = 0; k < expected.size(); ++k) {
    quadraticGradient(p);
    opt.step(p);
    INFO("step " << k + 1);
    for (int i = 0; i < 3; ++i) CHECK(static_cast<double>(p.values()(i)) == Approx(expected[k][i]).epsilon(tolerance));
  }
}

// Scalar transcription of torch's Adam/AdamW (long double), for long trajectories.
std::vector<double> referenceAdam(bool decoupled, double lr, double wd, int steps) {
  long double th[3] = {0.5L, 0.5L, -1.0L}, m[3] = {0, 0, 0}, v[3] = {0, 0, 0};
  const long double b1 = 0.9L, b2 = 0.999L, eps = 1e-8L;
  for (int k = 1; k <= steps; ++k)
    for (int i = 0; i < 3; ++i) {
      long double g = kA[i] * (th[i] - kC[i]);
      if (decoupled) th[i] *= 1.0L - lr * wd;
      else g += wd * th[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const long double bc1 = 1 - std::pow(b1, (long double)k), bc2 = 1 - std::pow(b2, (long double)k);
      th[i] -= lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + eps);
    }
  return {double(th[0]), double(th[1]), double(th[2])};
}
}  // namespace

TEMPLATE_TEST_CASE("Adam reproduces torch trajectories on a quadratic", "[optim][adam]", float, double) {
  using S = TestType;
  const double tol = std::is_same_v<S, double> ? 1e-12 : 1e-5;
  SECTION("without weight decay") {
    optim::Adam opt({.learningRate = 0.1});
    checkTrajectory<optim::Adam, S>(opt, {{0.599999998, 0.40000000010000003, -0.900000001},
                                          {0.6988125762693597, 0.3001271881790863, -0.8000739968399005},
                                          {0.7951287442605489, 0.2004739335578976, -0.7002738469962748}},
                                    tol);
  }
  SECTION("with L2 weight decay added to the gradient") {
    optim::Adam opt({.learningRate = 0.1, .weightDecay = 0.5});
    checkTrajectory<optim::Adam, S>(opt, {{0.5999999960000002, 0.400000000097561, -0.9000000006666666},
                                          {0.6898575126514884, 0.30014215249238263, -0.8001664869580206},
                                          {0.7505515629248791, 0.20053068621260625, -0.7006233933225463}},
                                    tol);
  }
}

TEMPLATE_TEST_CASE("AdamW reproduces torch trajectories with decoupled weight decay", "[optim][adamw]", float,
                   double) {
  using S = TestType;
  const double tol = std::is_same_v<S, double> ? 1e-12 : 1e-5;
  optim::AdamW opt({.learningRate = 0.1, .weightDecay = 0.5});
  checkTrajectory<optim::AdamW, S>(opt, {{0.574999998, 0.3750000001, -0.850000001},
                                         {0.6455015536379519, 0.256416485807507, -0.7076178504068567},
                                         {0.7110972796024234, 0.14403839832250243, -0.5725482096448125}},
                                   tol);
}

TEST_CASE("Adam and AdamW follow the scalar reference over many steps", "[optim][adam][adamw]") {
  for (const bool decoupled : {false, true})
    for (const double wd : {0.0, 0.05}) {
      auto p = startingPoint<double>();
      optim::Adam adam({.learningRate = 0.05, .weightDecay = wd});
      optim::AdamW adamw({.learningRate = 0.05, .weightDecay = wd});
      for (int k = 0; k < 60; ++k) {
        quadraticGradient(p);
        if (decoupled) adamw.step(p);
        else adam.step(p);
      }
      const auto expected = referenceAdam(decoupled, 0.05, wd, 60);
      INFO("decoupled " << decoupled << " weight decay " << wd);
      for (int i = 0; i < 3; ++i) CHECK(p.values()(i) == Approx(expected[i]).epsilon(1e-12));
    }
}

TEMPLATE_TEST_CASE("SGD with momentum reproduces torch trajectories", "[optim][sgd]", float, double) {
  using S = TestType;
  const double tol = std::is_same_v<S, double> ? 1e-12 : 1e-5;
  SECTION("heavy ball with weight decay") {
    optim::Sgd opt({.learningRate = 0.1, .momentum = 0.9, .weightDecay = 0.1});
    checkTrajectory<optim::Sgd, S>(opt, {{0.545, -0.5050000000000001, -0.89},
                                         {0.62555, -2.0024500000000005, -0.68485},
                                         {0.7292345, -3.3291505000000003, -0.40124524999999994}},
                                   tol);
  }
  SECTION("Nesterov") {
    optim::Sgd opt({.learningRate = 0.1, .momentum = 0.9, .nesterov = true});
    checkTrajectory<optim::Sgd, S>(opt, {{0.595, -1.4000000000000001, -0.81},
                                         {0.71245, -2.6660000000000004, -0.548025},
                                         {0.8363395, -3.08324, -0.2294413125}},
                                   tol);
  }
  SECTION("plain gradient descent") {
    optim::Sgd opt({.learningRate = 0.1});
    // θ1 = θ0 − 0.1 a (θ0 − c) = (0.55, −0.5, −0.9).
    checkTrajectory<optim::Sgd, S>(opt, {{0.55, -0.5, -0.9}}, tol);
  }
}

TEST_CASE("Step decay multiplies the learning rate by gamma every stepSize epochs", "[optim][decay]") {
  optim::Optimizer<optim::AdamUpdate, optim::StepDecay> opt({.learningRate = 1e-3}, optim::StepDecay(2, 0.1));
  CHECK(opt.learningRate() == Approx(1e-3));
  opt.endEpoch();
  CHECK(opt.learningRate() == Approx(1e-3));
  opt.endEpoch();
  CHECK(opt.learningRate() == Approx(1e-4));
  opt.endEpoch();
  opt.endEpoch();
  CHECK(opt.learningRate() == Approx(1e-5));
  CHECK_THROWS_AS(optim::StepDecay(0, 0.1), std::invalid_argument);
}

TEST_CASE("The learning rate of the current epoch drives the update", "[optim][decay]") {
  optim::Optimizer<optim::SgdUpdate, optim::StepDecay> opt({.learningRate = 1.0}, optim::StepDecay(1, 0.5));
  recdiff::nn::ParameterBuffer<double> p(1);
  p.grads()(0) = 1.0;
  opt.step(p);
  CHECK(p.values()(0) == -1.0);
  opt.endEpoch();
  opt.step(p);
  CHECK(p.values()(0) == -1.5);
  CHECK(opt.stepCount() == 2);
}

TEST_CASE("Gradient clipping rescales to the global norm like clip_grad_norm_", "[optim][clip]") {
  recdiff::nn::ParameterBuffer<double> p(2);
  p.grads() << 3.0, 4.0;
  CHECK(optim::clipGradNorm(p, 10.0) == Approx(5.0));
  CHECK(p.grads()(0) == 3.0);
  CHECK(optim::clipGradNorm(p, 1.0) == Approx(5.0));
  CHECK(p.grads()(0) == Approx(3.0 / (5.0 + 1e-6)));
  CHECK(p.grads()(1) == Approx(4.0 / (5.0 + 1e-6)));
  CHECK_THROWS_AS(optim::clipGradNorm(p, 0.0), std::invalid_argument);
}

TEST_CASE("Optimizers reject invalid hyperparameters", "[optim]") {
  CHECK_THROWS_AS(optim::Adam({.learningRate = -1.0}), std::invalid_argument);
  CHECK_THROWS_AS(optim::AdamW({.beta1 = 1.0}), std::invalid_argument);
  CHECK_THROWS_AS(optim::Sgd({.dampening = 0.5, .nesterov = true}), std::invalid_argument);
}

TEST_CASE("Adam over a large buffer matches the same update done in pieces", "[optim][adamw]") {
  // The update runs in chunks (possibly on several threads): the result must not depend on that.
  const recdiff::Index n = 200003;
  recdiff::nn::ParameterBuffer<float> big(n);
  recdiff::Rng rng(5);
  rng.fillNormal(big.values());
  rng.fillNormal(big.grads());
  recdiff::nn::ParameterBuffer<float> small(3);
  optim::AdamW a({.learningRate = 0.01, .weightDecay = 0.1}), b({.learningRate = 0.01, .weightDecay = 0.1});
  const recdiff::Index probe[3] = {0, 131072, n - 1};
  for (int i = 0; i < 3; ++i) {
    small.values()(i) = big.values()(probe[i]);
    small.grads()(i) = big.grads()(probe[i]);
  }
  a.step(big);
  b.step(small);
  a.step(big);
  b.step(small);
  for (int i = 0; i < 3; ++i) CHECK(big.values()(probe[i]) == Approx(small.values()(i)).epsilon(1e-6));
}
