// Tests for include/recdiff/diffusion/schedule_tables.hpp: every table of DiffRec's GaussianDiffusion.
#include <recdiff/diffusion.hpp>

#include <map>
#include <string>

#include "support/catch.hpp"
#include "support/golden.hpp"
#include "support/tolerances.hpp"

using recdiff::Index;
using recdiff::test::Tolerance;

namespace {

// The schedule of one diffrec_tables.json case: DiffRec's get_betas with beta_fixed (betas[0] = 1e-5).
recdiff::AnySchedule diffRecCaseSchedule(const recdiff::test::Json& c) {
  recdiff::ScheduleSpec spec;
  spec.name = c.at("schedule").get<std::string>();
  if (spec.name == "linear" || spec.name == "linear-var") {  // the only DiffRec schedules that read them
    spec.noiseScale = c.at("noise_scale").get<double>();
    spec.noiseMin = c.at("noise_min").get<double>();
    spec.noiseMax = c.at("noise_max").get<double>();
  }
  spec.firstBeta = 1e-5;
  return recdiff::makeSchedule(spec);
}

}  // namespace

TEST_CASE("Schedule tables reproduce DiffRec GaussianDiffusion for every golden case", "[diffusion][tables][golden]") {
  const auto golden = recdiff::test::loadGolden("diffrec_tables.json");
  const auto& cases = golden.at("cases");
  REQUIRE(!cases.empty());
  const auto& caseList = cases;
  for (std::size_t caseIndex = 0; caseIndex < caseList.size(); ++caseIndex) {
    const auto& c = caseList[caseIndex];
    DYNAMIC_SECTION("case " << caseIndex) {  // one section per case: every failing case is reported
      const Index steps = c.at("steps").get<Index>();
      INFO("schedule " << c.at("schedule").get<std::string>() << ", steps " << steps);
      const auto tables = recdiff::ScheduleTables::fromBetas(diffRecCaseSchedule(c).betas(steps));
      const std::map<std::string, const Eigen::ArrayXd*> ours = {
          {"betas", &tables.betas},
          {"alphas_cumprod", &tables.alphaBar},
          {"alphas_cumprod_prev", &tables.alphaBarPrev},
          {"alphas_cumprod_next", &tables.alphaBarNext},
          {"sqrt_alphas_cumprod", &tables.sqrtAlphaBar},
          {"sqrt_one_minus_alphas_cumprod", &tables.sqrtOneMinusAlphaBar},
          {"log_one_minus_alphas_cumprod", &tables.logOneMinusAlphaBar},
          {"sqrt_recip_alphas_cumprod", &tables.sqrtRecipAlphaBar},
          {"sqrt_recipm1_alphas_cumprod", &tables.sqrtRecipAlphaBarMinusOne},
          {"posterior_variance", &tables.posteriorVariance},
          {"posterior_log_variance_clipped", &tables.posteriorLogVarianceClipped},
          {"posterior_mean_coef1", &tables.posteriorMeanCoef1},
          {"posterior_mean_coef2", &tables.posteriorMeanCoef2},
          {"snr", &tables.snr},
          {"fixed_large_log_variance", &tables.fixedLargeLogVariance},
      };
      int checked = 0;
      for (const auto& [key, value] : c.items()) {
        if (!value.is_object() || !value.contains("data")) continue;  // scalars: schedule name and parameters
        INFO("table " << key);
        const auto it = ours.find(key);
        REQUIRE(it != ours.end());  // a new table in the golden file must be mapped here, not skipped
        const Eigen::ArrayXd expected = recdiff::test::goldenArray(value);
        REQUIRE(it->second->size() == expected.size());
        CHECK(recdiff::test::maxRelativeError(*it->second, expected) <= Tolerance<double>::kTable);
        ++checked;
      }
      CHECK(checked == static_cast<int>(ours.size()));
    }
  }
}

TEST_CASE("Schedule tables satisfy the DDPM identities", "[diffusion][tables]") {
  const auto tables = recdiff::ScheduleTables::fromBetas(recdiff::CosineSchedule{}.betas(200));
  const Index n = tables.steps();
  for (Index t = 1; t < n; ++t) {
    INFO("t = " << t);
    CHECK(tables.alphaBar(t) == Approx(tables.alphaBar(t - 1) * (1.0 - tables.betas(t))).epsilon(1e-14));
    // posterior variance is the harmonic combination of beta_t / alpha_t and 1 - alphaBar_{t-1} (Eq. 7)
    const double precision = tables.alphas(t) / tables.betas(t) + 1.0 / (1.0 - tables.alphaBarPrev(t));
    CHECK(tables.posteriorVariance(t) == Approx(1.0 / precision).epsilon(1e-10));
    CHECK(tables.snr(t) == Approx(tables.alphaBar(t) / (1.0 - tables.alphaBar(t))).epsilon(1e-15));
    CHECK(tables.fixedLargeVariance(t) == tables.betas(t));
  }
  CHECK(tables.posteriorVariance(0) == 0.0);
  CHECK(tables.posteriorMeanCoef1(0) == Approx(1.0).epsilon(1e-12));
  CHECK(tables.posteriorMeanCoef2(0) == 0.0);
  CHECK(tables.posteriorLogVarianceClipped(0) == tables.posteriorLogVarianceClipped(1));
  CHECK(tables.fixedLargeVariance(0) == tables.posteriorVariance(1));
  CHECK(tables.alphaBarNext(n - 1) == 0.0);
}

TEST_CASE("Schedule tables reject betas outside the unit interval", "[diffusion][tables][errors]") {
  Eigen::ArrayXd bad(3);
  bad << 0.1, 1.2, 0.3;
  CHECK_THROWS_WITH(recdiff::ScheduleTables::fromBetas(bad),
                    Catch::Contains("ScheduleTables::fromBetas()") && Catch::Contains("beta[1] = 1.2"));
  CHECK_THROWS_AS(recdiff::ScheduleTables::fromBetas(bad), std::invalid_argument);
  bad << 0.1, std::nan(""), 0.3;
  CHECK_THROWS_WITH(recdiff::ScheduleTables::fromBetas(bad), Catch::Contains("beta[1] = nan"));
  CHECK_THROWS_WITH(recdiff::ScheduleTables::fromBetas(Eigen::ArrayXd()), Catch::Contains("must not be empty"));
}
