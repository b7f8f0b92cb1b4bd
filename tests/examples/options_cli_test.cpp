// examples/common/options_cli.hpp: every field of every options struct is a command-line option with the
// table's name, every field round-trips through the command line, values apply after a preset, shared flags set
// every struct that has the field, and ill-typed values are rejected naming the flag and the field.
#include <string>
#include <vector>

#include <recdiff/models/diffrec_options.hpp>
#include <recdiff/models/diffurec_options.hpp>
#include <recdiff/models/dreamrec_options.hpp>
#include <recdiff/models/ldiffrec_options.hpp>
#include <recdiff/models/tdiffrec.hpp>

#include "../../examples/common/options_cli.hpp"
#include "support/catch.hpp"
#include "support/fields.hpp"

namespace io = recdiff::io;
using recdiff::examples::OptionsCli;

namespace {

/// Parses `args` (program name first) into `app`.
void parse(CLI::App& app, std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
}

/// The command line that sets every field of `target` (bool fields by their flag) from defaults.
template <class Options>
std::vector<std::string> commandLine(const Options& target) {
  std::vector<std::string> args{"prog"};
  io::visitFields(target, [&](const io::Field& f, auto&& value) {
    using D = std::remove_cvref_t<decltype(value)>;
    std::string names = f.cliNames();
    names = names.substr(0, names.find(','));
    if constexpr (std::is_same_v<D, bool>) {
      args.push_back(names);  // perturbed bools are the non-defaults: their flag sets them
    } else {
      args.push_back(names);
      args.push_back(io::FieldCodec<D>::toText(value));
    }
  });
  return args;
}

template <class Options>
void checkCliRoundTrip() {
  const Options target = recdiff::test::perturbedOptions(Options{});
  Options o;
  CLI::App app;
  OptionsCli cli(app);
  cli.add(o);
  parse(app, commandLine(target));
  o = Options{};  // a preset: apply() comes after it
  cli.apply();
  CHECK(io::fieldsToText(o, io::FieldSelection::kAll) == io::fieldsToText(target, io::FieldSelection::kAll));
}

}  // namespace

TEST_CASE("Every field of every options struct round-trips through the command line", "[examples][options_cli]") {
  checkCliRoundTrip<recdiff::DiffRecOptions>();
  checkCliRoundTrip<recdiff::LDiffRecOptions>();
  checkCliRoundTrip<recdiff::TimeWeightOptions>();
  checkCliRoundTrip<recdiff::DreamRecOptions>();
  checkCliRoundTrip<recdiff::DiffuRecOptions>();
}

TEST_CASE("The examples' flags: names, shared flags, schedule resets, defaults", "[examples][options_cli]") {
  recdiff::DiffRecOptions d;
  recdiff::LDiffRecOptions l;
  CLI::App app;
  OptionsCli cli(app);
  cli.add(d);
  cli.add(l, "L-DiffRec");
  parse(app, {"prog", "--steps", "7", "--noise-schedule", "cosine", "--no-reweight", "--dims", "[3, 4]", "--reverse",
              "stepwise", "--beta1", "0.001", "--out-dims", "[]", "--lr2", "0.01", "--precision", "float"});
  cli.apply();
  CHECK(d.steps == 7);
  CHECK(l.steps == 7);  // one flag, both structs
  CHECK(d.schedule.name == "cosine");
  CHECK_FALSE(d.schedule.noiseScale);  // a new name resets the parameters ...
  CHECK(d.schedule.firstBeta == 0.001);  // ... that later flags set
  CHECK(l.schedule.firstBeta == 0.001);
  CHECK_FALSE(d.reweight);
  CHECK_FALSE(l.reweight);
  CHECK(d.dims == std::vector<recdiff::Index>{3, 4});
  CHECK(d.foldedReverse == recdiff::DiffRecOptions::Folding::kNever);
  CHECK(l.outDims.empty());
  CHECK(l.lr2 == 0.01);
  CHECK(d.learningRate == 1e-3);  // not given: untouched
  CHECK(cli.given("steps"));
  CHECK_FALSE(cli.given("lr"));
  CHECK(app.get_option("--steps")->get_default_str() == "40");
  CHECK(app.get_option("--lr2")->get_group() == "L-DiffRec");

  recdiff::DiffuRecOptions u;
  CLI::App app2;
  OptionsCli cli2(app2);
  cli2.add(u);
  parse(app2, {"prog", "--attention-mask", "query-rows", "--schedule", "cosine", "--hidden", "16", "--positions"});
  cli2.apply();
  CHECK(u.attentionMask == recdiff::nn::PaddingMask::kQueryRows);
  CHECK(u.schedule.name == "cosine");
  CHECK(u.hidden == 16);
  CHECK(u.learnedPositions);

  recdiff::DreamRecOptions r;
  CLI::App app3;
  OptionsCli cli3(app3);
  cli3.add(r);
  parse(app3, {"prog", "--schedule", "linear", "--beta-end", "0.04", "--w", "4", "--diffuser-type", "mlp2"});
  cli3.apply();
  CHECK(r.schedule.noiseScale == 1.0);
  CHECK(r.schedule.noiseMin == 1e-4);
  CHECK(r.schedule.noiseMax == 0.04);
  CHECK(r.guidance == 4.0);
  CHECK(r.architecture == recdiff::DreamRecArchitecture::kMlp2);
}

TEST_CASE("Ill-typed command-line values are rejected with the flag and the field", "[examples][options_cli]") {
  const auto rejects = [](std::vector<std::string> args, const std::string& message) {
    recdiff::DiffRecOptions d;
    CLI::App app;
    OptionsCli cli(app);
    cli.add(d);
    parse(app, std::move(args));
    INFO(message);
    try {
      cli.apply();
      FAIL("no error");
    } catch (const CLI::ValidationError& e) {
      CHECK_THAT(std::string(e.what()), Catch::Contains(message));
    }
  };
  rejects({"prog", "--steps", "forty"}, "--steps: 'steps' = 'forty' is not a whole number >= 0");
  rejects({"prog", "--precision", "fp8"}, "'training_precision' = 'fp8' is not one of float | bf16");
  rejects({"prog", "--reverse", "sideways"}, "'reverse' = 'sideways' is not one of auto | folded | stepwise");
  rejects({"prog", "--dims", "200,x"}, "'dims' = '200,x' is not a comma-separated list of positive whole numbers");
  rejects({"prog", "--noise-schedule", "wobbly"}, "'noise_schedule' = 'wobbly' is not a schedule name");
  recdiff::DiffRecOptions d;
  CLI::App app;
  OptionsCli cli(app);
  cli.add(d);
  CHECK_THROWS_AS(parse(app, {"prog", "--no-such-flag", "1"}), CLI::ExtrasError);
}
