// Loading the (never committed) data mirror gives the counts stated in its READMEs.
#include <algorithm>
#include <set>

#include <recdiff/data/diffrec_splits.hpp>
#include <recdiff/data/movielens.hpp>
#include <recdiff/data/sequences.hpp>

#include "support/catch.hpp"
#include "support/test_env.hpp"

namespace rd = recdiff::data;

namespace {
Eigen::Index countNonEmptyColumns(const rd::Interactions& x) { return (x.itemCounts() > 0).count(); }
Eigen::Index countNonEmptyRows(const rd::Interactions& x) { return (x.userCounts() > 0).count(); }
}  // namespace

TEST_CASE("MovieLens 100K from the mirror has 943 users 1682 items and 100000 ratings", "[data][mirror]") {
  const auto root = recdiff::test::dataRoot();
  if (!root) {
    WARN("MovieLens 100K mirror test skipped: set RECDIFF_TEST_DATA");
    return;
  }
  const auto files = rd::detectMovieLens(*root / "movielens" / "ml-100k");
  REQUIRE(files);
  CHECK(files->release == rd::MovieLensRelease::Ml100k);
  const auto raw = rd::readMovieLens(*root / "movielens" / "ml-100k");
  CHECK(raw.size() == 100000);
  const auto x = rd::buildInteractions(raw);
  CHECK(x.users() == 943);
  CHECK(x.items() == 1682);
  CHECK(x.nnz() == 100000);
  CHECK(x.matrix().nonZeros() == 100000);
  CHECK(x.hasRatings());
  CHECK(x.hasTimestamps());
  // Rating histogram of the README: 1:6110 2:11370 3:27145 4:34174 5:21201.
  std::array<int, 6> hist{};
  for (float r : x.ratings()) ++hist[static_cast<std::size_t>(r)];
  CHECK(hist[1] == 6110);
  CHECK(hist[2] == 11370);
  CHECK(hist[3] == 27145);
  CHECK(hist[4] == 34174);
  CHECK(hist[5] == 21201);
  CHECK(x.itemTitle(x.itemIds().dense(1)) == "Toy Story (1995)");
  // Chronological stored order.
  for (Eigen::Index u = 0; u < x.users(); ++u) {
    const auto t = x.rowTimestamps(u);
    REQUIRE(std::is_sorted(t.begin(), t.end()));
  }
  // Implicit feedback from ratings >= 4 keeps 34174 + 21201 interactions.
  const auto implicit = rd::buildInteractions(raw, {.minRating = 4.0});
  CHECK(implicit.nnz() == 34174 + 21201);
  CHECK((implicit.matrix().coeffs() == 1.0f).all());
}

TEST_CASE("MovieLens 1M partial ratings from the mirror has 2999 users 3615 items and 487650 ratings", "[data][mirror]") {
  const auto root = recdiff::test::dataRoot();
  if (!root) {
    WARN("MovieLens 1M mirror test skipped: set RECDIFF_TEST_DATA");
    return;
  }
  const auto folder = *root / "movielens" / "ml-1m";
  const auto files = rd::detectMovieLens(folder);
  REQUIRE(files);
  CHECK(files->release == rd::MovieLensRelease::Ml1m);
  CHECK(files->partial);
  const auto x = rd::loadMovieLens(folder);
  CHECK(x.users() == 2999);
  CHECK(x.items() == 3615);
  CHECK(x.nnz() == 487650);
  CHECK(x.userIds().raw(0) == 1);
  CHECK(x.userIds().raw(2998) == 2999);
  // movies.dat is Latin-1: accents arrive as UTF-8.
  bool sawAccent = false;
  for (const auto& title : x.itemTitles()) sawAccent = sawAccent || title.find("\xc3\xa9") != std::string::npos;
  CHECK(sawAccent);
}

TEST_CASE("DiffRec ml-1m_clean splits from the mirror have the README counts", "[data][mirror]") {
  const auto root = recdiff::test::dataRoot();
  if (!root) {
    WARN("DiffRec splits mirror test skipped: set RECDIFF_TEST_DATA");
    return;
  }
  const auto folder = *root / "diffrec" / "ml-1m_clean";
  const auto s = rd::loadDiffRecSplits(folder);
  for (const auto* x : {&s.train, &s.valid, &s.test}) {
    CHECK(x->users() == 5949);
    CHECK(x->items() == 2810);
    CHECK(countNonEmptyRows(*x) == 5949);
  }
  CHECK(s.train.nnz() == 403277);
  CHECK(s.valid.nnz() == 110722);
  CHECK(s.test.nnz() == 57532);
  CHECK(countNonEmptyColumns(s.train) == 2810);
  CHECK(countNonEmptyColumns(s.valid) == 2802);
  CHECK(countNonEmptyColumns(s.test) == 2718);
  const auto c = s.train.userCounts();
  CHECK(c.minCoeff() == 8);
  CHECK(c.maxCoeff() == 973);
  const auto emb = rd::loadItemEmbeddings((folder / "item_emb.npy").string());
  CHECK(emb.rows() == 2810);
  CHECK(emb.cols() == 64);
  CHECK(emb.allFinite());
  // The .npy rows equal the plain-text copy, in order.
  const auto tsv = rd::buildInteractions(rd::readDelimited((folder / "test.tsv").string(), {.separator = "\t", .fields = 2}),
                                         {.idOrder = rd::IdOrder::Ascending});
  CHECK(tsv.nnz() == s.test.nnz());
  const auto u = s.test.users() - 1;
  const auto a = s.test.rowItems(u);
  const auto b = tsv.rowItems(tsv.userIds().dense(u));
  REQUIRE(a.size() == b.size());
  for (std::size_t k = 0; k < a.size(); ++k) CHECK(a[k] == tsv.itemIds().raw(b[k]));
}

TEST_CASE("DiffuRec ml-1m sequences from the mirror have 6040 users 3706 items and 1000209 interactions", "[data][mirror]") {
  const auto root = recdiff::test::dataRoot();
  if (!root) {
    WARN("DiffuRec sequences mirror test skipped: set RECDIFF_TEST_DATA");
    return;
  }
  const auto seq = rd::loadSequences((*root / "diffurec" / "ml-1m" / "sequences.txt").string());
  CHECK(seq.users() == 6040);
  CHECK(seq.totalLength() == 1000209);
  CHECK(seq.maxItem() == 3706);
  std::set<int> items(seq.allItems().begin(), seq.allItems().end());
  CHECK(items.size() == 3706);
  CHECK(*items.begin() == 1);
  Eigen::Index minLen = 1 << 30, maxLen = 0;
  for (Eigen::Index u = 0; u < seq.users(); ++u) {
    minLen = std::min(minLen, seq.length(u));
    maxLen = std::max(maxLen, seq.length(u));
  }
  CHECK(minLen == 20);
  CHECK(maxLen == 2314);
  // DiffuRec's training samples: every prefix of each training part (sequence minus the last two items).
  const auto split = rd::leaveLastOut(seq);
  const auto samples = rd::prefixSamples(split.train);
  CHECK(samples.size() == 982089);
}
