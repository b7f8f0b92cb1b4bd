// Masked top-K: against the std::partial_sort oracle, masks through CSR, ties, NaN and short rows.
#include <cmath>
#include <limits>
#include <vector>

#include <recdiff/data/interactions.hpp>
#include <recdiff/metrics/ranking.hpp>
#include <recdiff/metrics/topk.hpp>
#include <recdiff/random.hpp>

#include "support/catch.hpp"
#include "support/test_env.hpp"

namespace rm = recdiff::metrics;
using recdiff::Index;

namespace {
recdiff::data::Interactions randomHistory(Index users, Index items, double density, recdiff::Rng& rng) {
  std::vector<int> u, i;
  for (Index a = 0; a < users; ++a)
    for (Index b = 0; b < items; ++b)
      if (rng.uniform() < density) {
        u.push_back(static_cast<int>(a));
        i.push_back(static_cast<int>(b));
      }
  return recdiff::data::Interactions::fromPairs(users, items, u, i);
}
}  // namespace

TEMPLATE_TEST_CASE("topK equals the partial_sort reference with history and padding masks", "[metrics][topk]", float, double) {
  recdiff::Rng rng(recdiff::test::seed());
  for (const auto& [users, items, k] : std::vector<std::tuple<Index, Index, Index>>{{1, 1, 1}, {7, 13, 5}, {40, 300, 20}, {5, 30, 30}}) {
    recdiff::RowMatrix<TestType> s(users, items);
    rng.fillNormal(s);
    // Quantise some rows to force ties.
    for (Index j = 0; j < items; ++j) s(0, j) = std::round(s(0, j));
    const auto h1 = randomHistory(users, items, 0.3, rng);
    const auto h2 = randomHistory(users, items, 0.1, rng);
    for (const rm::TopKOptions& o :
         {rm::TopKOptions{}, rm::TopKOptions{.exclude = {&h1.matrix()}}, rm::TopKOptions{.exclude = {&h1.matrix(), &h2.matrix()}, .excludeColumn = 0}}) {
      rm::TopK<TestType> fast, ref;
      rm::topK(s, k, fast, o);
      rm::topKReference(s, k, ref, o);
      CHECK(fast.ids == ref.ids);
      CHECK(fast.scores == ref.scores);
      for (Index r = 0; r < users; ++r)
        for (Index q = 0; q < k; ++q) {
          const int id = fast.ids(r, q);
          if (id < 0) continue;
          for (const auto* m : o.exclude) CHECK_FALSE(recdiff::data::Interactions::Matrix(*m).coeff(r, id) != 0.0f);
          CHECK(id != o.excludeColumn);
        }
    }
  }
}

TEST_CASE("topK breaks ties by item index ranks NaN last and pads short rows", "[metrics][topk]") {
  recdiff::RowMatrix<float> s(1, 5);
  s << 1.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f, 1.0f, -std::numeric_limits<float>::infinity();
  rm::TopK<float> top;
  rm::topK(s, 5, top);
  CHECK(top.ids(0, 0) == 2);
  CHECK(top.ids(0, 1) == 0);
  CHECK(top.ids(0, 2) == 3);
  CHECK(top.ids(0, 3) == 4);
  CHECK(top.ids(0, 4) == 1);
  const std::vector<int> u{0, 0, 0}, i{0, 2, 3};
  const auto h = recdiff::data::Interactions::fromPairs(1, 5, u, i);
  rm::topK(s, 3, top, {.exclude = {&h.matrix()}});
  CHECK(top.ids(0, 0) == 4);
  CHECK(top.ids(0, 1) == 1);
  CHECK(top.ids(0, 2) == -1);
  CHECK(std::isinf(top.scores(0, 2)));
}

TEST_CASE("topK maps score rows to mask rows through users and rejects bad options", "[metrics][topk]") {
  recdiff::RowMatrix<float> s(2, 4);
  s << 4, 3, 2, 1,  //
      4, 3, 2, 1;
  const std::vector<int> u{2, 3}, i{0, 1};
  const auto h = recdiff::data::Interactions::fromPairs(4, 4, u, i);
  const std::vector<Index> users{3, 2};
  rm::TopK<float> top;
  rm::topK(s, 1, top, {.exclude = {&h.matrix()}, .users = users});
  CHECK(top.ids(0, 0) == 0);  // user 3 masked item 1 only
  CHECK(top.ids(1, 0) == 1);  // user 2 masked item 0
  const std::vector<Index> bad{3, 9};
  CHECK_THROWS_AS(rm::topK(s, 1, top, {.exclude = {&h.matrix()}, .users = bad}), std::invalid_argument);
  CHECK_THROWS_AS(rm::topK(s, 0, top), std::invalid_argument);
  CHECK_THROWS_AS(rm::topK(s, 1, top, {.excludeColumn = 4}), std::invalid_argument);
  const auto wide = recdiff::data::Interactions::fromPairs(4, 5, u, i);
  CHECK_THROWS_AS(rm::topK(s, 1, top, {.exclude = {&wide.matrix()}}), std::invalid_argument);
}

TEMPLATE_TEST_CASE("topK and label ranks agree with the reference on NaN infinities signed zeros and ties", "[metrics][topk]", float,
                   double) {
  recdiff::Rng rng(recdiff::test::seed());
  const TestType inf = std::numeric_limits<TestType>::infinity();
  const TestType values[] = {std::numeric_limits<TestType>::quiet_NaN(), -inf, TestType(-1), TestType(-0.0), TestType(0), TestType(1),
                             TestType(2), inf};
  for (int trial = 0; trial < 60; ++trial) {
    const Index users = 1 + rng.uniformIndex(6), items = 1 + rng.uniformIndex(120), k = 1 + rng.uniformIndex(items + 3);
    recdiff::RowMatrix<TestType> s(users, items);
    for (Index r = 0; r < users; ++r)
      for (Index j = 0; j < items; ++j) s(r, j) = rng.uniform() < 0.5 ? values[rng.uniformIndex(8)] : static_cast<TestType>(rng.normal());
    const auto h = randomHistory(users, items, 0.2, rng);
    const rm::TopKOptions o{.exclude = {&h.matrix()}};
    rm::TopK<TestType> fast, ref, full;
    rm::topK(s, k, fast, o);
    rm::topKReference(s, k, ref, o);
    REQUIRE(fast.ids == ref.ids);
    for (Index r = 0; r < users; ++r)
      for (Index q = 0; q < k; ++q) {
        const TestType a = fast.scores(r, q), b = ref.scores(r, q);
        CHECK(((std::isnan(a) && std::isnan(b)) || a == b));
      }
    // Single-label rank = the label's position in the full masked ranking.
    rm::topKReference(s, items, full, o);
    std::vector<int> labels;
    std::vector<Index> expected;
    for (Index r = 0; r < users; ++r) {
      Index pos = 0;
      while (pos < items && full.ids(r, pos) >= 0 && rng.uniform() < 0.7) ++pos;
      if (pos == items || full.ids(r, pos) < 0) pos = 0;
      labels.push_back(full.ids(r, pos) < 0 ? 0 : full.ids(r, pos));
      expected.push_back(full.ids(r, pos) < 0 ? -1 : pos);
    }
    std::vector<int> masked;
    for (Index r = 0; r < users; ++r) {
      if (expected[static_cast<std::size_t>(r)] < 0) continue;
      rm::detail::maskedColumns(o, r, masked);
      CHECK(rm::labelRank(s, r, labels[static_cast<std::size_t>(r)], masked) == expected[static_cast<std::size_t>(r)]);
    }
  }
}
