// The model concept (include/recdiff/concepts.hpp, docs/concepts.md#model): every model and baseline satisfies
// its flavour (static_assert), and one generic function evaluates, recommends and round-trips every model type
// on tiny data through the concept API alone.
#include <recdiff/baselines/ease.hpp>
#include <recdiff/baselines/item_knn.hpp>
#include <recdiff/baselines/most_popular.hpp>
#include <recdiff/baselines/rp3beta.hpp>
#include <recdiff/concepts.hpp>
#include <recdiff/metrics/split_evaluation.hpp>
#include <recdiff/models/diffrec.hpp>
#include <recdiff/models/diffurec.hpp>
#include <recdiff/models/dreamrec.hpp>
#include <recdiff/models/ldiffrec.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "support/test_env.hpp"

using recdiff::Index;

// Interaction flavour: the diffusion models (fit through train/'s Trainer) and the baselines (their closed
// form, similarity or count as the one epoch of train::fit()); T-DiffRec is DiffRec on time-weighted rows.
static_assert(recdiff::InteractionModel<recdiff::DiffRec<>>);
static_assert(recdiff::InteractionModel<recdiff::DiffRec<recdiff::PredictEpsilon, double>>);
static_assert(recdiff::InteractionModel<recdiff::LDiffRec<float>>);
static_assert(recdiff::InteractionModel<recdiff::LDiffRec<double>>);
static_assert(recdiff::InteractionModel<recdiff::baselines::EASE<float>>);
static_assert(recdiff::InteractionModel<recdiff::baselines::EASE<double>>);
static_assert(recdiff::InteractionModel<recdiff::baselines::ItemKNN<float>>);
static_assert(recdiff::InteractionModel<recdiff::baselines::RP3beta<double>>);
static_assert(recdiff::InteractionModel<recdiff::baselines::MostPopular<float>>);
// Sequence flavour: fit on (training sequences, their samples).
static_assert(recdiff::SequenceModel<recdiff::DreamRec<float>>);
static_assert(recdiff::SequenceModel<recdiff::DreamRec<double>>);
static_assert(recdiff::SequenceModel<recdiff::DiffuRec<float>>);
static_assert(recdiff::SequenceModel<recdiff::DiffuRec<double>>);
// And not across: an interaction model has no history-batch API, a sequence model no (input, users) one, and
// neither fits on the other's data.
static_assert(!recdiff::SequenceRecommender<recdiff::baselines::EASE<float>>);
static_assert(!recdiff::InteractionRecommender<recdiff::DreamRec<float>>);
static_assert(!recdiff::Fittable<recdiff::DiffuRec<float>, recdiff::data::Interactions>);
static_assert(!recdiff::Fittable<recdiff::DiffRec<>, recdiff::data::Sequences, recdiff::data::SequenceSamples>);
// A type with the recommender API but without fit is a recommender, not a model.
struct UnfittableEase : recdiff::baselines::EASE<float> {
  void fit() = delete;  // hides every fit overload of EASE
};
static_assert(recdiff::InteractionRecommender<UnfittableEase>);
static_assert(!recdiff::InteractionModel<UnfittableEase>);

namespace {

recdiff::data::Interactions blocks(Index users, Index items, double keep, recdiff::Rng& rng) {
  std::vector<int> us, is;
  for (Index u = 0; u < users; ++u)
    for (Index i = (u % 2) * (items / 2); i < (u % 2 + 1) * (items / 2); ++i)
      if (rng.uniform() < keep) {
        us.push_back(static_cast<int>(u));
        is.push_back(static_cast<int>(i));
      }
  return recdiff::data::Interactions::fromTriplets(users, items, us, is);
}

/// Users of group g (u % 2) like the items of block g; each of their block items falls into exactly one of
/// train (60 %), valid (20 %) and test (20 %), so the held-out items are never masked by train.
struct BlockSplit {
  recdiff::data::Interactions train, valid, test;
};

BlockSplit blockSplit(Index users, Index items, recdiff::Rng& rng) {
  std::vector<int> us[3], is[3];
  for (Index u = 0; u < users; ++u)
    for (Index i = (u % 2) * (items / 2); i < (u % 2 + 1) * (items / 2); ++i) {
      const double p = rng.uniform();
      const int part = p < 0.6 ? 0 : p < 0.8 ? 1 : 2;
      us[part].push_back(static_cast<int>(u));
      is[part].push_back(static_cast<int>(i));
    }
  const auto make = [&](int part) { return recdiff::data::Interactions::fromTriplets(users, items, us[part], is[part]); };
  return {make(0), make(1), make(2)};
}

std::filesystem::path tempFile(const std::string& name) {
  return std::filesystem::temp_directory_path() / (name + "_" + std::to_string(recdiff::test::seed()) + ".rdc");
}

/// Everything the evaluator and the examples do with an interaction model, through the concept only.
template <recdiff::InteractionRecommender M>
void exerciseInteractionModel(M& model, M& restored, const recdiff::data::Interactions& train,
                              const recdiff::data::Interactions& valid, const recdiff::data::Interactions& test,
                              bool deterministic, const std::string& name) {
  const std::vector<Index> ks{2, 5};
  recdiff::Rng r1(3), r2(3);
  const recdiff::metrics::MetricTable own = model.evaluate(train, valid, test, ks, r1);
  const recdiff::metrics::MetricTable generic = recdiff::metrics::evaluateSplits(model, train, valid, test, ks, r2);
  REQUIRE(own.size() == 20);  // valid/test × 5 metrics × 2 cut-offs
  for (const auto& [key, value] : own.entries()) {
    CAPTURE(key);
    CHECK(value >= 0.0);
    CHECK(value <= 1.0);
    REQUIRE(generic.get(key).has_value());
    if (deterministic) CHECK(*generic.get(key) == value);
  }
  // The models learn the two blocks: the remaining block items fill the top 5 (recall@5 near 1; ranking the
  // other block first would give 0).
  CHECK(own.at("test.recall@5") > 0.5);
  // recommend with filterSeen never returns a train item.
  const std::vector<Index> users{0, 1, 2, 3};
  recdiff::Rng r3(4);
  const auto top = model.recommend(train, users, 3, true, r3);
  REQUIRE(top.ids.rows() == 4);
  for (Index r = 0; r < 4; ++r)
    for (Index c = 0; c < 3; ++c) CHECK(train.matrix().coeff(users[static_cast<std::size_t>(r)], top.ids(r, c)) == 0.0f);
  // save / load / hyperparameters: the restored model scores like the original.
  const auto file = tempFile(name);
  model.save(file);
  restored.load(file);
  std::filesystem::remove(file);
  CHECK(restored.hyperparameters() == model.hyperparameters());
  recdiff::RowMatrix<typename M::ScalarType> a, b;
  recdiff::Rng r4(5), r5(5);
  model.scores(train, users, a, r4);
  restored.scores(train, users, b, r5);
  CHECK((a - b).cwiseAbs().maxCoeff() == 0);
}

}  // namespace

TEST_CASE("Every interaction model passes the same generic evaluation, recommend and checkpoint round trip",
          "[models][concept]") {
  recdiff::Rng dataRng(recdiff::test::seed());
  const auto [train, valid, test] = blockSplit(60, 20, dataRng);
  SECTION("DiffRec") {
    recdiff::DiffRecOptions o;
    o.dims = {16};
    o.steps = 5;
    o.batchSize = 20;
    o.learningRate = 1e-2;
    o.foldedReverse = recdiff::DiffRecOptions::Folding::kNever;  // one path, whatever the batch: bit-equal tables
    recdiff::DiffRec<> model(o, 20, 1), restored(o, 20, 2);
    recdiff::Rng rng(1);
    for (int e = 0; e < 30; ++e) model.trainEpoch(train, rng);
    exerciseInteractionModel(model, restored, train, valid, test, true, "concept_diffrec");
  }
  SECTION("L-DiffRec") {
    recdiff::LDiffRecOptions o;
    o.inDims = {8};
    o.mlpDims = {16};
    o.steps = 5;
    o.batchSize = 20;
    o.lr1 = o.lr2 = 1e-2;
    o.variational = false;
    Eigen::ArrayXi labels(20);
    for (Index i = 0; i < 20; ++i) labels(i) = i < 10 ? 0 : 1;
    recdiff::LDiffRec<float> model(o, labels, 1), restored(o, labels, 2);
    recdiff::Rng rng(1);
    for (int e = 0; e < 40; ++e) model.trainEpoch(train, rng);
    exerciseInteractionModel(model, restored, train, valid, test, true, "concept_ldiffrec");
  }
  SECTION("EASE") {
    recdiff::baselines::EASE<float> model({.lambda = 10.0}), restored;
    model.fit(train);
    exerciseInteractionModel(model, restored, train, valid, test, true, "concept_ease");
    CHECK(restored.options().lambda == 10.0);
  }
  SECTION("ItemKNN") {
    recdiff::baselines::ItemKNN<float> model({.neighbours = 5, .shrink = 1.0}), restored;
    model.fit(train);
    exerciseInteractionModel(model, restored, train, valid, test, true, "concept_itemknn");
    CHECK(restored.options().neighbours == 5);
    CHECK(restored.weights().nonZeros() == model.weights().nonZeros());
  }
  SECTION("RP3beta") {
    recdiff::baselines::RP3beta<double> model({.alpha = 0.8, .beta = 0.2, .neighbours = 6}), restored;
    model.fit(train);
    exerciseInteractionModel(model, restored, train, valid, test, true, "concept_rp3beta");
    CHECK(restored.options().beta == 0.2);
  }
}

namespace {

/// Counts the hooks fit() calls.
struct HookCounter {
  int begins = 0, epochBegins = 0, epochEnds = 0, ends = 0;
  void beginTraining(const recdiff::FitOptions&) { ++begins; }
  void beginEpoch(Index) { ++epochBegins; }
  void endEpoch(Index, const recdiff::EpochResult&) { ++epochEnds; }
  void endTraining(const recdiff::TrainResult&) { ++ends; }
};

}  // namespace

TEST_CASE("A baseline's concept fit is its own fit as the one epoch of train::fit()", "[models][concept]") {
  recdiff::Rng dataRng(recdiff::test::seed());
  const auto train = blocks(40, 10, 0.5, dataRng);
  recdiff::baselines::EASE<double> direct({.lambda = 10.0}), viaConcept({.lambda = 10.0});
  direct.fit(train.matrix());
  HookCounter hooks;
  const recdiff::TrainResult r = viaConcept.fit(train, {.epochs = 5, .maxBatchesPerEpoch = 2}, hooks);
  CHECK(r.epochs == 1);  // a closed form has no epochs to repeat
  CHECK_FALSE(r.diverged);
  CHECK_FALSE(r.stoppedEarly);
  REQUIRE(r.history.size() == 1);
  CHECK(r.history[0].batches == 1);
  CHECK(r.history[0].samples == train.users());
  CHECK((hooks.begins == 1 && hooks.epochBegins == 1 && hooks.epochEnds == 1 && hooks.ends == 1));
  CHECK((viaConcept.weights().array() == direct.weights().array()).all());
  recdiff::baselines::MostPopular<float> pop;
  const recdiff::TrainResult p = pop.fit(train, {});
  CHECK(p.epochs == 1);
  CHECK(pop.counts().sum() == train.nnz());
}

TEST_CASE("MostPopular meets the concept and round-trips its counts", "[models][concept]") {
  recdiff::Rng dataRng(recdiff::test::seed());
  const auto train = blocks(40, 10, 0.5, dataRng);
  recdiff::baselines::MostPopular<float> model, restored;
  model.fit(train);
  const std::vector<Index> ks{3};
  recdiff::Rng rng(1);
  const auto table = model.evaluate(train, train, train, ks, rng);  // everything masked: nothing to find
  CHECK(table.at("test.recall@3") == 0.0);
  const auto file = tempFile("concept_mostpopular");
  model.save(file);
  restored.load(file);
  std::filesystem::remove(file);
  CHECK((restored.counts() == model.counts()).all());
  CHECK(restored.ranking() == model.ranking());
}

namespace {

/// Everything the evaluator does with a sequence model, through the concept only.
template <recdiff::SequenceRecommender M>
void exerciseSequenceModel(M& model, M& restored, const recdiff::data::Sequences& full,
                           const recdiff::data::SequenceSplit& split, const recdiff::data::PaddingOptions& padding,
                           const std::string& name) {
  const std::vector<Index> ks{1, 5};
  recdiff::Rng rng(3);
  const recdiff::metrics::MetricTable m = model.evaluate(full, split.test, ks, rng);
  REQUIRE(m.size() == 4);
  CHECK(m.at("hr@5") >= m.at("hr@1"));
  CHECK(m.at("hr@5") > 0.5);  // the cycle is learnt; chance is 5 of 9 unmasked items at best
  recdiff::data::HistoryBatch batch;
  const std::vector<Index> rows{0, 1, 2, 3};
  recdiff::data::fillHistoryBatch(full, split.test, rows, padding, batch);
  const auto top = model.recommend(batch, 4, true, rng);
  REQUIRE(top.ids.rows() == 4);
  for (Index r = 0; r < 4; ++r)
    for (Index c = 0; c < 4; ++c) {
      CHECK(top.ids(r, c) != 0);
      CHECK(!(batch.history.row(r).array() == top.ids(r, c)).any());
    }
  const auto file = tempFile(name);
  model.save(file);
  restored.load(file);
  std::filesystem::remove(file);
  CHECK(restored.hyperparameters() == model.hyperparameters());
  recdiff::RowMatrix<typename M::ScalarType> a, b;
  recdiff::Rng r1(5), r2(5);
  model.scores(batch, a, r1);
  restored.scores(batch, b, r2);
  CHECK((a - b).cwiseAbs().maxCoeff() == 0);
}

recdiff::data::Sequences cycles() {
  std::vector<std::vector<int>> lists;
  for (int u = 0; u < 40; ++u) {
    std::vector<int> s;
    for (int j = 0; j < 9 + u % 4; ++j) s.push_back(1 + (u + j) % 10);
    lists.push_back(s);
  }
  return recdiff::data::Sequences::fromLists(lists);
}

}  // namespace

TEST_CASE("Every sequence model passes the same generic evaluation, recommend and checkpoint round trip",
          "[models][concept]") {
  const auto full = cycles();
  const auto split = recdiff::data::leaveLastOut(full);
  const auto samples = recdiff::data::prefixSamples(split.train);
  recdiff::Rng rng(recdiff::test::seed());
  SECTION("DreamRec") {
    recdiff::DreamRecOptions o;
    o.hidden = 8;
    o.maxLength = 4;
    o.steps = 10;
    o.batchSize = 16;
    recdiff::DreamRec<float> model(o, 10, 1), restored(o, 10, 2);
    for (int e = 1; e <= 60; ++e) {
      recdiff::Rng er = rng.fork(static_cast<std::uint64_t>(e));
      model.trainEpoch(split.train, samples, er);
    }
    exerciseSequenceModel(model, restored, full, split, model.padding(), "concept_dreamrec");
  }
  SECTION("DiffuRec") {
    recdiff::DiffuRecOptions o;
    o.hidden = 16;
    o.blocks = 1;
    o.heads = 2;
    o.maxLength = 5;
    o.steps = 8;
    o.batchSize = 32;
    o.learningRate = 5e-3;
    recdiff::DiffuRec<float> model(o, 10, 1), restored(o, 10, 2);
    for (int e = 1; e <= 40; ++e) {
      recdiff::Rng er = rng.fork(static_cast<std::uint64_t>(e));
      model.trainEpoch(split.train, samples, er);
    }
    exerciseSequenceModel(model, restored, full, split, model.padding(), "concept_diffurec");
  }
}
