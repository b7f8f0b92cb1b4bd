// Tests for include/recdiff/timesteps/*: golden weights of DiffuRec's samplers, unbiasedness of the
// importance weights, empirical frequencies, the factory and the error paths.
#include <recdiff/timesteps.hpp>

#include <cmath>
#include <string>
#include <variant>

#include "support/catch.hpp"
#include "support/golden.hpp"
#include "support/test_env.hpp"
#include "support/tolerances.hpp"

using recdiff::Index;
using recdiff::test::Tolerance;

TEST_CASE("The loss-aware sampler reproduces the reference weights after every chunk", "[timesteps][golden]") {
  const auto golden = recdiff::test::loadGolden("samplers.json");
  REQUIRE(!golden.at("loss_second_moment").empty());
  const auto& caseList = golden.at("loss_second_moment");
  for (std::size_t caseIndex = 0; caseIndex < caseList.size(); ++caseIndex) {
    const auto& c = caseList[caseIndex];
    DYNAMIC_SECTION("case " << caseIndex) {  // one section per case: every failing case is reported
      const Index steps = c.at("num_timesteps").get<Index>();
      const Index history = c.at("history_per_term").get<Index>();
      INFO("steps " << steps << ", history " << history);
      recdiff::LossSecondMomentSampler sampler(steps, history, c.at("uniform_prob").get<double>());
      const auto ts = c.at("ts").get<std::vector<int>>();
      const auto losses = c.at("losses").get<std::vector<double>>();
      REQUIRE(ts.size() == losses.size());
      std::size_t fed = 0;
      REQUIRE(!c.at("checkpoints").empty());
      for (const auto& point : c.at("checkpoints")) {
        const auto upTo = point.at("after_updates").get<std::size_t>();
        INFO("after " << upTo << " updates");
        REQUIRE(upTo >= fed);
        REQUIRE(upTo <= ts.size());
        const auto n = static_cast<Index>(upTo - fed);
        sampler.update(Eigen::Map<const Eigen::ArrayXi>(ts.data() + fed, n),
                       Eigen::Map<const Eigen::ArrayXd>(losses.data() + fed, n));
        fed = upTo;
        CHECK(sampler.warmedUp() == point.at("warmed_up").get<bool>());
        const Eigen::ArrayXd expected = recdiff::test::goldenArray(point.at("weights"));
        const Eigen::ArrayXd weights = sampler.weights();
        REQUIRE(weights.size() == expected.size());
        CHECK(recdiff::test::maxRelativeError(weights, expected) <= Tolerance<double>::kTable);
      }
    }
  }
}

TEST_CASE("Fixstep weights reproduce the reference and stay complete for odd T", "[timesteps][golden]") {
  const auto golden = recdiff::test::loadGolden("samplers.json");
  REQUIRE(!golden.at("fixstep").empty());
  const auto& caseList = golden.at("fixstep");
  for (std::size_t caseIndex = 0; caseIndex < caseList.size(); ++caseIndex) {
    const auto& c = caseList[caseIndex];
    DYNAMIC_SECTION("case " << caseIndex) {  // one section per case: every failing case is reported
      const Index steps = c.at("num_timesteps").get<Index>();
      INFO("steps " << steps);
      const Eigen::ArrayXd expected = recdiff::test::goldenArray(c.at("weights"));
      CHECK(recdiff::test::maxRelativeError(recdiff::FixedWeightSampler(steps).weights(), expected) <=
            Tolerance<double>::kTable);
    }
  }
  // The reference returns T - 1 weights for odd T; ours has T, 1.0 for t < T/2.
  const Eigen::ArrayXd odd = recdiff::FixedWeightSampler(7).weights();
  REQUIRE(odd.size() == 7);
  Eigen::ArrayXd want(7);
  want << 1, 1, 1, 1, 0.5, 0.5, 0.5;
  CHECK((odd == want).all());
}

TEST_CASE("Importance-weighted sampling is unbiased", "[timesteps][statistical]") {
  // E_p[w(t) f(t)] with w = 1 / (T p(t)) equals the uniform mean of f. With N draws the estimate has
  // standard deviation sqrt(Var_p[w f] / N); we allow 5 of them, Var computed exactly from p.
  const Index steps = 40, n = 200000;
  Eigen::ArrayXd weights(steps), f(steps);
  for (Index t = 0; t < steps; ++t) {
    weights(t) = 0.2 + std::pow(static_cast<double>(t) / steps, 2.0);
    f(t) = std::exp(-static_cast<double>(t) / 10.0) + 0.1 * static_cast<double>(t);
  }
  const recdiff::FixedWeightSampler sampler(weights);
  recdiff::Rng rng(recdiff::test::seed());
  const auto batch = sampler.sample<double>(n, rng);
  double estimate = 0.0;
  for (Index i = 0; i < n; ++i) estimate += batch.weights(i) * f(batch.t(i));
  estimate /= static_cast<double>(n);
  const Eigen::ArrayXd p = weights / weights.sum();
  const Eigen::ArrayXd wf = f / (static_cast<double>(steps) * p);
  const double mean = f.mean();
  const double variance = (p * (wf - mean).square()).sum();
  CHECK(std::abs(estimate - mean) <= 5.0 * std::sqrt(variance / n));
  // The weights returned are exactly 1 / (T p(t)).
  for (Index i = 0; i < 100; ++i) CHECK(batch.weights(i) == Approx(1.0 / (steps * p(batch.t(i)))).epsilon(1e-14));
}

TEST_CASE("The warm loss-aware sampler draws timesteps at its weights", "[timesteps][statistical]") {
  const Index steps = 12, history = 10, n = 120000;
  recdiff::LossSecondMomentSampler sampler(steps, history, 0.001);
  recdiff::Rng rng(recdiff::test::seed());
  // Before warm-up the sampler is uniform.
  CHECK((sampler.weights() == 1.0).all());
  for (Index round = 0; round < history; ++round) {
    Eigen::ArrayXi t(steps);
    Eigen::ArrayXd loss(steps);
    for (Index k = 0; k < steps; ++k) {
      t(k) = static_cast<int>(k);
      loss(k) = (1.0 + static_cast<double>(k)) * (0.5 + rng.uniform());
    }
    sampler.update(t, loss);
  }
  REQUIRE(sampler.warmedUp());
  const Eigen::ArrayXd p = sampler.weights();
  CHECK(p.sum() == Approx(1.0).epsilon(1e-12));
  const auto batch = sampler.sample<float>(n, rng);
  Eigen::ArrayXd counts = Eigen::ArrayXd::Zero(steps);
  for (Index i = 0; i < n; ++i) counts(batch.t(i)) += 1.0;
  for (Index k = 0; k < steps; ++k) {
    INFO("t = " << k << ", p = " << p(k));
    // Binomial count: 5 standard deviations.
    CHECK(std::abs(counts(k) - n * p(k)) <= 5.0 * std::sqrt(n * p(k) * (1.0 - p(k))));
  }
}

TEST_CASE("The uniform sampler covers every step with weight one", "[timesteps]") {
  const recdiff::UniformTimestepSampler sampler(5);
  recdiff::Rng rng(recdiff::test::seed());
  const auto batch = sampler.sample<float>(5000, rng);
  CHECK((batch.weights == 1.0f).all());
  CHECK(batch.t.minCoeff() == 0);
  CHECK(batch.t.maxCoeff() == 4);
  STATIC_REQUIRE(recdiff::isTimestepSampler<recdiff::UniformTimestepSampler>);
  STATIC_REQUIRE(recdiff::isTimestepSampler<recdiff::LossSecondMomentSampler>);
  STATIC_REQUIRE(recdiff::isTimestepSampler<recdiff::FixedWeightSampler>);
  STATIC_REQUIRE(recdiff::hasUpdateHook<recdiff::LossSecondMomentSampler, float>);
  STATIC_REQUIRE_FALSE(recdiff::hasUpdateHook<recdiff::UniformTimestepSampler, float>);
}

TEST_CASE("The loss-aware sampler keeps only the newest losses", "[timesteps]") {
  recdiff::LossSecondMomentSampler sampler(2, 3, 0.0);
  Eigen::ArrayXi t(5);
  t << 0, 0, 0, 0, 1;
  Eigen::ArrayXd loss(5);
  loss << 1, 2, 3, 4, 5;
  sampler.update(t, loss);
  CHECK(sampler.counts()(0) == 3);
  CHECK(sampler.counts()(1) == 1);
  CHECK(sampler.lossHistory()(0, 0) == 2);
  CHECK(sampler.lossHistory()(0, 2) == 4);
  CHECK_FALSE(sampler.warmedUp());
}

TEST_CASE("The timestep sampler factory builds each named sampler", "[timesteps]") {
  CHECK(std::holds_alternative<recdiff::UniformTimestepSampler>(recdiff::makeTimestepSampler("uniform", 10)));
  CHECK(std::holds_alternative<recdiff::LossSecondMomentSampler>(recdiff::makeTimestepSampler("lossaware", 10)));
  const auto fix = recdiff::makeTimestepSampler("fixstep", 10);
  REQUIRE(std::holds_alternative<recdiff::FixedWeightSampler>(fix));
  CHECK(std::get<recdiff::LossSecondMomentSampler>(recdiff::makeTimestepSampler("lossaware", 10)).historyLength() == 10);
}

TEST_CASE("Timestep samplers reject invalid input with named messages", "[timesteps][errors]") {
  CHECK_THROWS_WITH(recdiff::makeTimestepSampler("importance", 10), Catch::Contains("unknown timestep sampler 'importance'"));
  CHECK_THROWS_WITH(recdiff::UniformTimestepSampler(0), Catch::Contains("UniformTimestepSampler: steps must be positive, got steps = 0"));
  CHECK_THROWS_WITH(recdiff::LossSecondMomentSampler(0), Catch::Contains("LossSecondMomentSampler: steps must be positive"));
  CHECK_THROWS_WITH(recdiff::LossSecondMomentSampler(5, 0), Catch::Contains("history must be positive, got history = 0"));
  CHECK_THROWS_WITH(recdiff::LossSecondMomentSampler(5, 10, 1.5), Catch::Contains("uniformMix = 1.5"));
  CHECK_THROWS_WITH(recdiff::FixedWeightSampler(0), Catch::Contains("FixedWeightSampler: steps must be positive"));
  CHECK_THROWS_WITH(recdiff::FixedWeightSampler(Eigen::ArrayXd::Zero(3)), Catch::Contains("all weights are zero"));
  Eigen::ArrayXd negative(2);
  negative << 1.0, -1.0;
  CHECK_THROWS_WITH(recdiff::FixedWeightSampler(negative), Catch::Contains("weight[1] = -1"));
  recdiff::LossSecondMomentSampler sampler(4);
  Eigen::ArrayXi t(2);
  t << 1, 4;
  CHECK_THROWS_WITH(sampler.update(t, Eigen::ArrayXd::Ones(2)), Catch::Contains("update(): t[1] = 4 is outside [0, 4)"));
  CHECK(sampler.counts()(1) == 0);  // nothing recorded from a rejected update
  CHECK_THROWS_WITH(sampler.update(t, Eigen::ArrayXd::Ones(3)), Catch::Contains("t has 2 entries but losses has 3"));
  recdiff::Rng rng(1);
  CHECK_THROWS_WITH(recdiff::UniformTimestepSampler(3).sample<float>(-1, rng), Catch::Contains("batch = -1"));
}
