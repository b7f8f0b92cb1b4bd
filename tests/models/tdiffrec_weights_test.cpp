#include <recdiff/models/diffrec.hpp>
#include <recdiff/models/tdiffrec.hpp>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "support/catch.hpp"

namespace {

using recdiff::Index;
using recdiff::data::Interactions;

/// Users 0 (3 interactions), 1 (1 interaction), 2 (none), 3 (5 interactions), stored in this order.
Interactions storedOrderData() {
  const std::vector<int> users{0, 0, 0, 1, 3, 3, 3, 3, 3};
  const std::vector<int> items{4, 1, 2, 0, 5, 3, 1, 0, 2};
  return Interactions::fromTriplets(4, 6, users, items);
}

}  // namespace

TEST_CASE("linearTimeWeights follows numpy linspace including one and zero points", "[models][tdiffrec]") {
  using recdiff::linearTimeWeights;
  CHECK(linearTimeWeights(0, {.wMin = 0.1, .wMax = 1.0}).empty());
  const auto one = linearTimeWeights(1, {.wMin = 0.1, .wMax = 1.0});
  REQUIRE(one.size() == 1);
  CHECK(one[0] == 0.1);  // np.linspace(0.1, 1.0, 1) == [0.1]
  const auto two = linearTimeWeights(2, {.wMin = 0.1, .wMax = 1.0});
  REQUIRE(two.size() == 2);
  CHECK(two[0] == 0.1);
  CHECK(two[1] == 1.0);
  // np.linspace(0.1, 1.0, 4) = [0.1, 0.4, 0.7, 1.0] (step 0.3)
  const auto four = linearTimeWeights(4, {.wMin = 0.1, .wMax = 1.0});
  REQUIRE(four.size() == 4);
  CHECK(four[0] == 0.1);
  CHECK(four[1] == Approx(0.4).margin(1e-15));
  CHECK(four[2] == Approx(0.7).margin(1e-15));
  CHECK(four[3] == 1.0);
  const auto flat = linearTimeWeights(3, {.wMin = 0.5, .wMax = 0.5});
  CHECK(flat == std::vector<double>{0.5, 0.5, 0.5});
}

TEST_CASE("timeWeighted weights a chronological stored order from oldest to newest", "[models][tdiffrec]") {
  const Interactions x = storedOrderData();
  const Interactions w = recdiff::timeWeighted(x, {.wMin = 0.2, .wMax = 1.0}, recdiff::StoredOrder::Chronological);
  REQUIRE(w.nnz() == x.nnz());
  // user 0: linspace(0.2, 1, 3) = 0.2, 0.6, 1.0 on items 4, 1, 2 in stored order
  const auto v0 = w.rowValues(0);
  REQUIRE(v0.size() == 3);
  CHECK(v0[0] == Approx(0.2f));
  CHECK(v0[1] == Approx(0.6f));
  CHECK(v0[2] == Approx(1.0f));
  // user 1: one interaction gets wMin
  REQUIRE(w.rowValues(1).size() == 1);
  CHECK(w.rowValues(1)[0] == Approx(0.2f));
  CHECK(w.rowSize(2) == 0);
  // user 3: step 0.2 over 5 interactions on items 5, 3, 1, 0, 2
  const std::vector<float> expected3{0.2f, 0.4f, 0.6f, 0.8f, 1.0f};
  const auto v3 = w.rowValues(3);
  REQUIRE(v3.size() == 5);
  for (std::size_t k = 0; k < 5; ++k) CHECK(v3[k] == Approx(expected3[k]));
  // the CSR matrix carries the weights at the right columns, same pattern as the input
  CHECK(w.matrix().coeff(0, 4) == Approx(0.2f));
  CHECK(w.matrix().coeff(0, 2) == Approx(1.0f));
  CHECK(w.matrix().coeff(3, 5) == Approx(0.2f));
  CHECK(w.matrix().coeff(3, 2) == Approx(1.0f));
  CHECK(w.matrix().nonZeros() == x.matrix().nonZeros());
  for (Index u = 0; u < x.users(); ++u)
    for (int i : x.rowItems(u)) CHECK(w.contains(u, i));
}

TEST_CASE("timeWeighted ranks by timestamps when the data has them", "[models][tdiffrec]") {
  // user 0 stored as items 0, 1, 2 with times 30, 10, 20 and user 1 with a tie (stable: stored order first).
  const std::vector<int> users{0, 0, 0, 1, 1, 1};
  const std::vector<int> items{0, 1, 2, 0, 1, 2};
  const std::vector<std::int64_t> times{30, 10, 20, 5, 5, 1};
  const Interactions x = Interactions::fromTriplets(2, 3, users, items, {}, {}, times);
  REQUIRE(x.hasTimestamps());
  const Interactions w = recdiff::timeWeighted(x, {.wMin = 0.1, .wMax = 1.0});  // no declaration needed
  CHECK(w.matrix().coeff(0, 1) == Approx(0.1f));   // t = 10, oldest
  CHECK(w.matrix().coeff(0, 2) == Approx(0.55f));  // t = 20
  CHECK(w.matrix().coeff(0, 0) == Approx(1.0f));   // t = 30, newest
  CHECK(w.matrix().coeff(1, 2) == Approx(0.1f));   // t = 1
  CHECK(w.matrix().coeff(1, 0) == Approx(0.55f));  // t = 5, stored first among the tie
  CHECK(w.matrix().coeff(1, 1) == Approx(1.0f));
}

TEST_CASE("timeWeighted refuses data without a known time order and bad weight ranges", "[models][tdiffrec]") {
  const Interactions x = storedOrderData();
  CHECK_THROWS_AS(recdiff::timeWeighted(x, {}), std::invalid_argument);
  CHECK_THROWS_WITH(recdiff::timeWeighted(x, {}, recdiff::StoredOrder::Unknown),
                    Catch::Contains("no timestamps") && Catch::Contains("Chronological"));
  CHECK_THROWS_AS(recdiff::timeWeighted(x, {.wMin = 0.0, .wMax = 1.0}, recdiff::StoredOrder::Chronological),
                  std::invalid_argument);
  CHECK_THROWS_AS(recdiff::timeWeighted(x, {.wMin = 1.0, .wMax = 0.5}, recdiff::StoredOrder::Chronological),
                  std::invalid_argument);
  CHECK_NOTHROW(recdiff::timeWeighted(x, {.wMin = 1.0, .wMax = 1.0}, recdiff::StoredOrder::Chronological));
}

TEST_CASE("DiffRec trains on time-weighted rows and masks the unweighted history", "[models][tdiffrec]") {
  const Interactions x = storedOrderData();
  const Interactions w = recdiff::timeWeighted(x, {}, recdiff::StoredOrder::Chronological);
  recdiff::DiffRecOptions options;
  options.dims = {8};
  options.batchSize = 3;
  options.steps = 5;
  recdiff::DiffRec<> model(options, w.items(), 2);
  recdiff::Rng rng(7);
  const recdiff::EpochResult r = model.trainEpoch(w, rng);
  CHECK(r.finite);
  CHECK(r.batches == 2);
  const std::vector<Index> users{0, 3};
  const auto top = model.recommend(w, users, 1, true, rng);
  // user 0 has items 1, 2, 4 and user 3 items 0, 1, 2, 3, 5: the weighted history masks them all
  for (Index r2 = 0; r2 < 2; ++r2) CHECK_FALSE(x.contains(users[static_cast<std::size_t>(r2)], top.ids(r2, 0)));
  CHECK(top.ids(1, 0) == 4);
}
