// The fused Adam / AdamW policy (optim/fused_adam_update.hpp): torch's trajectories on the quadratic of
// optimizer_test.cpp (same expected values), agreement with AdamFamilyUpdate over many steps, bit-identity with
// the scalar kernel on a buffer large enough to run in chunks on every thread, and the argument checks.
#include <cmath>
#include <type_traits>
#include <vector>

#include <recdiff/optim/fused_adam_update.hpp>
#include <recdiff/optim/optimizer.hpp>
#include <recdiff/random.hpp>
#include <recdiff/simd/scalar.hpp>

#include "support/catch.hpp"

namespace optim = recdiff::optim;

namespace {
// f(θ) = ½ Σ a_i (θ_i − c_i)², θ0 = (0.5, 0.5, −1).
const double kA[3] = {1.0, 4.0, 0.25};
const double kC[3] = {1.0, -2.0, 3.0};

template <class Scalar>
recdiff::nn::ParameterBuffer<Scalar> startingPoint() {
  recdiff::nn::ParameterBuffer<Scalar> p(3);
  p.values() << Scalar(0.5), Scalar(0.5), Scalar(-1.0);
  return p;
}

template <class Scalar>
void quadraticGradient(recdiff::nn::ParameterBuffer<Scalar>& p) {
  for (int i = 0; i < 3; ++i) p.grads()(i) = static_cast<Scalar>(kA[i]) * (p.values()(i) - static_cast<Scalar>(kC[i]));
}

template <class Scalar, class Opt>
void checkTrajectory(Opt& opt, const std::vector<std::vector<double>>& expected, double tolerance) {
  auto p = startingPoint<Scalar>();
  for (std::size_t k = 0; k < expected.size(); ++k) {
    quadraticGradient(p);
    opt.step(p);
    INFO("step " << k + 1);
    for (int i = 0; i < 3; ++i) CHECK(static_cast<double>(p.values()(i)) == Approx(expected[k][i]).epsilon(tolerance));
  }
}
}  // namespace

TEMPLATE_TEST_CASE("Fused Adam and AdamW reproduce torch trajectories on a quadratic", "[optim][adam][fused]", float,
                   double) {
  using S = TestType;
  const double tol = std::is_same_v<S, double> ? 1e-12 : 1e-5;
  SECTION("Adam without weight decay") {
    optim::FusedAdam opt({.learningRate = 0.1});
    checkTrajectory<S>(opt, {{0.599999998, 0.40000000010000003, -0.900000001},
                             {0.6988125762693597, 0.3001271881790863, -0.8000739968399005},
                             {0.7951287442605489, 0.2004739335578976, -0.7002738469962748}},
                       tol);
  }
  SECTION("Adam with L2 weight decay added to the gradient") {
    optim::FusedAdam opt({.learningRate = 0.1, .weightDecay = 0.5});
    checkTrajectory<S>(opt, {{0.5999999960000002, 0.400000000097561, -0.9000000006666666},
                             {0.6898575126514884, 0.30014215249238263, -0.8001664869580206},
                             {0.7505515629248791, 0.20053068621260625, -0.7006233933225463}},
                       tol);
  }
  SECTION("AdamW with decoupled weight decay") {
    optim::FusedAdamW opt({.learningRate = 0.1, .weightDecay = 0.5});
    checkTrajectory<S>(opt, {{0.574999998, 0.3750000001, -0.850000001},
                             {0.6455015536379519, 0.256416485807507, -0.7076178504068567},
                             {0.7110972796024234, 0.14403839832250243, -0.5725482096448125}},
                       tol);
  }
}

TEST_CASE("Fused Adam and AdamW agree with the Eigen policy over many steps", "[optim][adam][adamw][fused]") {
  for (const double wd : {0.0, 0.05}) {
    auto a = startingPoint<double>(), b = startingPoint<double>();
    auto c = startingPoint<double>(), d = startingPoint<double>();
    optim::Adam adam({.learningRate = 0.05, .weightDecay = wd});
    optim::AdamW adamw({.learningRate = 0.05, .weightDecay = wd});
    optim::FusedAdam fusedAdam({.learningRate = 0.05, .weightDecay = wd});
    optim::FusedAdamW fusedAdamw({.learningRate = 0.05, .weightDecay = wd});
    for (int k = 0; k < 60; ++k) {
      quadraticGradient(a);
      quadraticGradient(b);
      quadraticGradient(c);
      quadraticGradient(d);
      adam.step(a);
      fusedAdam.step(b);
      adamw.step(c);
      fusedAdamw.step(d);
    }
    INFO("weight decay " << wd);
    for (int i = 0; i < 3; ++i) {
      CHECK(b.values()(i) == Approx(a.values()(i)).epsilon(1e-12));
      CHECK(d.values()(i) == Approx(c.values()(i)).epsilon(1e-12));
    }
    CHECK(fusedAdamw.update().firstMoment<double>().isApprox(adamw.update().firstMoment<double>(), 1e-12));
    CHECK(fusedAdamw.update().secondMoment<double>().isApprox(adamw.update().secondMoment<double>(), 1e-12));
  }
}

TEST_CASE("Fused AdamW over a large buffer equals the scalar kernel bit for bit", "[optim][adamw][fused]") {
  // Chunked over the threads and vectorised: neither may change a value.
  const recdiff::Index n = 200003;
  recdiff::nn::ParameterBuffer<float> big(n);
  recdiff::Rng rng(5);
  rng.fillNormal(big.values());
  rng.fillNormal(big.grads());
  recdiff::ColVector<float> p = big.values(), g = big.grads(), m = recdiff::ColVector<float>::Zero(n),
                            v = recdiff::ColVector<float>::Zero(n);
  optim::FusedAdamW opt({.learningRate = 0.01, .weightDecay = 0.1});
  for (std::int64_t k = 1; k <= 3; ++k) {
    opt.step(big);
    recdiff::simd::scalar::adamUpdate(p.data(), g.data(), m.data(), v.data(), n,
                                      {.lr = 0.01, .weightDecay = 0.1, .decoupledWeightDecay = true, .step = k});
  }
  CHECK(opt.stepCount() == 3);
  CHECK((big.values().array() == p.array()).all());
  CHECK((opt.update().firstMoment<float>().array() == m.array()).all());
  CHECK((opt.update().secondMoment<float>().array() == v.array()).all());
  opt.reset();
  CHECK(opt.stepCount() == 0);
  CHECK(opt.update().firstMoment<float>().size() == 0);
}

TEST_CASE("Fused Adam rejects invalid hyperparameters", "[optim][fused]") {
  CHECK_THROWS_AS(optim::FusedAdam({.learningRate = -1.0}), std::invalid_argument);
  CHECK_THROWS_AS(optim::FusedAdamW({.beta1 = 1.0}), std::invalid_argument);
  CHECK_THROWS_AS(optim::FusedAdamW({.epsilon = -1.0}), std::invalid_argument);
}
