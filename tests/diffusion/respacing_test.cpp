// Tests for include/recdiff/diffusion/respacing.hpp and GaussianDiffusion::respaced.
#include <recdiff/diffusion.hpp>

#include <set>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "support/golden.hpp"

using recdiff::Index;

TEST_CASE("spaceTimesteps reproduces the reference sets and errors", "[diffusion][respacing][golden]") {
  const auto golden = recdiff::test::loadGolden("space_timesteps.json");
  REQUIRE(!golden.at("cases").empty());
  const auto& caseList = golden.at("cases");
  for (std::size_t caseIndex = 0; caseIndex < caseList.size(); ++caseIndex) {
    const auto& c = caseList[caseIndex];
    DYNAMIC_SECTION("case " << caseIndex) {  // one section per case: every failing case is reported
      const Index steps = c.at("num_timesteps").get<Index>();
      const auto& sections = c.at("section_counts");
      std::vector<Index> ours;
      if (sections.is_string()) {
        INFO("steps " << steps << ", sections '" << sections.get<std::string>() << "'");
        ours = recdiff::spaceTimesteps(steps, sections.get<std::string>());
      } else if (sections.is_array()) {
        ours = recdiff::spaceTimesteps(steps, sections.get<std::vector<Index>>());
      } else {  // a bare integer: the reference's [n]
        ours = recdiff::spaceTimesteps(steps, std::vector<Index>{sections.get<Index>()});
      }
      INFO("steps " << steps << ", sections " << sections.dump());
      auto expected = c.at("timesteps").get<std::vector<Index>>();
      std::sort(expected.begin(), expected.end());
      CHECK(ours == expected);
    }
  }
  REQUIRE(!golden.at("errors").empty());
  const auto& errorList = golden.at("errors");
  for (std::size_t errorIndex = 0; errorIndex < errorList.size(); ++errorIndex) {
    const auto& e = errorList[errorIndex];
    DYNAMIC_SECTION("error case " << errorIndex) {  // one section per case: every failing case is reported
      const Index steps = e.at("num_timesteps").get<Index>();
      const auto& sections = e.at("section_counts");
      INFO("steps " << steps << ", sections " << sections.dump());
      REQUIRE(e.at("raises").get<bool>());
      if (sections.is_string()) {
        CHECK_THROWS_AS(recdiff::spaceTimesteps(steps, sections.get<std::string>()), std::invalid_argument);
      } else {
        CHECK_THROWS_AS(recdiff::spaceTimesteps(steps, sections.get<std::vector<Index>>()), std::invalid_argument);
      }
    }
  }
}

TEST_CASE("spaceTimesteps error messages name the impossible request", "[diffusion][respacing][errors]") {
  CHECK_THROWS_WITH(recdiff::spaceTimesteps(10, "ddim7"),
                    Catch::Contains("cannot create exactly 7 steps out of 10 with an integer stride"));
  CHECK_THROWS_WITH(recdiff::spaceTimesteps(10, "3,7"), Catch::Contains("cannot divide section 1 of 5 steps into 7"));
  CHECK_THROWS_WITH(recdiff::spaceTimesteps(10, "3,x"), Catch::Contains("cannot parse '3,x'"));
  CHECK_THROWS_WITH(recdiff::spaceTimesteps(10, ""), Catch::Contains("cannot parse ''"));
  CHECK_THROWS_WITH(recdiff::spaceTimesteps(0, "ddim1"), Catch::Contains("steps = 0"));
  CHECK_THROWS_AS(recdiff::respace(Eigen::ArrayXd::Constant(4, 0.5), {1, 1}), std::invalid_argument);
  CHECK_THROWS_WITH(recdiff::respace(Eigen::ArrayXd::Constant(4, 0.5), {7}), Catch::Contains("timestep 7 is outside [0, 4)"));
}

TEST_CASE("Respaced betas keep alphaBar at the kept steps and map back to original steps", "[diffusion][respacing]") {
  const recdiff::GaussianDiffusion<recdiff::LinearSchedule, recdiff::PredictX0, recdiff::FixedSmallVariance, double>
      full(recdiff::LinearSchedule{}, 1000);
  const auto fast = full.respaced("ddim50");
  REQUIRE(fast.steps() == 50);
  for (Index k = 0; k < 50; ++k) {
    CHECK(fast.timestepMap()(k) == 20 * k);
    CHECK(fast.tables().alphaBar(k) == Approx(full.tables().alphaBar(20 * k)).epsilon(1e-13));
  }
  // Respacing a respaced process composes the maps.
  const auto faster = fast.respaced(std::vector<Index>{0, 10, 49});
  CHECK(faster.timestepMap()(1) == 200);
  CHECK(faster.timestepMap()(2) == 980);
  CHECK(faster.tables().alphaBar(2) == Approx(full.tables().alphaBar(980)).epsilon(1e-12));
  CHECK_THROWS_WITH(fast.respaced(std::vector<Index>{50}), Catch::Contains("timestep 50 is outside [0, 50)"));
}
