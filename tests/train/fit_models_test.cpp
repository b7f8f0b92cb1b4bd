// Every model's fit() is its trainEpoch() loop with epoch e drawn from Rng(seed, stream).fork(e): the same
// parameters bit for bit; and fit()'s callbacks reach the model's batches.
#include <recdiff/models/diffrec.hpp>
#include <recdiff/models/diffurec.hpp>
#include <recdiff/models/dreamrec.hpp>
#include <recdiff/models/ldiffrec.hpp>
#include <recdiff/train/callbacks.hpp>

#include <vector>

#include "support/catch.hpp"

namespace {

using recdiff::Index;

recdiff::data::Interactions blocks(Index users, Index items, recdiff::Rng& rng) {
  std::vector<int> us, is;
  for (Index u = 0; u < users; ++u)
    for (Index i = (u % 3) * (items / 3); i < (u % 3 + 1) * (items / 3); ++i)
      if (rng.uniform() < 0.5) {
        us.push_back(static_cast<int>(u));
        is.push_back(static_cast<int>(i));
      }
  return recdiff::data::Interactions::fromTriplets(users, items, us, is);
}

recdiff::data::Sequences cycles(int users, int items) {
  std::vector<std::vector<int>> lists;
  for (int u = 0; u < users; ++u) {
    std::vector<int> s;
    for (int j = 0; j < 8 + u % 4; ++j) s.push_back(1 + (u + j) % items);
    lists.push_back(s);
  }
  return recdiff::data::Sequences::fromLists(lists);
}

/// Counts endBatch calls and the epochs they name.
struct BatchCounter {
  Index calls = 0, lastEpoch = 0;
  void endBatch(Index epoch, Index, Index, double) {
    ++calls;
    lastEpoch = epoch;
  }
};

constexpr recdiff::FitOptions kFit{.epochs = 3, .seed = 5, .stream = 11};

recdiff::Rng epochRng(Index e) { return recdiff::Rng(kFit.seed, kFit.stream).fork(static_cast<std::uint64_t>(e)); }

}  // namespace

TEST_CASE("DiffRec and L-DiffRec fit() equal their trainEpoch() loops", "[train][fit][diffrec][ldiffrec]") {
  recdiff::Rng dataRng(3);
  const auto train = blocks(60, 30, dataRng);
  recdiff::DiffRecOptions o;
  o.dims = {16};
  o.batchSize = 25;
  o.steps = 6;
  recdiff::DiffRec<> a(o, train.items(), 2), b(o, train.items(), 2);
  BatchCounter counter;
  const recdiff::TrainResult r = a.fit(train, kFit, counter);
  double sum = 0.0;
  for (Index e = 1; e <= kFit.epochs; ++e) {
    recdiff::Rng rng = epochRng(e);
    sum = b.trainEpoch(train, rng).sumLoss;
  }
  CHECK(r.epochs == 3);
  CHECK(r.last().sumLoss == sum);
  CHECK(r.last().batches == 3);
  CHECK(r.last().samples == 60);
  CHECK(counter.calls == 9);
  CHECK(counter.lastEpoch == 3);
  CHECK(a.model().parameters().values() == b.model().parameters().values());

  recdiff::LDiffRecOptions lo;
  lo.inDims = {6};
  lo.mlpDims = {8};
  lo.steps = 4;
  lo.batchSize = 25;
  const Eigen::ArrayXi labels = Eigen::ArrayXi::Zero(30);
  recdiff::LDiffRec<float> la(lo, labels, 4), lb(lo, labels, 4);
  const recdiff::TrainResult lr = la.fit(train, {.epochs = 3, .maxBatchesPerEpoch = 2, .seed = 5, .stream = 11});
  for (Index e = 1; e <= 3; ++e) {
    recdiff::Rng rng = epochRng(e);
    (void)lb.trainEpoch(train, rng, 2);
  }
  CHECK(lr.last().batches == 2);
  CHECK(la.currentLamda() == lb.currentLamda());
  CHECK(la.currentKlWeight() == lb.currentKlWeight());
  CHECK(la.autoencoder().parameters().values() == lb.autoencoder().parameters().values());
  CHECK(la.model().parameters().values() == lb.model().parameters().values());
}

TEST_CASE("DreamRec and DiffuRec fit() equal their trainEpoch() loops", "[train][fit][dreamrec][diffurec]") {
  const auto full = cycles(40, 12);
  const auto split = recdiff::data::leaveLastOut(full);
  const auto samples = recdiff::data::prefixSamples(split.train);
  recdiff::DreamRecOptions o;
  o.hidden = 8;
  o.steps = 10;
  o.batchSize = 40;
  recdiff::DreamRec<float> a(o, 12, 3), b(o, 12, 3);
  BatchCounter counter;
  const recdiff::TrainResult r = a.fit(split.train, samples, kFit, counter);
  for (Index e = 1; e <= kFit.epochs; ++e) {
    recdiff::Rng rng = epochRng(e);
    (void)b.trainEpoch(split.train, samples, rng);
  }
  CHECK(r.last().samples == static_cast<Index>(samples.size()));
  CHECK(counter.calls == 3 * r.last().batches);
  CHECK(a.parameters().values() == b.parameters().values());
  CHECK(a.optimizer().epoch() == 3);

  recdiff::DiffuRecOptions d;
  d.hidden = 8;
  d.blocks = 1;
  d.heads = 2;
  d.maxLength = 5;
  d.steps = 4;
  d.batchSize = 40;
  d.trainingTile = 16;  // three tiles per batch
  recdiff::DiffuRec<float> da(d, 12, 3), db(d, 12, 3);
  const recdiff::TrainResult dr = da.fit(split.train, samples, kFit);
  Index seen = 0;
  for (Index e = 1; e <= kFit.epochs; ++e) {
    recdiff::Rng rng = epochRng(e);
    (void)db.trainEpoch(split.train, samples, rng, 0, [&](Index, Index, double) { ++seen; });
  }
  CHECK(seen == 3 * dr.last().batches);
  CHECK(da.approximator().parameters().values() == db.approximator().parameters().values());
}

TEST_CASE("DiffRec fit() with early stopping and keep-best restores the best evaluation's parameters",
          "[train][fit][diffrec]") {
  recdiff::Rng dataRng(4);
  const auto train = blocks(60, 30, dataRng);
  recdiff::DiffRecOptions o;
  o.dims = {16};
  o.batchSize = 30;
  o.steps = 5;
  o.learningRate = 1e-2;
  recdiff::DiffRec<> model(o, train.items(), 2);
  // A scripted validation metric (the model's own evaluation is the sampling side's): best at epoch 4.
  const std::vector<double> metric = {0, 0.1, 0.2, 0.3, 0.9, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0};
  std::vector<float> atBest;
  recdiff::train::EarlyStopping early(
      [&](Index e) {
        recdiff::metrics::MetricTable t;
        t.set("valid.recall@20", metric[static_cast<std::size_t>(e)]);
        if (e == 4) {
          const auto& v = model.model().parameters().values();
          atBest.assign(v.data(), v.data() + v.size());
        }
        return t;
      },
      "valid.recall@20", {.patience = 3, .every = 2, .unit = recdiff::train::PatienceUnit::kEpochs});
  recdiff::train::KeepBest<float> keep(early, {&model.model().parameters()});
  const recdiff::TrainResult r = model.fit(train, {.epochs = 10, .seed = 1}, early, keep);
  // evaluated at 2, 4, 6: after epoch 6, 6 + 1 - 4 >= 3 -> stop (the reference stops before epoch 7).
  CHECK(r.epochs == 6);
  CHECK(r.stoppedEarly);
  REQUIRE(atBest.size() == static_cast<std::size_t>(model.model().parameters().size()));
  const auto& v = model.model().parameters().values();
  CHECK(std::vector<float>(v.data(), v.data() + v.size()) == atBest);
}
