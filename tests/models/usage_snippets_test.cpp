// The usage comments at the top of include/recdiff/models/*.hpp, compiled and run on tiny data. Each snippet
// sits between "// snippet <name> begin" and "// snippet <name> end" below; the header's "Usage (compiled in
// tests/models/usage_snippets_test.cpp, snippet <name>):" block holds exactly the same lines, which the
// last test cases check (and that no models/ header has a usage comment outside this list), so a header's
// usage can neither stop compiling nor drift from the code here.
#include <recdiff/recdiff.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "support/catch.hpp"
#include "support/test_env.hpp"

using namespace recdiff;  // the snippets use the library's names unqualified, as the headers do

namespace {

/// 60 users in three blocks of 10 items each, with timestamps in stored order; valid/test split off by user.
struct InteractionData {
  data::Interactions train, valid, test;
};

InteractionData interactionData() {
  Rng r(3);
  std::vector<int> us[3], is[3];
  for (int u = 0; u < 60; ++u)
    for (int i = (u % 3) * 10; i < (u % 3) * 10 + 10; ++i) {
      const double p = r.uniform();
      const int split = p < 0.15 ? 1 : p < 0.3 ? 2 : 0;
      us[split].push_back(u);
      is[split].push_back(i);
    }
  const auto make = [&](int s) { return data::Interactions::fromTriplets(60, 30, us[s], is[s]); };
  return {make(0), make(1), make(2)};
}

/// 30 users walking a cycle over 10 items: the next item follows from the last.
struct SequenceData {
  data::Sequences full;
  data::SequenceSplit split;
  data::SequenceSamples train;
  Index items = 10;
};

SequenceData sequenceData() {
  std::vector<std::vector<int>> lists;
  for (int u = 0; u < 30; ++u) {
    std::vector<int> s;
    for (int j = 0; j < 8 + u % 3; ++j) s.push_back(1 + (u + j) % 10);
    lists.push_back(s);
  }
  SequenceData d;
  d.full = data::Sequences::fromLists(lists);
  d.split = data::leaveLastOut(d.full);
  d.train = data::prefixSamples(d.split.train);
  return d;
}

/// The lines of `file` between "// snippet <name> begin" and "// snippet <name> end", trimmed.
std::vector<std::string> snippetInTest(const std::string& name) {
  std::ifstream in(recdiff::test::sourceDir() / "tests" / "models" / "usage_snippets_test.cpp");
  std::vector<std::string> out;
  bool on = false;
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(' ');
    const std::string t = first == std::string::npos ? "" : line.substr(first);
    if (t == "// snippet " + name + " end") break;
    if (on) out.push_back(t);
    if (t == "// snippet " + name + " begin") on = true;
  }
  return out;
}

/// The "///   " lines after the header's "Usage (compiled in …, snippet <name>):" line, trimmed.
std::vector<std::string> snippetInHeader(const std::string& header, const std::string& name) {
  std::ifstream in(recdiff::test::sourceDir() / "include" / "recdiff" / "models" / header);
  std::vector<std::string> out;
  bool on = false;
  for (std::string line; std::getline(in, line);) {
    if (on) {
      if (line.rfind("///   ", 0) != 0) break;
      const std::string rest = line.substr(6);
      const auto first = rest.find_first_not_of(' ');
      out.push_back(first == std::string::npos ? "" : rest.substr(first));
    }
    if (line == "/// Usage (compiled in tests/models/usage_snippets_test.cpp, snippet " + name + "):") on = true;
  }
  return out;
}

DiffRecOptions tinyDiffRec() {
  DiffRecOptions o;
  o.dims = {16};
  o.steps = 5;
  o.batchSize = 20;
  return o;
}

}  // namespace

TEST_CASE("Usage of models/diffrec.hpp", "[models][usage]") {
  const auto [train, valid, test] = interactionData();
  const DiffRecOptions options = tinyDiffRec();
  const std::vector<Index> users{0, 1, 2};
  const std::vector<Index> ks{5, 10};
  // snippet diffrec begin
  DiffRec<> model(options, train.items());
  Rng rng(1);
  for (int epoch = 0; epoch < 3; ++epoch) model.trainEpoch(train, rng);
  RowMatrix<float> scores = model.scores(train, rng);                     // [users × items]
  auto top = model.recommend(train, users, 5, true, rng);                 // ids and scores, history filtered
  metrics::MetricTable table = model.evaluate(train, valid, test, ks, rng);  // valid.recall@20, test.ndcg@10, …
  // snippet diffrec end
  CHECK(scores.rows() == train.users());
  CHECK(top.ids.rows() == 3);
  CHECK(table.get("test.recall@10").has_value());
}

TEST_CASE("Usage of models/ldiffrec.hpp", "[models][usage]") {
  const auto [train, valid, test] = interactionData();
  RowMatrix<float> itemEmbeddings(30, 2);
  for (Index i = 0; i < 30; ++i) itemEmbeddings.row(i) << static_cast<float>(i / 10), static_cast<float>(i % 10) * 0.01f;
  LDiffRecOptions options;
  options.inDims = {8};
  options.mlpDims = {16};
  options.steps = 5;
  options.batchSize = 20;
  const std::vector<Index> ks{5};
  Rng rng(2);
  // snippet ldiffrec begin
  const Eigen::ArrayXi labels = clusterItems(itemEmbeddings, 2, rng);
  LDiffRec<> model(options, labels, 1);
  model.trainEpoch(train, rng);
  auto table = model.evaluate(train, valid, test, ks, rng);
  // snippet ldiffrec end
  CHECK(table.get("valid.ndcg@5").has_value());
}

TEST_CASE("Usage of models/tdiffrec.hpp", "[models][usage]") {
  const InteractionData split = interactionData();
  const DiffRecOptions options = tinyDiffRec();
  const std::vector<Index> ks{5};
  Rng rng(4);
  // snippet tdiffrec begin
  const auto weighted = timeWeighted(split.train, {.wMin = 0.1, .wMax = 1.0}, StoredOrder::Chronological);  // .npy splits
  DiffRec<> model(options, weighted.items());
  model.trainEpoch(weighted, rng);
  auto table = model.evaluate(weighted, split.valid, split.test, ks, rng);
  // snippet tdiffrec end
  CHECK(table.get("test.recall@5").has_value());
}

TEST_CASE("Usage of models/dreamrec.hpp", "[models][usage]") {
  const SequenceData d = sequenceData();
  DreamRecOptions options;
  options.hidden = 8;
  options.maxLength = 4;
  options.steps = 10;
  options.batchSize = 16;
  const std::uint64_t seed = 5;
  const std::vector<Index> ks{1, 5};
  data::HistoryBatch batch;
  const std::vector<Index> rows{0, 1, 2};
  // snippet dreamrec begin
  DreamRec<> model(options, d.items, seed);
  Rng rng(seed);
  for (int epoch = 1; epoch <= 3; ++epoch) { Rng e = rng.fork(epoch); model.trainEpoch(d.split.train, d.train, e); }
  metrics::MetricTable m = model.evaluate(d.full, d.split.test, ks, rng);  // hr@K, ndcg@K (NextItemProtocol)
  data::fillHistoryBatch(d.full, d.split.test, rows, model.padding(), batch);
  auto top = model.recommend(batch, 10, true, rng);                         // ids and scores, history filtered
  // snippet dreamrec end
  CHECK(m.get("hr@5").has_value());
  CHECK(top.ids.rows() == 3);
}

TEST_CASE("Usage of models/diffurec.hpp", "[models][usage]") {
  const SequenceData d = sequenceData();
  DiffuRecOptions options;
  options.hidden = 8;
  options.blocks = 1;
  options.heads = 2;
  options.maxLength = 5;
  options.steps = 4;
  options.batchSize = 16;
  const std::uint64_t seed = 6;
  const std::vector<Index> ks{1, 5};
  data::HistoryBatch batch;
  const std::vector<Index> rows{0, 1, 2};
  // snippet diffurec begin
  DiffuRec<> model(options, d.items, seed);
  Rng rng(seed);
  for (int epoch = 1; epoch <= 3; ++epoch) { Rng e = rng.fork(epoch); model.trainEpoch(d.split.train, d.train, e); }
  metrics::MetricTable m = model.evaluate(d.full, d.split.test, ks, rng);  // hr@K, ndcg@K (NextItemProtocol)
  data::fillHistoryBatch(d.full, d.split.test, rows, model.padding(), batch);
  auto top = model.recommend(batch, 10, true, rng);                         // ids and scores, history filtered
  // snippet diffurec end
  CHECK(m.get("ndcg@5").has_value());
  CHECK(top.ids.rows() == 3);
}

TEST_CASE("Usage of models/next_item_evaluation.hpp", "[models][usage]") {
  const data::Sequences full = sequenceData().full;
  DreamRecOptions options;
  options.hidden = 8;
  options.maxLength = 4;
  options.steps = 5;
  DreamRec<> model(options, 10, 1);
  Rng rng(7);
  // snippet next_item_evaluation begin
  const auto split = data::leaveLastOut(full);
  auto m = evaluateNextItem(full, split.test, std::vector<Index>{5, 10}, NextItemProtocol{}, model.padding(),
                            model.columns(), [&](const data::HistoryBatch& b, RowMatrix<float>& scores) {
                              model.scores(b, scores, rng);  // [b × columns]
                            });
  // snippet next_item_evaluation end
  CHECK(m.ks.size() == 2);
}

/// The models/ headers with a usage comment, and their snippet names above.
const std::vector<std::pair<std::string, std::string>> kSnippets{{"diffrec.hpp", "diffrec"},
                                                                 {"ldiffrec.hpp", "ldiffrec"},
                                                                 {"tdiffrec.hpp", "tdiffrec"},
                                                                 {"dreamrec.hpp", "dreamrec"},
                                                                 {"diffurec.hpp", "diffurec"},
                                                                 {"next_item_evaluation.hpp", "next_item_evaluation"}};

TEST_CASE("The models' header usage comments are exactly the compiled snippets", "[models][usage]") {
  for (const auto& [header, name] : kSnippets) {
    CAPTURE(header);
    const auto inTest = snippetInTest(name);
    REQUIRE(inTest.size() >= 3);
    CHECK(snippetInHeader(header, name) == inTest);
  }
}

TEST_CASE("Every usage comment of a models/ header is one of the compiled snippets", "[models][usage]") {
  // A new header (or a new usage block) cannot slip in uncompiled: every "/// Usage" line of every
  // include/recdiff/models/*.hpp must be the compiled form, for a header listed in kSnippets.
  Index headers = 0, usages = 0;
  for (const auto& entry : std::filesystem::directory_iterator(recdiff::test::sourceDir() / "include" / "recdiff" / "models")) {
    if (entry.path().extension() != ".hpp") continue;
    ++headers;
    const std::string header = entry.path().filename().string();
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("/// Usage", 0) != 0) continue;
      ++usages;
      CAPTURE(header, line);
      const auto listed = std::find_if(kSnippets.begin(), kSnippets.end(), [&](const auto& s) { return s.first == header; });
      REQUIRE(listed != kSnippets.end());
      CHECK(line == "/// Usage (compiled in tests/models/usage_snippets_test.cpp, snippet " + listed->second + "):");
    }
  }
  CHECK(headers >= 10);
  CHECK(usages == static_cast<Index>(kSnippets.size()));
}
