// Ranking metrics: the golden outputs of DiffRec's computeTopNAccuracy and DiffuRec's hrs_and_ndcgs_k, and
// hand-checked protocol options.
#include <cmath>
#include <vector>

#include <recdiff/data/interactions.hpp>
#include <recdiff/metrics/metric_table.hpp>
#include <recdiff/metrics/ranking.hpp>

#include "support/catch.hpp"
#include "support/golden.hpp"

namespace rm = recdiff::metrics;
using recdiff::Index;

namespace {

/// Every case of a golden section, whether the section holds one object or an array of them.
std::vector<recdiff::test::Json> cases(const recdiff::test::Json& section) {
  if (section.is_array()) return std::vector<recdiff::test::Json>(section.begin(), section.end());
  return {section};
}

/// Python's round(x, 4) on the double x (round half to even on the exact binary value).
double round4(double x) {
  const double scaled = x * 1e4;
  double r = std::nearbyint(scaled);
  return r / 1e4;
}

recdiff::data::Interactions truthFromLists(const recdiff::test::Json& lists, Index items) {
  std::vector<int> u, i;
  for (std::size_t r = 0; r < lists.size(); ++r)
    for (const auto& item : lists[r]) {
      u.push_back(static_cast<int>(r));
      i.push_back(item.get<int>());
    }
  return recdiff::data::Interactions::fromPairs(static_cast<Index>(lists.size()), items, u, i);
}

}  // namespace

TEST_CASE("Held-out set metrics reproduce DiffRec computeTopNAccuracy golden values", "[metrics][ranking][golden]") {
  const auto golden = recdiff::test::loadGolden("ranking_metrics.json");
  const auto& caseList = cases(golden.at("topn"));
  for (std::size_t caseIndex = 0; caseIndex < caseList.size(); ++caseIndex) {
    const auto& c = caseList[caseIndex];
    DYNAMIC_SECTION("case " << caseIndex) {  // one section per case: every failing case is reported
      const auto& predicted = c.at("predicted");
      const auto& truth = c.at("ground_truth");
      REQUIRE(predicted.size() == truth.size());
      const Index rows = static_cast<Index>(predicted.size());
      const Index width = static_cast<Index>(predicted[0].size());
      int maxItem = 0;
      rm::IdMatrix ranked(rows, width);
      for (Index r = 0; r < rows; ++r) {
        REQUIRE(static_cast<Index>(predicted[static_cast<std::size_t>(r)].size()) == width);
        for (Index j = 0; j < width; ++j) {
          ranked(r, j) = predicted[static_cast<std::size_t>(r)][static_cast<std::size_t>(j)].get<int>();
          maxItem = std::max(maxItem, ranked(r, j));
        }
      }
      for (const auto& l : truth)
        for (const auto& i : l) maxItem = std::max(maxItem, i.get<int>());
      const auto gt = truthFromLists(truth, maxItem + 1);
      const auto ks = c.at("topN").get<std::vector<Index>>();
      const auto m = rm::evaluateSets(ranked, gt.matrix(), ks, {.average = rm::UserAverage::AllUsers});
      const auto precision = c.at("precision").get<std::vector<double>>();
      const auto recall = c.at("recall").get<std::vector<double>>();
      const auto ndcg = c.at("ndcg").get<std::vector<double>>();
      const auto mrr = c.at("mrr").get<std::vector<double>>();
      for (std::size_t k = 0; k < ks.size(); ++k) {
        INFO("topN = " << ks[k]);
        // The reference prints round(x, 4); ours must round to the same 4-decimal value.
        CHECK(round4(m.precision[k]) == Approx(precision[k]).margin(1e-12));
        CHECK(round4(m.recall[k]) == Approx(recall[k]).margin(1e-12));
        CHECK(round4(m.ndcg[k]) == Approx(ndcg[k]).margin(1e-12));
        CHECK(round4(m.mrr[k]) == Approx(mrr[k]).margin(1e-12));
      }
    }
  }
}

TEST_CASE("Single-label HR and NDCG reproduce DiffuRec hrs_and_ndcgs_k golden values", "[metrics][ranking][golden]") {
  const auto golden = recdiff::test::loadGolden("ranking_metrics.json");
  const auto& caseList = cases(golden.at("single_label"));
  for (std::size_t caseIndex = 0; caseIndex < caseList.size(); ++caseIndex) {
    const auto& c = caseList[caseIndex];
    DYNAMIC_SECTION("case " << caseIndex) {  // one section per case: every failing case is reported
      const auto scores = recdiff::test::goldenMatrix<double>(c.at("scores"));
      const auto labels = c.at("labels").get<std::vector<int>>();
      const auto ks = c.at("ks").get<std::vector<Index>>();
      // DiffuRec ranks every column (no history mask, padding included), averages over rows, and computes
      // NDCG in float32: with Accumulation::Float32 the values are bit-identical; in double they agree to
      // float32 resolution.
      const auto m = rm::evaluateLabels(scores, labels, ks, {.accumulation = rm::Accumulation::Float32});
      const auto md = rm::evaluateLabels(scores, labels, ks);
      const auto& expected = c.at("metrics");
      for (std::size_t k = 0; k < ks.size(); ++k) {
        INFO("K = " << ks[k]);
        const double hr = expected.at("HR@" + std::to_string(ks[k])).get<double>();
        const double ndcg = expected.at("NDCG@" + std::to_string(ks[k])).get<double>();
        CHECK(m.hitRate[k] == hr);
        CHECK(m.ndcg[k] == ndcg);
        CHECK(md.hitRate[k] == hr);
        CHECK(md.ndcg[k] == Approx(ndcg).epsilon(static_cast<double>(std::numeric_limits<float>::epsilon())));
      }
      // The same through topK: HR@K = label among the top K.
      rm::TopK<double> top;
      const Index kMax = *std::max_element(ks.begin(), ks.end());
      rm::topK(scores, kMax, top);
      for (std::size_t k = 0; k < ks.size(); ++k) {
        double hits = 0;
        for (Index r = 0; r < scores.rows(); ++r)
          for (Index j = 0; j < ks[k]; ++j) hits += top.ids(r, j) == labels[static_cast<std::size_t>(r)] ? 1.0 : 0.0;
        CHECK(hits / static_cast<double>(scores.rows()) == Approx(m.hitRate[k]).epsilon(1e-12));
      }
    }
  }
}

TEST_CASE("Set metrics of a hand-checked example follow the stated formulas", "[metrics][ranking]") {
  // 3 users; user 2 has no ground truth.
  rm::IdMatrix ranked(3, 3);
  ranked << 4, 1, 2,   //
      0, 3, -1,        // an unrankable slot never hits
      1, 2, 3;
  const std::vector<int> u{0, 0, 1}, i{1, 5, 3};
  const auto gt = recdiff::data::Interactions::fromPairs(3, 6, u, i);
  const std::vector<Index> ks{1, 3};
  const auto all = rm::evaluateSets(ranked, gt.matrix(), ks);
  const double l2 = 1.0 / std::log2(3.0);
  // user 0: hit at position 1; |G| = 2. user 1: hit at position 1; |G| = 1.
  CHECK(all.precision[0] == Approx(0.0));
  CHECK(all.precision[1] == Approx((1.0 / 3 + 1.0 / 3) / 3));
  CHECK(all.recall[1] == Approx((0.5 + 1.0) / 3));
  CHECK(all.ndcg[1] == Approx((l2 / (1.0 + l2) + l2 / 1.0) / 3));
  CHECK(all.mrr[1] == Approx((0.5 + 0.5) / 3));
  CHECK(all.hitRate[1] == Approx(2.0 / 3));
  CHECK(all.rowsWithTruth == 2);
  const auto with = rm::evaluateSets(ranked, gt.matrix(), ks, {.average = rm::UserAverage::UsersWithTruth});
  CHECK(with.recall[1] == Approx((0.5 + 1.0) / 2));
  CHECK_THROWS_AS(rm::evaluateSets(ranked, gt.matrix(), std::vector<Index>{4}), std::invalid_argument);
}

TEST_CASE("Single-label metrics honour masks ties and batch means", "[metrics][ranking]") {
  recdiff::RowMatrix<float> s(3, 4);
  s << 0.9f, 0.5f, 0.5f, 0.1f,  //
      0.2f, 0.8f, 0.3f, 0.4f,   //
      0.7f, 0.6f, 0.5f, 0.4f;
  const std::vector<int> labels{2, 2, 3};
  const std::vector<Index> ks{1, 2};
  // Row 0: label 2 ties with item 1 (smaller index wins) -> rank 2. Row 1: rank 2. Row 2: rank 3.
  auto m = rm::evaluateLabels(s, labels, ks);
  CHECK(m.hitRate[1] == Approx(0.0));
  // Masking item 0 of user 0 and item 1 of user 1 lifts both labels to rank 1.
  const std::vector<int> hu{0, 1}, hi{0, 1};
  const auto history = recdiff::data::Interactions::fromPairs(3, 4, hu, hi);
  m = rm::evaluateLabels(s, labels, ks, {.mask = {.exclude = {&history.matrix()}}});
  CHECK(m.hitRate[1] == Approx(2.0 / 3));
  CHECK(m.ndcg[1] == Approx(2.0 / 3 / std::log2(3.0)));
  // A masked label still counts (it is never excluded).
  const std::vector<int> lu{2}, li{3};
  const auto own = recdiff::data::Interactions::fromPairs(3, 4, lu, li);
  const auto withOwn = rm::evaluateLabels(s, labels, ks, {.mask = {.exclude = {&own.matrix()}}});
  CHECK(withOwn.hitRate[0] == Approx(0.0));
  // Batch means: batches {0, 1} and {2}: HR@2 = (2/2 + 0/1) / 2 with the history mask.
  const auto bm = rm::evaluateLabels(s, labels, ks,
                                     {.mask = {.exclude = {&history.matrix()}}, .average = rm::RowAverage::BatchMeans, .batchSize = 2});
  CHECK(bm.hitRate[1] == Approx(0.5));
  // Padding column excluded: column 0 never outranks.
  const auto pad = rm::evaluateLabels(s, labels, ks, {.mask = {.excludeColumn = 0}});
  CHECK(pad.hitRate[1] == Approx(1.0 / 3));  // row 0 now rank 1 (item 1 still ahead), rows 1, 2 unchanged
  CHECK_THROWS_AS(rm::evaluateLabels(s, std::vector<int>{0, 1, 4}, ks), std::invalid_argument);
}

TEST_CASE("MetricTable keys print and JSON", "[metrics][table]") {
  rm::SetMetrics m;
  m.ks = {20};
  m.precision = {0.1};
  m.recall = {0.2};
  m.ndcg = {0.3};
  m.mrr = {0.4};
  m.hitRate = {0.5};
  rm::MetricTable t;
  t.add("test", m);
  t.set("seconds", 1.5);
  CHECK(t.at("test.recall@20") == 0.2);
  CHECK(t.at("test.hit_rate@20") == 0.5);
  CHECK_FALSE(t.get("valid.recall@20"));
  CHECK_THROWS_AS(t.at("valid.recall@20"), std::out_of_range);
  const auto json = rm::MetricTable(t).toJson(0);
  CHECK(json == "{\"test.precision@20\":0.10000000000000001,\"test.recall@20\":0.20000000000000001,\"test.ndcg@20\":"
                "0.29999999999999999,\"test.mrr@20\":0.40000000000000002,\"test.hit_rate@20\":0.5,\"seconds\":1.5}");
  std::ostringstream os;
  t.print(os);
  CHECK(os.str().find("recall@20") != std::string::npos);
  CHECK(os.str().find("0.2000") != std::string::npos);
}
