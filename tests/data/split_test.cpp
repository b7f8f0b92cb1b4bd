// Splits: seeded random ratio, global and per-user temporal, leave-one-out.
#include <set>
#include <vector>

#include <recdiff/data/raw_interactions.hpp>
#include <recdiff/data/split.hpp>

#include "support/catch.hpp"
#include "support/test_env.hpp"

namespace rd = recdiff::data;
using recdiff::Index;

namespace {
/// users × itemsPerUser interactions; timestamps t = 100·user + position (so user 0 is entirely earliest).
rd::Interactions grid(int users, int itemsPerUser) {
  rd::RawInteractions raw;
  raw.source = "grid";
  for (int u = 0; u < users; ++u)
    for (int k = 0; k < itemsPerUser; ++k) {
      raw.users.push_back(u);
      raw.items.push_back((u + 3 * k) % (itemsPerUser * 2));
      raw.ratings.push_back(1.0f);
      raw.timestamps.push_back(100 * u + k);
    }
  return rd::buildInteractions(raw);
}

std::set<std::pair<Index, int>> pairsOf(const rd::Interactions& x) {
  std::set<std::pair<Index, int>> s;
  for (Index u = 0; u < x.users(); ++u)
    for (int i : x.rowItems(u)) s.emplace(u, i);
  return s;
}

void requirePartition(const rd::Interactions& x, const rd::Split& s) {
  CHECK(s.train.nnz() + s.valid.nnz() + s.test.nnz() == x.nnz());
  auto all = pairsOf(s.train);
  for (const auto& p : pairsOf(s.valid)) CHECK(all.insert(p).second);
  for (const auto& p : pairsOf(s.test)) CHECK(all.insert(p).second);
  CHECK(all == pairsOf(x));
  for (const auto* part : {&s.train, &s.valid, &s.test}) {
    CHECK(part->users() == x.users());
    CHECK(part->items() == x.items());
    CHECK(part->userIds().rawIds() == x.userIds().rawIds());
  }
}
}  // namespace

TEST_CASE("Random splits partition the interactions and depend only on the seed", "[data][split]") {
  const auto x = grid(20, 10);
  for (const auto scope : {rd::SplitScope::PerUser, rd::SplitScope::Global}) {
    recdiff::Rng a(recdiff::test::seed()), b(recdiff::test::seed()), c(recdiff::test::seed() + 1);
    const auto s1 = rd::randomSplit(x, {0.7, 0.1, 0.2}, a, scope);
    const auto s2 = rd::randomSplit(x, {0.7, 0.1, 0.2}, b, scope);
    const auto s3 = rd::randomSplit(x, {0.7, 0.1, 0.2}, c, scope);
    requirePartition(x, s1);
    CHECK(pairsOf(s1.test) == pairsOf(s2.test));
    CHECK(pairsOf(s1.test) != pairsOf(s3.test));
    CHECK(s1.train.nnz() == 140);
    CHECK(s1.valid.nnz() == 20);
    if (scope == rd::SplitScope::PerUser)
      for (Index u = 0; u < x.users(); ++u) CHECK(s1.test.rowSize(u) == 2);
  }
  recdiff::Rng r(1);
  CHECK_THROWS_AS(rd::randomSplit(x, {-1.0, 1.0, 1.0}, r), std::invalid_argument);
}

TEST_CASE("Temporal splits cut by time globally or per user", "[data][split]") {
  const auto x = grid(10, 10);
  const auto global = rd::temporalSplit(x, {0.7, 0.1, 0.2}, rd::SplitScope::Global);
  requirePartition(x, global);
  // Users 0-6 are the earliest 70 interactions, user 7 is validation, users 8 and 9 are test.
  CHECK(global.train.rowSize(6) == 10);
  CHECK(global.valid.rowSize(7) == 10);
  CHECK(global.test.rowSize(9) == 10);
  CHECK(global.test.rowSize(0) == 0);
  const auto perUser = rd::temporalSplit(x, {0.7, 0.1, 0.2}, rd::SplitScope::PerUser);
  requirePartition(x, perUser);
  for (Index u = 0; u < x.users(); ++u) {
    CHECK(perUser.train.rowSize(u) == 7);
    CHECK(perUser.valid.rowSize(u) == 1);
    CHECK(perUser.test.rowSize(u) == 2);
    CHECK(perUser.test.rowTimestamps(u)[0] == 100 * u + 8);
  }
  const std::vector<int> uu{0}, ii{0};
  CHECK_THROWS_AS(rd::temporalSplit(rd::Interactions::fromPairs(1, 1, uu, ii), {}, rd::SplitScope::Global), std::invalid_argument);
}

TEST_CASE("Leave-one-out holds out the last two interactions of each user", "[data][split]") {
  const std::vector<int> u{0, 0, 0, 0, 1, 1}, i{4, 1, 3, 0, 2, 1};
  const auto x = rd::Interactions::fromPairs(2, 5, u, i);
  const auto s = rd::leaveOneOutSplit(x);
  requirePartition(x, s);
  CHECK(s.test.rowItems(0)[0] == 0);
  CHECK(s.valid.rowItems(0)[0] == 3);
  CHECK(s.train.rowSize(0) == 2);
  CHECK(s.train.rowSize(1) == 2);  // fewer than 3 interactions: all in train
  CHECK(s.test.rowSize(1) == 0);
}
