// Sequences: samples, leave-last-out, truncation and padding, and the batchers.
#include <set>
#include <vector>

#include <recdiff/data/batching.hpp>
#include <recdiff/data/sequences.hpp>

#include "support/catch.hpp"
#include "support/test_env.hpp"

namespace rd = recdiff::data;
using recdiff::Index;

TEST_CASE("Prefix and last samples follow DiffuRec's leave-last-out protocol", "[data][sequences]") {
  const auto seq = rd::Sequences::fromLists({{5, 6, 7, 8, 9}, {1, 2}, {3, 4, 5}});
  const auto split = rd::leaveLastOut(seq);
  CHECK(split.train.users() == 3);
  CHECK(split.train.length(0) == 3);
  CHECK(split.train.length(1) == 2);  // too short: all in train
  CHECK(split.valid.size() == 2);
  CHECK(split.test.end[0] == 4);
  CHECK(split.valid.end[1] == 1);
  const auto prefixes = rd::prefixSamples(split.train);
  CHECK(prefixes.size() == 2 + 1 + 0);
  const auto last = rd::lastSamples(seq);
  CHECK(last.size() == 3);
  CHECK(last.end[0] == 4);
}

TEST_CASE("History batches truncate to the most recent items and pad left or right", "[data][sequences]") {
  const auto seq = rd::Sequences::fromLists({{5, 6, 7, 8, 9}, {1, 2}});
  rd::SequenceSamples s;
  s.user = {0, 1, 0};
  s.end = {4, 1, 1};
  const std::vector<Index> rows{0, 1, 2};
  rd::HistoryBatch b;
  rd::fillHistoryBatch(seq, s, rows, {.maxLen = 3, .side = rd::Padding::Left, .padId = 0}, b);
  rd::IdMatrix left(3, 3);
  left << 6, 7, 8,  //
      0, 0, 1,      //
      0, 0, 5;
  CHECK(b.history == left);
  CHECK(b.mask.row(1).sum() == 1.0f);
  CHECK(b.mask(1, 2) == 1.0f);
  CHECK(b.targets(0) == 9);
  CHECK(b.targets(1) == 2);
  CHECK(b.lengths(0) == 3);
  rd::fillHistoryBatch(seq, s, rows, {.maxLen = 3, .side = rd::Padding::Right, .padId = 10}, b);
  rd::IdMatrix right(3, 3);
  right << 6, 7, 8,  //
      1, 10, 10,     //
      5, 10, 10;
  CHECK(b.history == right);
  CHECK(b.mask(1, 0) == 1.0f);
  CHECK(b.mask(1, 1) == 0.0f);
  s.end[2] = 5;
  CHECK_THROWS_AS(rd::fillHistoryBatch(seq, s, rows, {}, b), std::invalid_argument);
}

TEST_CASE("sequencesFromInteractions shifts items by one to free the padding id", "[data][sequences]") {
  const std::vector<int> u{0, 0, 1}, i{2, 0, 1};
  const auto x = rd::Interactions::fromPairs(2, 3, u, i);
  const auto seq = rd::sequencesFromInteractions(x);
  CHECK(seq.sequence(0)[0] == 3);
  CHECK(seq.sequence(0)[1] == 1);
  CHECK(seq.maxItem() == 3);
}

TEST_CASE("UserBatcher visits every user once per epoch and rebuilds dense rows in a reused buffer", "[data][batching]") {
  std::vector<int> u, i;
  for (int a = 0; a < 23; ++a)
    for (int b = 0; b < 7; ++b)
      if ((a * 7 + b) % 3 == 0) {
        u.push_back(a);
        i.push_back(b);
      }
  const auto x = rd::Interactions::fromPairs(23, 7, u, i);
  rd::UserBatcher batches(x, 5);
  CHECK(batches.batches() == 5);
  recdiff::Rng rng(recdiff::test::seed());
  for (int epoch = 0; epoch < 2; ++epoch) {
    auto epochRng = rng.fork(static_cast<std::uint64_t>(epoch));
    batches.startEpoch(epochRng);
    std::multiset<Index> seen;
    const float* fullBuffer = nullptr;
    for (Index b = 0; b < batches.batches(); ++b) {
      const auto& rows = batches.rows(b);
      const auto users = batches.users(b);
      CHECK(rows.rows() == static_cast<Index>(users.size()));
      if (users.size() == 5) {
        if (fullBuffer != nullptr) CHECK(rows.data() == fullBuffer);
        fullBuffer = rows.data();
      }
      for (std::size_t r = 0; r < users.size(); ++r) {
        seen.insert(users[r]);
        CHECK(rows.row(static_cast<Index>(r)) == x.matrix().row(users[r]).toDense());
      }
    }
    CHECK(seen.size() == 23);
    CHECK(std::set<Index>(seen.begin(), seen.end()).size() == 23);
  }
  // Same seed, same order.
  rd::UserBatcher again(x, 5), other(x, 5);
  recdiff::Rng r1(3), r2(3);
  again.startEpoch(r1);
  other.startEpoch(r2);
  CHECK(std::vector<Index>(again.users(0).begin(), again.users(0).end()) ==
        std::vector<Index>(other.users(0).begin(), other.users(0).end()));
  rd::UserBatcher drop(x, {.batchSize = 5, .dropLast = true});
  CHECK(drop.batches() == 4);
  CHECK_THROWS_AS(drop.users(4), std::invalid_argument);
}

TEST_CASE("SequenceBatcher yields every sample once per epoch", "[data][batching]") {
  const auto seq = rd::Sequences::fromLists({{1, 2, 3, 4}, {5, 6, 7}});
  const auto samples = rd::prefixSamples(seq);
  rd::SequenceBatcher batches(seq, samples, {.batchSize = 2}, {.maxLen = 2});
  recdiff::Rng rng(recdiff::test::seed());
  batches.startEpoch(rng);
  std::multiset<int> targets;
  for (Index b = 0; b < batches.batches(); ++b) {
    const auto& batch = batches.batch(b);
    for (Index r = 0; r < batch.targets.size(); ++r) targets.insert(batch.targets(r));
  }
  CHECK(targets == std::multiset<int>{2, 3, 4, 6, 7});
}
