// Tests for include/recdiff/io/fields.hpp and the field tables of every model's options (models/*_options.hpp):
// every field survives a checkpoint file, a missing, ill-typed or unknown entry is an error that names it, old
// checkpoints (before the precisions and the schedules' ScheduleSpec entries) still read, and the models'
// hyperparameters() / optionsFromHyperparameters() are the table.
#include <filesystem>
#include <map>
#include <string>
#include <unistd.h>

#include <recdiff/io/checkpoint.hpp>
#include <recdiff/io/fields.hpp>
#include <recdiff/models/diffrec_options.hpp>
#include <recdiff/models/diffurec_options.hpp>
#include <recdiff/models/dreamrec_options.hpp>
#include <recdiff/models/ldiffrec_options.hpp>
#include <recdiff/models/tdiffrec.hpp>

#include "support/catch.hpp"
#include "support/fields.hpp"

namespace fs = std::filesystem;
namespace io = recdiff::io;
using Map = std::map<std::string, std::string>;

namespace {

/// Writes `hyperparameters` into a real checkpoint file and reads them back from its header.
Map throughCheckpoint(const Map& hyperparameters) {
  static int counter = 0;
  const fs::path file =
      fs::temp_directory_path() / ("recdiff_fields_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".rdc");
  recdiff::nn::ParameterBuffer<float> params(3);
  params.values() << 1.0f, 2.0f, 3.0f;
  io::saveCheckpoint(file, params, {"Fields", {{"w", {3}}}, hyperparameters});
  const auto info = io::readCheckpointInfo(file);
  fs::remove(file);
  return info.hyperparameters;
}

template <class Options>
void checkRoundTrip(const std::string& who) {
  const Options defaults{};
  const Options changed = recdiff::test::perturbedOptions(defaults);
  const Map before = io::fieldsToText(defaults), after = io::fieldsToText(changed);
  REQUIRE(before.size() == after.size());
  REQUIRE_FALSE(before.empty());
  for (const auto& [key, text] : after) {
    INFO(who << " field " << key);
    CHECK(text != before.at(key));  // the perturbation reached every field
  }
  const Options read = io::fieldsFromText<Options>(throughCheckpoint(after), who);
  CHECK(io::fieldsToText(read) == after);
  // Execution fields are not checkpointed: they keep the defaults when read back.
  const Map allRead = io::fieldsToText(read, io::FieldSelection::kAll), allDefault = io::fieldsToText(defaults, io::FieldSelection::kAll);
  for (const auto& [key, text] : allRead)
    if (after.count(key) == 0) CHECK(text == allDefault.at(key));
}

}  // namespace

TEST_CASE("Every field of every options struct round-trips through a checkpoint", "[io][fields]") {
  checkRoundTrip<recdiff::DiffRecOptions>("DiffRec");
  checkRoundTrip<recdiff::LDiffRecOptions>("LDiffRec");
  checkRoundTrip<recdiff::TimeWeightOptions>("TDiffRec");
  checkRoundTrip<recdiff::DreamRecOptions>("DreamRec");
  checkRoundTrip<recdiff::DiffuRecOptions>("DiffuRec");
}

TEST_CASE("Field tables keep the documented defaults and keys", "[io][fields]") {
  const Map d = io::fieldsToText(recdiff::DiffRecOptions{});
  CHECK(d.at("noise_schedule") == "linear-var");
  CHECK(d.at("noise_scale") == "0.005");
  CHECK(d.at("first_beta") == "1e-05");
  CHECK(d.at("dims") == "200,600");
  CHECK(d.at("training_precision") == "float");
  CHECK(d.count("reverse") == 0);  // an execution setting
  CHECK(io::fieldsToText(recdiff::DiffRecOptions{}, io::FieldSelection::kAll).at("reverse") == "auto");
  const Map l = io::fieldsToText(recdiff::LDiffRecOptions{});
  CHECK(l.at("lr2") == "0.0005");  // %g, as the checkpoints before the field tables wrote it
  CHECK(l.at("out_dims").empty());
  const Map r = io::fieldsToText(recdiff::DreamRecOptions{});
  CHECK(r.at("beta_sche") == "exp");
  CHECK(r.at("beta_start") == "default");
  const Map u = io::fieldsToText(recdiff::DiffuRecOptions{});
  CHECK(u.at("noise_schedule") == "trunc_lin");
  CHECK(u.at("attention_mask") == "keys");
  CHECK(u.count("training_tile") == 0);
  // DreamRec's schedule conventions: naming `linear` gives linspace(1e-4, 0.02), `cosine` its clip.
  recdiff::DreamRecOptions o;
  Map m = r;
  m["beta_sche"] = "linear";
  m.erase("beta_start");
  m.erase("beta_end");
  m.erase("noise_scale");
  io::readFields(m, o, "DreamRec");
  CHECK(o.schedule.noiseScale == 1.0);
  CHECK(o.schedule.noiseMin == 1e-4);
  CHECK(o.schedule.noiseMax == 0.02);
}

TEST_CASE("Reading fields rejects missing, ill-typed and unknown entries with the field's name", "[io][fields]") {
  const Map good = io::fieldsToText(recdiff::DiffRecOptions{});
  const auto fails = [](Map m, const std::string& message) {
    INFO(message);
    CHECK_THROWS_WITH(io::fieldsFromText<recdiff::DiffRecOptions>(m, "DiffRec::load()"), Catch::Contains(message));
  };
  Map m = good;
  m.erase("steps");
  fails(m, "DiffRec::load(): no 'steps' entry");
  m = good;
  m["steps"] = "4x";
  fails(m, "'steps' = '4x' is not a whole number >= 0");
  m["steps"] = "-1";
  fails(m, "'steps' = '-1' is not a whole number >= 0");
  m = good;
  m["lr"] = "fast";
  fails(m, "'lr' = 'fast' is not a number");
  m = good;
  m["norm"] = "yes";
  fails(m, "'norm' = 'yes' is not 1 or 0");
  m = good;
  m["dims"] = "200,0";
  fails(m, "'dims' = '200,0' is not a comma-separated list of positive whole numbers");
  m = good;
  m["training_precision"] = "fp8";
  fails(m, "'training_precision' = 'fp8' is not one of float | bf16");
  m = good;
  m["noise_schedule"] = "wobbly";
  fails(m, "'noise_schedule' = 'wobbly' is not a schedule name");
  m = good;
  m["noise_min"] = "low";
  fails(m, "'noise_min' = 'low' is not a number or 'default'");
  m = good;
  m["stepz"] = "40";
  fails(m, "DiffRec::load(): unknown entry 'stepz' = '40'");
  CHECK_NOTHROW(io::fieldsFromText<recdiff::DiffRecOptions>(good, "x"));
  // DreamRec's own schedule names only.
  Map r = io::fieldsToText(recdiff::DreamRecOptions{});
  r["beta_sche"] = "trunc_lin";
  CHECK_THROWS_WITH(io::fieldsFromText<recdiff::DreamRecOptions>(r, "DreamRec"),
                    Catch::Contains("'beta_sche' = 'trunc_lin'") && Catch::Contains("is not one of exp, linear, cosine, sqrt"));
}

TEST_CASE("Checkpoints from before the field tables still read", "[io][fields]") {
  // DiffRec: no training_precision, min_beta, max_beta, betas entries -> float, unset.
  Map d = io::fieldsToText(recdiff::DiffRecOptions{});
  for (const char* k : {"training_precision", "min_beta", "max_beta", "betas"}) d.erase(k);
  const auto o = io::fieldsFromText<recdiff::DiffRecOptions>(d, "DiffRec");
  CHECK(o.trainingPrecision == recdiff::nn::GemmPrecision::kFloat);
  CHECK(o.schedule.noiseMax == 0.01);
  CHECK_FALSE(o.schedule.maxBeta);
  // DiffuRec: the schedule was a name only.
  Map u = io::fieldsToText(recdiff::DiffuRecOptions{});
  for (const char* k : {"noise_scale", "noise_min", "noise_max", "min_beta", "max_beta", "first_beta", "betas",
                        "training_precision", "inference_precision"})
    u.erase(k);
  u["noise_schedule"] = "cosine";
  const auto du = io::fieldsFromText<recdiff::DiffuRecOptions>(u, "DiffuRec");
  CHECK(du.schedule.name == "cosine");
  CHECK_FALSE(du.schedule.noiseMin);
}
