// schedule_table: prints one noise schedule's DDPM table as CSV (17 significant digits), one row per t.
//
//   schedule_table --schedule cosine --steps 40
//   schedule_table --schedule linear-var --steps 40 --noise-scale 0.005 --noise-min 0.005 --noise-max 0.01 --beta1 1e-5
//
// Columns: t,beta,alpha_bar,alpha_bar_prev,posterior_variance,posterior_log_variance_clipped,
// posterior_mean_coef1,posterior_mean_coef2,snr. Invalid parameters print one line to stderr and exit 1.
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <recdiff/diffusion.hpp>

int main(int argc, char** argv) {
  CLI::App app{"Print a noise schedule's DDPM table (betas, alphaBar, posterior, SNR) as CSV."};
  std::string name = "linear";
  long steps = 1000;
  std::optional<double> noiseScale, noiseMin, noiseMax, beta1;
  std::string names;
  for (const auto n : recdiff::kScheduleNames)
    if (n != "explicit") names += (names.empty() ? "" : ", ") + std::string(n);
  app.add_option("--schedule", name, "schedule: " + names)->capture_default_str();
  app.add_option("--steps", steps, "number of diffusion steps T")->capture_default_str();
  app.add_option("--noise-scale", noiseScale, "noise scale (linear: default 1000/T; linear-var: default 0.1)");
  app.add_option("--noise-min", noiseMin, "noise lower bound (linear, linear-var; default 1e-4)");
  app.add_option("--noise-max", noiseMax, "noise upper bound (linear, linear-var; default 0.02)");
  app.add_option("--beta1", beta1, "overwrite the first beta, as DiffRec does with 1e-5");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "schedule_table: " << e.what() << " (see --help)\n";
    return 1;
  }
  try {
    recdiff::ScheduleSpec spec;
    spec.name = name;
    spec.noiseScale = noiseScale;
    spec.noiseMin = noiseMin;
    spec.noiseMax = noiseMax;
    spec.firstBeta = beta1;
    RECDIFF_REQUIRE(spec.name != "explicit", "schedule_table: the explicit schedule takes a list of betas; use the library");
    const auto tables = recdiff::ScheduleTables::fromBetas(recdiff::makeSchedule(spec).betas(steps));
    std::printf("t,beta,alpha_bar,alpha_bar_prev,posterior_variance,posterior_log_variance_clipped,"
                "posterior_mean_coef1,posterior_mean_coef2,snr\n");
    for (recdiff::Index t = 0; t < tables.steps(); ++t) {
      std::printf("%ld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", static_cast<long>(t), tables.betas(t),
                  tables.alphaBar(t), tables.alphaBarPrev(t), tables.posteriorVariance(t),
                  tables.posteriorLogVarianceClipped(t), tables.posteriorMeanCoef1(t), tables.posteriorMeanCoef2(t),
                  tables.snr(t));
    }
  } catch (const std::exception& e) {
    std::cerr << "schedule_table: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
