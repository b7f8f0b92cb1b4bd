// The models' checkpoints carry their whole field table (models/*_options.hpp): hyperparameters() is
// io::fieldsToText(options) plus the model's own entries, optionsFromHyperparameters() reads every field back
// (precisions included), and a DreamRec checkpoint written before its schedule was a ScheduleSpec still loads.
#include <filesystem>
#include <map>
#include <string>
#include <unistd.h>

#include <recdiff/models/diffrec.hpp>
#include <recdiff/models/diffurec.hpp>
#include <recdiff/models/dreamrec.hpp>
#include <recdiff/models/ldiffrec.hpp>

#include "support/catch.hpp"

namespace io = recdiff::io;
using recdiff::Index;
using Map = std::map<std::string, std::string>;

namespace {
std::filesystem::path tempFile(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("recdiff_options_" + std::to_string(::getpid()) + "_" + name);
}
}  // namespace

TEST_CASE("DiffRec checkpoints record every option, the mean type and the training precision", "[models][checkpoint]") {
  recdiff::DiffRecOptions o;
  o.dims = {6};
  o.steps = 7;
  o.schedule = io::plainSchedule("cosine");
  o.schedule.maxBeta = 0.5;
  o.uniformMix = 0.0123456789;  // needs more than 6 digits to read back exactly
  o.foldedReverse = recdiff::DiffRecOptions::Folding::kNever;  // not a checkpointed setting
  recdiff::DiffRec<recdiff::PredictEpsilon> model(o, 9, 3);
  const auto file = tempFile("diffrec.rdc");
  model.save(file);
  const auto info = io::readCheckpointInfo(file);
  std::filesystem::remove(file);
  CHECK(info.hyperparameters.at("mean_type") == "eps");
  CHECK(info.hyperparameters.at("training_precision") == "float");
  CHECK(info.hyperparameters.count("reverse") == 0);
  const auto [read, items] = recdiff::DiffRec<>::optionsFromHyperparameters(info.hyperparameters);
  CHECK(items == 9);
  CHECK(io::fieldsToText(read) == io::fieldsToText(o));
  CHECK(read.uniformMix == o.uniformMix);
  CHECK(read.foldedReverse == recdiff::DiffRecOptions::Folding::kAuto);
  Map bad = info.hyperparameters;
  bad["mean_type"] = "v";
  CHECK_THROWS_WITH(recdiff::DiffRec<>::optionsFromHyperparameters(bad), Catch::Contains("'mean_type' = 'v'"));
}

TEST_CASE("L-DiffRec, DreamRec and DiffuRec checkpoints read back into the same options", "[models][checkpoint]") {
  recdiff::LDiffRecOptions l;
  l.inDims = {6};
  l.mlpDims = {5};
  l.outDims = {};
  l.steps = 6;
  Eigen::ArrayXi labels(12);
  for (Index i = 0; i < 12; ++i) labels(i) = static_cast<int>(i % 2);
  recdiff::LDiffRec<float> latent(l, labels, 2);
  const Map lh = latent.hyperparameters();
  CHECK(io::fieldsToText(recdiff::LDiffRec<float>::optionsFromHyperparameters(lh)) == io::fieldsToText(l));

  recdiff::DreamRecOptions r;
  r.hidden = 4;
  r.maxLength = 4;
  r.steps = 10;
  r.schedule = recdiff::DreamRecOptions::namedSchedule("linear");
  r.schedule.noiseMax = 0.03;
  r.emptyHistory = recdiff::EmptyHistory::kNullVector;
  recdiff::DreamRec<float> dream(r, 9, 1);
  const auto [dr, dItems] = recdiff::DreamRec<float>::optionsFromHyperparameters(dream.hyperparameters());
  CHECK(dItems == 9);
  CHECK(io::fieldsToText(dr) == io::fieldsToText(r));

  recdiff::DiffuRecOptions u;
  u.hidden = 8;
  u.blocks = 1;
  u.heads = 2;
  u.maxLength = 6;
  u.steps = 4;
  u.schedule = io::plainSchedule("cosine");
  u.attentionMask = recdiff::nn::PaddingMask::kQueryRows;
  u.trainingTile = 5;  // not checkpointed
  recdiff::DiffuRec<float> diffu(u, 12, 1);
  const Map uh = diffu.hyperparameters();
  CHECK(uh.at("inference_precision") == "float");
  const auto [ur, uItems] = recdiff::DiffuRec<float>::optionsFromHyperparameters(uh);
  CHECK(uItems == 12);
  CHECK(io::fieldsToText(ur) == io::fieldsToText(u));
  CHECK(ur.trainingTile == recdiff::DiffuRecOptions{}.trainingTile);
  Map unknown = uh;
  unknown["hidden"] = "8";
  CHECK_THROWS_WITH(recdiff::DiffuRec<float>::optionsFromHyperparameters(unknown), Catch::Contains("unknown entry 'hidden'"));
}

TEST_CASE("A DreamRec checkpoint from before ScheduleSpec reads as the same schedule", "[models][checkpoint]") {
  // What DreamRec::hyperparameters() wrote before the field tables: beta_start / beta_end for every schedule.
  Map old{{"items", "9"},        {"hidden_factor", "4"}, {"seq_size", "4"},         {"heads", "1"},
          {"dropout_rate", "0.1"}, {"diffuser_type", "mlp1"}, {"beta_sche", "exp"},   {"timesteps", "10"},
          {"beta_start", "0.0001"}, {"beta_end", "0.02"},  {"w", "2"},                 {"p", "0.1"},
          {"lr", "0.001"},        {"l2_decay", "0"},      {"batch_size", "256"},     {"empty_history", "reference"},
          {"detach_target", "0"}, {"freeze_items", "0"},  {"ce_weight", "0"}};
  auto [o, items] = recdiff::DreamRec<float>::optionsFromHyperparameters(old);
  CHECK(items == 9);
  CHECK(o.schedule.name == "exp");
  CHECK_FALSE(o.schedule.noiseMin);
  CHECK_NOTHROW(recdiff::DreamRec<float>(o, items, 1));  // exp takes no bounds: they were ignored then, too
  old["beta_sche"] = "linear";
  old["beta_end"] = "0.05";
  std::tie(o, items) = recdiff::DreamRec<float>::optionsFromHyperparameters(old);
  CHECK(o.schedule.noiseScale == 1.0);
  CHECK(o.schedule.noiseMin == 1e-4);
  CHECK(o.schedule.noiseMax == 0.05);
}
