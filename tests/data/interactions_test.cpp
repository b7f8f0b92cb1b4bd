// Interactions: orientation, stored order versus the sorted CSR, id maps, shape changes and argument checks.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <recdiff/data/interactions.hpp>

#include "support/catch.hpp"

namespace rd = recdiff::data;

TEST_CASE("Interactions keep users as rows and items as columns with stored order and a sorted CSR", "[data][interactions]") {
  const std::vector<int> u{1, 0, 1, 1}, i{3, 2, 0, 2};
  const std::vector<float> v{0.5f, 1.0f, 2.0f, 3.0f};
  const std::vector<std::int64_t> t{30, 10, 20, 40};
  const auto x = rd::Interactions::fromTriplets(3, 4, u, i, v, {}, t);
  CHECK(x.users() == 3);
  CHECK(x.items() == 4);
  CHECK(x.nnz() == 4);
  CHECK(x.matrix().rows() == 3);
  CHECK(x.matrix().cols() == 4);
  CHECK(x.hasTimestamps());
  CHECK_FALSE(x.hasRatings());
  CHECK(x.rowRatings(1).empty());
  const auto row = x.rowItems(1);
  CHECK(std::vector<int>(row.begin(), row.end()) == std::vector<int>{3, 0, 2});
  CHECK(x.rowTimestamps(1)[2] == 40);
  CHECK(x.rowSize(2) == 0);
  CHECK(x.matrix().coeff(1, 3) == 0.5f);
  CHECK(x.matrix().coeff(1, 0) == 2.0f);
  const int* inner = x.matrix().innerIndexPtr() + x.matrix().outerIndexPtr()[1];
  CHECK(inner[0] == 0);
  CHECK(inner[1] == 2);
  CHECK(inner[2] == 3);
  CHECK(x.contains(1, 3));
  CHECK_FALSE(x.contains(0, 3));
  CHECK(x.itemCounts()(2) == 2);
  CHECK(x.userCounts()(1) == 3);
  CHECK_THROWS_AS(x.rowItems(3), std::out_of_range);
  CHECK_THROWS_AS(x.itemTitle(4), std::out_of_range);
}

TEST_CASE("Interactions reject bad indices and mismatched arrays", "[data][interactions]") {
  const std::vector<int> u{0, 1}, i{0, 5};
  CHECK_THROWS_AS(rd::Interactions::fromPairs(2, 5, u, i), std::invalid_argument);
  CHECK_THROWS_AS(rd::Interactions::fromPairs(1, 6, u, i), std::invalid_argument);
  const std::vector<int> one{0};
  CHECK_THROWS_AS(rd::Interactions::fromPairs(2, 6, u, one), std::invalid_argument);
  const std::vector<int> dupU{0, 0}, dupI{1, 1};
  CHECK_THROWS_AS(rd::Interactions::fromPairs(1, 2, dupU, dupI, rd::DuplicateRule::Error), std::invalid_argument);
  CHECK(rd::Interactions::fromPairs(1, 2, dupU, dupI).nnz() == 1);
}

TEST_CASE("IdMap maps raw ids both ways and refuses unknown ids", "[data][interactions]") {
  auto m = rd::IdMap::fromRaw({100, 7, 42});
  CHECK(m.dense(7) == 1);
  CHECK(m.raw(2) == 42);
  CHECK_FALSE(m.find(8));
  CHECK_THROWS_AS(m.dense(8), std::out_of_range);
  CHECK_THROWS_AS(m.raw(3), std::out_of_range);
  CHECK(m.insert(7) == 1);
  CHECK(m.insert(8) == 3);
  CHECK_THROWS_AS(rd::IdMap::fromRaw({1, 1}), std::invalid_argument);
  auto id = rd::IdMap::identity(3);
  CHECK(id.dense(2) == 2);
  CHECK_FALSE(id.find(3));
  CHECK(id.insert(10) == 3);
  CHECK(id.dense(10) == 3);
}

TEST_CASE("withShape widens and withValues reweights while keeping stored order", "[data][interactions]") {
  const std::vector<int> u{0, 0, 1}, i{2, 0, 1};
  auto x = rd::Interactions::fromPairs(2, 3, u, i);
  x.setItemTitles({"a", "b", "c"});
  x.setItemIds(rd::IdMap::fromRaw({10, 20, 30}));
  const auto w = x.withShape(3, 5);
  CHECK(w.users() == 3);
  CHECK(w.items() == 5);
  CHECK(w.nnz() == 3);
  CHECK(w.rowSize(2) == 0);
  CHECK(w.itemTitle(4).empty());
  CHECK(w.itemIds().raw(3) == 31);
  CHECK_THROWS_AS(x.withShape(1, 3), std::invalid_argument);
  const auto r = x.withValues({0.1f, 0.2f, 0.3f});
  CHECK(r.matrix().coeff(0, 2) == 0.1f);
  CHECK(r.matrix().coeff(0, 0) == 0.2f);
  CHECK_THROWS_AS(x.withValues({1.0f}), std::invalid_argument);
  CHECK_THROWS_AS(x.setItemTitles({"a"}), std::invalid_argument);
}

TEST_CASE("Repeated pairs in several rows resolve by each rule", "[data][interactions]") {
  // Row 0: items 1 2 1 3 1 (values 1..5); row 1: 4 4; row 2: 0.
  const std::vector<int> u{0, 0, 0, 0, 0, 1, 1, 2}, i{1, 2, 1, 3, 1, 4, 4, 0};
  const std::vector<float> v{1, 2, 3, 4, 5, 6, 7, 8};
  const auto last = rd::Interactions::fromTriplets(3, 5, u, i, v);
  CHECK(std::vector<int>(last.rowItems(0).begin(), last.rowItems(0).end()) == std::vector<int>{2, 3, 1});
  CHECK(std::vector<float>(last.rowValues(0).begin(), last.rowValues(0).end()) == std::vector<float>{2, 4, 5});
  CHECK(last.rowValues(1)[0] == 7.0f);
  CHECK(last.nnz() == 5);
  const auto first = rd::Interactions::fromTriplets(3, 5, u, i, v, {}, {}, rd::DuplicateRule::KeepFirst);
  CHECK(std::vector<int>(first.rowItems(0).begin(), first.rowItems(0).end()) == std::vector<int>{1, 2, 3});
  CHECK(first.rowValues(0)[0] == 1.0f);
  const auto sum = rd::Interactions::fromTriplets(3, 5, u, i, v, {}, {}, rd::DuplicateRule::Sum);
  CHECK(sum.matrix().coeff(0, 1) == 9.0f);
  CHECK(sum.matrix().coeff(1, 4) == 13.0f);
  CHECK(sum.matrix().coeff(2, 0) == 8.0f);
}

TEST_CASE("fromCsr takes CSR arrays in stored order and builds what fromPairs builds", "[data][interactions]") {
  const std::vector<recdiff::Index> ptr{0, 2, 2, 5};
  const std::vector<int> items{3, 1, 4, 0, 2};
  const auto x = rd::Interactions::fromCsr(3, 5, ptr, items);
  const auto y = rd::Interactions::fromPairs(3, 5, std::vector<int>{0, 0, 2, 2, 2}, items);
  CHECK(std::vector<int>(x.itemIndices().begin(), x.itemIndices().end()) == items);
  CHECK(std::vector<recdiff::Index>(x.rowPointers().begin(), x.rowPointers().end()) == ptr);
  CHECK(x.matrix().isApprox(y.matrix()));
  CHECK(x.matrix().coeff(2, 4) == 1.0f);
  CHECK(x.userIds().size() == 3);
  CHECK(x.itemIds().size() == 5);
  const auto w = rd::Interactions::fromCsr(3, 5, ptr, items, {0.5f, 1.5f, 2.5f, 3.5f, 4.5f});
  CHECK(w.matrix().coeff(0, 1) == 1.5f);
  CHECK(w.matrix().coeff(2, 0) == 3.5f);
  const auto message = [&](std::vector<recdiff::Index> p, std::vector<int> i, std::vector<float> v = {}) {
    try {
      rd::Interactions::fromCsr(3, 5, std::move(p), std::move(i), std::move(v));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(message({0, 2, 2, 5}, {3, 1, 4, 0, 4}), Catch::Contains("row 2 has item 4 twice"));
  CHECK_THAT(message({0, 2, 2, 5}, {3, 1, 4, 0, 5}), Catch::Contains("row 2 has item 5 outside [0, 5)"));
  CHECK_THAT(message({0, 3, 2, 5}, items), Catch::Contains("rowPtr decreases at row 1"));
  CHECK_THAT(message({0, 2, 5}, items), Catch::Contains("users + 1 = 4 entries"));
  CHECK_THAT(message({0, 2, 2, 4}, items), Catch::Contains("from 0 to nnz = 5"));
  CHECK_THAT(message(ptr, items, {1.0f}), Catch::Contains("values has 1 entries, expected 5"));
}

TEST_CASE("The sorted CSR is right for unsorted rows across the counting sort's blocks", "[data][interactions]") {
  // Rows 0 and 1 (4.1 M entries) share one block of at most 2^22, row 2 is empty, row 3 (4.3 M) is a block
  // of one row longer than a block; row 4 is already ascending. Values follow their items.
  const std::vector<recdiff::Index> sizes{2'100'000, 2'000'000, 0, 4'300'000, 1'000};
  const recdiff::Index items = 4'400'000;
  std::vector<recdiff::Index> ptr{0};
  std::vector<int> index;
  std::vector<float> values;
  std::uint64_t state = 12345;
  for (const recdiff::Index n : sizes) {
    const auto start = index.size();
    for (recdiff::Index k = 0; k < n; ++k) index.push_back(static_cast<int>(k * (items / n)));  // distinct
    if (n != 1'000)
      for (auto k = index.size() - 1; k > start; --k) {  // a seeded shuffle of the row
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        std::swap(index[k], index[start + static_cast<std::size_t>((state >> 33) % (k - start + 1))]);
      }
    ptr.push_back(static_cast<recdiff::Index>(index.size()));
  }
  for (const int i : index) values.push_back(static_cast<float>(i % 1000) + 0.25f);
  const auto x = rd::Interactions::fromCsr(5, items, ptr, index, values);
  const auto& m = x.matrix();
  REQUIRE(m.isCompressed());
  std::size_t wrong = 0;
  for (recdiff::Index u = 0; u < 5; ++u) {
    std::vector<int> expected(index.begin() + ptr[static_cast<std::size_t>(u)],
                              index.begin() + ptr[static_cast<std::size_t>(u) + 1]);
    std::sort(expected.begin(), expected.end());
    CHECK(m.outerIndexPtr()[u] == ptr[static_cast<std::size_t>(u)]);
    for (std::size_t q = 0; q < expected.size(); ++q) {
      const auto p = static_cast<std::size_t>(m.outerIndexPtr()[u]) + q;
      if (m.innerIndexPtr()[p] != expected[q] || m.valuePtr()[p] != static_cast<float>(expected[q] % 1000) + 0.25f)
        ++wrong;
    }
  }
  CHECK(wrong == 0);
  CHECK(std::vector<int>(x.rowItems(3).begin(), x.rowItems(3).begin() + 3) ==
        std::vector<int>(index.begin() + ptr[3], index.begin() + ptr[3] + 3));  // stored order kept
}
