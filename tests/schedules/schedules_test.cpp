// Tests for include/recdiff/schedules/*: golden parity with DiffuRec's get_named_beta_schedule, the
// properties every schedule must have, the factory, and every error path.
#include <recdiff/schedules.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "support/catch.hpp"
#include "support/golden.hpp"
#include "support/tolerances.hpp"

using recdiff::Index;
using recdiff::test::Tolerance;

namespace {

// Checks that `fn` throws std::invalid_argument whose message contains every fragment.
template <class Fn>
void requireInvalid(Fn&& fn, std::initializer_list<std::string> fragments) {
  try {
    fn();
    FAIL("expected std::invalid_argument");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    INFO("message: " << what);
    for (const auto& f : fragments) CHECK(what.find(f) != std::string::npos);
  }
}

}  // namespace

// Every case of named_schedules.json, each in its own section so that one failure does not hide the others.
// Where the reference's betas leave (0, 1] (DiffuRec's linear and pw_lin below 20 steps: beta_end = 20/T > 1,
// see docs/golden.md) recdiff refuses the schedule; the test then expects exactly that refusal: an
// std::invalid_argument naming the first reference beta outside (0, 1], its index and its value.
TEST_CASE("Named schedules reproduce DiffuRec get_named_beta_schedule", "[schedules][golden]") {
  const auto golden = recdiff::test::loadGolden("named_schedules.json");
  const auto& cases = golden.at("cases");
  REQUIRE(!cases.empty());
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const auto& c = cases[k];
    const std::string name = c.at("schedule").get<std::string>();
    const Index steps = c.at("steps").get<Index>();
    DYNAMIC_SECTION("case " << k << ": schedule " << name << ", steps " << steps) {
      const Eigen::ArrayXd expected = recdiff::test::goldenArray(c.at("betas"));
      REQUIRE(expected.size() == steps);
      Index firstBad = -1;
      for (Index i = 0; i < steps && firstBad < 0; ++i)
        if (!(expected(i) > 0.0 && expected(i) <= 1.0)) firstBad = i;
      const auto schedule = recdiff::makeSchedule(name);
      if (firstBad < 0) {
        const Eigen::ArrayXd betas = schedule.betas(steps);
        REQUIRE(betas.size() == expected.size());
        CHECK(recdiff::test::maxRelativeError(betas, expected) <= Tolerance<double>::kTable);
      } else {
        INFO("the reference's beta[" << firstBad << "] = " << expected(firstBad) << " lies outside (0, 1]");
        std::string what;
        try {
          (void)schedule.betas(steps);
        } catch (const std::invalid_argument& e) {
          what = e.what();
        }
        INFO("message: " << what);
        const std::string tag = "::betas(): beta[" + std::to_string(firstBad) + "] = ";
        const auto at = what.find(tag);
        REQUIRE(at != std::string::npos);
        CHECK(what.find(" lies outside (0, 1] (steps = " + std::to_string(steps) + ")") != std::string::npos);
        // The value in the message is the reference's beta (printed to round-trip precision).
        const double value = std::stod(what.substr(at + tag.size()));
        CHECK(std::abs(value - expected(firstBad)) <= Tolerance<double>::kTable * std::abs(expected(firstBad)));
      }
    }
  }
}

TEST_CASE("Every named schedule yields betas in (0 1] with alphaBar strictly decreasing", "[schedules]") {
  for (const auto name : recdiff::kScheduleNames) {
    if (name == "explicit") continue;
    for (const Index steps : {20, 40, 100, 1000, 2000}) {  // DiffuRec's linear needs T >= 20
      INFO("schedule " << name << ", steps " << steps);
      const Eigen::ArrayXd betas = recdiff::makeSchedule(name).betas(steps);
      REQUIRE(betas.size() == steps);
      CHECK((betas > 0.0).all());
      CHECK((betas <= 1.0).all());
      double alphaBar = 1.0;
      for (Index t = 0; t < steps; ++t) {
        const double next = alphaBar * (1.0 - betas(t));
        CHECK(next < alphaBar);
        alphaBar = next;
      }
    }
  }
}

TEST_CASE("Monotone schedules have non-decreasing betas below their cap", "[schedules]") {
  for (const Index steps : {50, 1000}) {
    INFO("steps " << steps);
    for (const auto name : {"linear", "cosine", "sqrt", "trunc_lin", "binomial", "exp"}) {
      INFO("schedule " << name);
      const Eigen::ArrayXd b = recdiff::makeSchedule(name).betas(steps);
      // sqrt is not monotone at the start: its first betas fall (alphaBar has infinite slope at 0).
      if (std::string(name) != "sqrt") {
        for (Index t = 1; t < steps; ++t) CHECK(b(t) >= b(t - 1));
      }
      CHECK(b.maxCoeff() <= 0.999);
    }
  }
}

TEST_CASE("DiffuRec linear is DiffRec linear with noise scale 1000 over T", "[schedules]") {
  for (const Index steps : {32, 100, 1000}) {
    recdiff::ScheduleSpec spec;
    spec.name = "linear";
    spec.noiseScale = 1000.0 / static_cast<double>(steps);
    spec.noiseMin = 1e-4;
    spec.noiseMax = 0.02;
    CHECK((recdiff::makeSchedule(spec).betas(steps) == recdiff::LinearSchedule{}.betas(steps)).all());
  }
}

TEST_CASE("linspace follows numpy exactly at the ends", "[schedules]") {
  const Eigen::ArrayXd a = recdiff::linspace(0.1, 0.7, 7);
  CHECK(a(0) == 0.1);
  CHECK(a(6) == 0.7);
  CHECK(a(3) == Approx(0.4).epsilon(1e-15));
  CHECK(recdiff::linspace(3.0, 5.0, 1)(0) == 3.0);
  CHECK(recdiff::linspace(3.0, 5.0, 0).size() == 0);
  CHECK((recdiff::linspace(2.0, 2.0, 4) == 2.0).all());
}

TEST_CASE("DreamRec exp schedule matches its closed form", "[schedules]") {
  const Index steps = 200;
  const Eigen::ArrayXd b = recdiff::ExponentialSchedule{}.betas(steps);
  const double n = static_cast<double>(steps);
  CHECK(b(0) == Approx(1.0 - std::exp(-0.1 / n - 1.0 * 4.95 / (n * n))).epsilon(1e-14));
  CHECK(b(steps - 1) == Approx(1.0 - std::exp(-0.1 / n - (2.0 * n + 1.0) * 4.95 / (n * n))).epsilon(1e-14));
  // log alphaBar_{T-1} = sum_i log(1 - beta_i) = -betaMin - (betaMax - betaMin) / (2 T^2) * sum_i x_i.
  const Eigen::ArrayXd x = recdiff::linspace(1.0, 2.0 * n + 1.0, steps);
  double logAlphaBar = 0.0;
  for (Index i = 0; i < steps; ++i) logAlphaBar += std::log(1.0 - b(i));
  CHECK(logAlphaBar == Approx(-0.1 - 4.95 / (n * n) * x.sum()).epsilon(1e-12));
}

TEST_CASE("DreamRec cosine clips to its range and otherwise equals the default cosine", "[schedules]") {
  const Index steps = 500;
  const Eigen::ArrayXd plain = recdiff::CosineSchedule{}.betas(steps);
  const Eigen::ArrayXd dream = recdiff::CosineSchedule::dreamRec().betas(steps);
  CHECK(dream.minCoeff() >= 1e-4);
  CHECK(dream.maxCoeff() <= 0.9999);
  for (Index t = 0; t < steps; ++t) {
    if (plain(t) > 1e-4 && plain(t) < 0.999) CHECK(dream(t) == plain(t));
  }
  CHECK(plain(0) < 1e-4);
  CHECK(dream(0) == 1e-4);
}

TEST_CASE("AlphaBarSchedule reproduces the built-in alphaBar schedules on both grids", "[schedules]") {
  const auto cosine = [](double u) {
    const double c = std::cos((u + 0.008) / 1.008 * recdiff::kPi / 2.0);
    return c * c;
  };
  const auto truncCos = [](double u) {
    const double c = std::cos((u + 0.1) / 1.1 * recdiff::kPi / 2.0);
    return c * c;
  };
  for (const Index steps : {10, 64}) {
    // Equal up to rounding: the compiler may contract the two lambdas into FMAs differently.
    CHECK(recdiff::test::maxRelativeError(recdiff::AlphaBarSchedule(cosine).betas(steps),
                                          recdiff::CosineSchedule{}.betas(steps)) < 1e-13);
    recdiff::AlphaBarSchedule left(truncCos, {.maxBeta = 0.999, .grid = recdiff::AlphaBarGrid::Left});
    CHECK(recdiff::test::maxRelativeError(left.betas(steps), recdiff::TruncatedCosineSchedule{}.betas(steps)) < 1e-13);
  }
  // The cap applies to every beta.
  recdiff::AlphaBarSchedule capped([](double u) { return 1.0 - u; }, {.maxBeta = 0.5});
  CHECK(capped.betas(4).maxCoeff() == 0.5);
}

TEST_CASE("FixedFirstBeta overwrites only the first beta", "[schedules]") {
  const recdiff::LinearVarianceSchedule inner({.noiseScale = 0.005, .noiseMin = 0.005, .noiseMax = 0.01});
  const auto fixed = recdiff::diffRecSchedule();
  const Eigen::ArrayXd a = inner.betas(40), b = fixed.betas(40);
  CHECK(b(0) == 1e-5);
  CHECK((a.tail(39) == b.tail(39)).all());
  recdiff::ScheduleSpec spec;
  spec.name = "binomial";
  spec.firstBeta = 0.25;
  const Eigen::ArrayXd c = recdiff::makeSchedule(spec).betas(5);
  CHECK(c(0) == 0.25);
  CHECK(c(4) == 0.5);
}

TEST_CASE("ExplicitSchedule returns the given betas", "[schedules]") {
  Eigen::ArrayXd given(3);
  given << 0.1, 0.2, 0.3;
  recdiff::ScheduleSpec spec;
  spec.name = "explicit";
  spec.betas = {0.1, 0.2, 0.3};
  CHECK((recdiff::makeSchedule(spec).betas(3) == given).all());
  CHECK((recdiff::ExplicitSchedule(given).betas(3) == given).all());
  CHECK(recdiff::makeSchedule(spec).name() == "explicit");
}

TEST_CASE("The schedule factory names every alternative it returns", "[schedules]") {
  for (const auto name : recdiff::kScheduleNames) {
    if (name == "explicit") continue;
    CHECK(recdiff::makeSchedule(name).name() == name);
  }
  STATIC_REQUIRE(recdiff::isSchedule<recdiff::AnySchedule>);
  STATIC_REQUIRE(recdiff::isSchedule<recdiff::FixedFirstBeta<recdiff::CosineSchedule>>);
  STATIC_REQUIRE_FALSE(recdiff::isSchedule<int>);
}

TEST_CASE("Invalid schedule parameters throw with the schedule and parameter named", "[schedules][errors]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  requireInvalid([] { (void)recdiff::LinearSchedule{}.betas(0); }, {"LinearSchedule::betas()", "steps", "0"});
  requireInvalid([] { (void)recdiff::CosineSchedule{}.betas(-3); }, {"CosineSchedule::betas()", "steps = -3"});
  requireInvalid([] { (void)recdiff::BinomialSchedule{}.betas(0); }, {"BinomialSchedule", "steps = 0"});
  requireInvalid([] { (void)recdiff::ExponentialSchedule{}.betas(0); }, {"ExponentialSchedule", "steps = 0"});
  requireInvalid([] { (void)recdiff::SqrtSchedule{}.betas(0); }, {"SqrtSchedule", "steps = 0"});
  requireInvalid([] { (void)recdiff::TruncatedCosineSchedule{}.betas(0); }, {"TruncatedCosineSchedule", "steps = 0"});
  requireInvalid([] { (void)recdiff::TruncatedLinearSchedule{}.betas(0); }, {"TruncatedLinearSchedule", "steps = 0"});
  requireInvalid([] { (void)recdiff::LinearVarianceSchedule{}.betas(0); }, {"LinearVarianceSchedule", "steps = 0"});
  requireInvalid([] { (void)recdiff::PiecewiseLinearSchedule{}.betas(10); },
                 {"PiecewiseLinearSchedule::betas()", "greater than 10", "steps = 10"});
  requireInvalid([] { (void)recdiff::PiecewiseLinearSchedule{}.betas(3); }, {"PiecewiseLinearSchedule", "steps = 3"});
  requireInvalid([] { recdiff::LinearSchedule({.noiseScale = 1.0, .noiseMin = 0.5, .noiseMax = 0.1}); },
                 {"LinearSchedule", "noiseMin", "0.5", "noiseMax", "0.1"});
  requireInvalid([] { recdiff::LinearVarianceSchedule({.noiseScale = 0.1, .noiseMin = 0.02, .noiseMax = 0.01}); },
                 {"LinearVarianceSchedule", "noiseMin = 0.02", "noiseMax = 0.01"});
  requireInvalid([&] { recdiff::LinearVarianceSchedule({.noiseScale = nan}); },
                 {"LinearVarianceSchedule", "noiseScale", "nan"});
  requireInvalid([&] { recdiff::LinearSchedule({.noiseScale = 1.0, .noiseMin = nan}); },
                 {"LinearSchedule", "noiseMin", "nan"});
  requireInvalid([] { recdiff::LinearSchedule({.noiseScale = -1.0}); }, {"LinearSchedule", "noiseScale = -1"});
  requireInvalid([] { recdiff::CosineSchedule({.offset = 0.008, .minBeta = 0.0, .maxBeta = 1.5}); },
                 {"CosineSchedule", "maxBeta = 1.5"});
  requireInvalid([] { recdiff::ExponentialSchedule({.betaMin = 5.0, .betaMax = 1.0}); },
                 {"ExponentialSchedule", "betaMin = 5", "betaMax = 1"});
  requireInvalid([] { recdiff::CosineSchedule({.offset = -0.1}); }, {"CosineSchedule", "offset = -0.1"});
  requireInvalid([] { recdiff::CosineSchedule({.offset = 0.008, .minBeta = 0.5, .maxBeta = 0.4}); },
                 {"CosineSchedule", "minBeta = 0.5"});
  requireInvalid([] { recdiff::SqrtSchedule({.offset = 1.0}); }, {"SqrtSchedule", "offset = 1"});
  requireInvalid([] { recdiff::SqrtSchedule({.offset = 1e-4, .maxBeta = 0.0}); }, {"SqrtSchedule", "maxBeta = 0"});
  requireInvalid([] { recdiff::TruncatedCosineSchedule({.offset = 0.0}); }, {"TruncatedCosineSchedule", "offset = 0"});
  requireInvalid([] { recdiff::TruncatedCosineSchedule({.offset = 0.1, .maxBeta = 2.0}); },
                 {"TruncatedCosineSchedule", "maxBeta = 2"});
  requireInvalid([] { recdiff::LinearVarianceSchedule({.noiseScale = 0.1, .noiseMin = 1e-4, .noiseMax = 0.02, .maxBeta = 0.0}); },
                 {"LinearVarianceSchedule", "maxBeta = 0"});
  requireInvalid([] { recdiff::LinearVarianceSchedule({.noiseScale = 0.0}); }, {"LinearVarianceSchedule", "noiseScale = 0"});
  requireInvalid([] { recdiff::LinearSchedule({.noiseScale = 1.0, .noiseMin = -0.1, .noiseMax = 0.1}); },
                 {"LinearSchedule", "noiseMin = -0.1"});
  requireInvalid([] { recdiff::ExponentialSchedule({.betaMin = 0.0, .betaMax = 10.0}); }, {"ExponentialSchedule", "betaMin = 0"});
  requireInvalid([&] { recdiff::ExponentialSchedule({.betaMin = 0.1, .betaMax = nan}); }, {"ExponentialSchedule", "betaMax", "nan"});
  requireInvalid([] { recdiff::AlphaBarSchedule([](double u) { return 1.0 - u; }, {.maxBeta = 1.5}); },
                 {"AlphaBarSchedule", "maxBeta = 1.5"});
  requireInvalid([] { (void)recdiff::AlphaBarSchedule([](double u) { return 1.0 - u; }).betas(0); },
                 {"AlphaBarSchedule::betas()", "steps = 0"});
  requireInvalid([] { (void)recdiff::ExplicitSchedule(Eigen::ArrayXd{}); }, {"ExplicitSchedule", "must not be empty"});
  // A beta outside (0, 1]: DiffuRec's linear with T = 10 reaches 100 · 0.02 = 2.
  requireInvalid([] { (void)recdiff::LinearSchedule{}.betas(10); }, {"LinearSchedule::betas()", "beta[", "(0, 1]"});
  // noiseMin = 0 gives a zero first beta.
  requireInvalid([] { (void)recdiff::LinearSchedule({.noiseScale = 1.0, .noiseMin = 0.0, .noiseMax = 0.1}).betas(5); },
                 {"LinearSchedule::betas()", "beta[0] = 0"});
  requireInvalid([&] { recdiff::ExplicitSchedule(Eigen::ArrayXd::Constant(3, nan)); },
                 {"ExplicitSchedule", "beta[0] = nan"});
  requireInvalid([] { recdiff::ExplicitSchedule(Eigen::ArrayXd::Constant(2, 1.5)); },
                 {"ExplicitSchedule", "beta[0] = 1.5", "(0, 1]"});
  requireInvalid([] { (void)recdiff::ExplicitSchedule(Eigen::ArrayXd::Constant(2, 0.5)).betas(3); },
                 {"ExplicitSchedule::betas()", "holds 2", "steps = 3"});
  requireInvalid([] { recdiff::FixedFirstBeta(recdiff::CosineSchedule{}, 0.0); }, {"FixedFirstBeta", "firstBeta = 0"});
  requireInvalid([] { (void)recdiff::AlphaBarSchedule([](double u) { return 0.5 + u; }).betas(4); },
                 {"AlphaBarSchedule::betas()", "beta[0]"});
}

TEST_CASE("The schedule factory rejects unknown names and foreign parameters", "[schedules][errors]") {
  requireInvalid([] { (void)recdiff::makeSchedule("quadratic"); }, {"makeSchedule()", "'quadratic'", "trunc_lin"});
  recdiff::ScheduleSpec spec;
  spec.name = "cosine";
  spec.noiseScale = 0.1;
  requireInvalid([&] { (void)recdiff::makeSchedule(spec); }, {"makeSchedule()", "'cosine'", "noiseScale = 0.1"});
  spec = {};
  spec.name = "linear";
  spec.betas = {0.1};
  requireInvalid([&] { (void)recdiff::makeSchedule(spec); }, {"'linear'", "betas"});
  spec = {};
  spec.name = "linear-var";
  spec.noiseMin = 0.5;
  spec.noiseMax = 0.2;
  requireInvalid([&] { (void)recdiff::makeSchedule(spec); }, {"LinearVarianceSchedule", "noiseMin = 0.5"});
  spec = {};
  spec.name = "pw_lin";
  requireInvalid([&] { (void)recdiff::makeSchedule(spec).betas(8); }, {"PiecewiseLinearSchedule", "steps = 8"});
  spec.firstBeta = 2.0;
  requireInvalid([&] { (void)recdiff::makeSchedule(spec); }, {"AnySchedule", "firstBeta = 2"});
}
