#include <recdiff/baselines/item_knn.hpp>

#include <cmath>

#include "baselines/fixtures.hpp"
#include "support/catch.hpp"
#include "support/tolerances.hpp"

using recdiff::Index;
using recdiff::RowMatrix;
using recdiff::baselines::ItemKNN;

namespace {
// The hand example (fixtures.hpp), item columns:
//   i0 = (1,1,0,1)  i1 = (1,0,1,1)  i2 = (0,1,1,0)  i3 = (0,0,1,1)  i4 = (1,0,0,0)
//   norms √3, √3, √2, √2, 1
//   dots: i0·i1 = 2, i0·i2 = 1, i0·i3 = 1, i0·i4 = 1, i1·i2 = 1, i1·i3 = 2, i1·i4 = 1, i2·i3 = 1, others 0.
// With shrink h = 1: s_ij = dot / (‖i‖‖j‖ + 1).
RowMatrix<double> handSimilarity() {
  const double r6 = std::sqrt(6.0);
  const double r3 = std::sqrt(3.0);
  RowMatrix<double> s = RowMatrix<double>::Zero(5, 5);
  s(0, 1) = 2.0 / 4.0;
  s(0, 2) = 1.0 / (r6 + 1.0);
  s(0, 3) = 1.0 / (r6 + 1.0);
  s(0, 4) = 1.0 / (r3 + 1.0);
  s(1, 2) = 1.0 / (r6 + 1.0);
  s(1, 3) = 2.0 / (r6 + 1.0);
  s(1, 4) = 1.0 / (r3 + 1.0);
  s(2, 3) = 1.0 / 3.0;
  return RowMatrix<double>(s + s.transpose());
}
}  // namespace

TEMPLATE_TEST_CASE("ItemKNN shrunk cosine matches the hand-computed 4x5 example", "[baselines][item_knn]", float,
                   double) {
  const auto x = recdiff::test::handExample();
  const RowMatrix<TestType> s = ItemKNN<TestType>::similarity(x, 1.0);
  CHECK((s.template cast<double>() - handSimilarity()).cwiseAbs().maxCoeff() < recdiff::test::Tolerance<TestType>::kTight);

  // With every neighbour kept, the weights are the full similarity matrix.
  ItemKNN<TestType> knn({.neighbours = 5, .shrink = 1.0});
  knn.fit(x);
  const RowMatrix<TestType> w = RowMatrix<TestType>(knn.weights().toDense());
  CHECK((w.template cast<double>() - handSimilarity()).cwiseAbs().maxCoeff() < recdiff::test::Tolerance<TestType>::kTight);
}

TEMPLATE_TEST_CASE("ItemKNN keeps the top k neighbours of each target item", "[baselines][item_knn]", float, double) {
  // k = 2. Neighbours of each target j (ties to the lower index):
  //   N(0) = {1, 4}  N(1) = {3, 0}  N(2) = {3, 0} (0 and 1 tie)  N(3) = {1, 2}  N(4) = {0, 1} (tie)
  const auto x = recdiff::test::handExample();
  const RowMatrix<double> s = handSimilarity();
  ItemKNN<TestType> knn({.neighbours = 2, .shrink = 1.0});
  knn.fit(x);
  RowMatrix<double> expected = RowMatrix<double>::Zero(5, 5);
  const int neighbours[5][2] = {{1, 4}, {3, 0}, {3, 0}, {1, 2}, {0, 1}};
  for (int j = 0; j < 5; ++j)
    for (int i : neighbours[j]) expected(i, j) = s(i, j);
  const RowMatrix<TestType> w = RowMatrix<TestType>(knn.weights().toDense());
  CHECK((w.template cast<double>() - expected).cwiseAbs().maxCoeff() < recdiff::test::Tolerance<TestType>::kTight);

  // User 1 holds items 0 and 2: score(j) = W_0j + W_2j.
  RowMatrix<TestType> scores;
  knn.score(x, 1, 1, scores);
  const double r6 = std::sqrt(6.0);
  const double r3 = std::sqrt(3.0);
  const double want[5] = {0.0, 0.5, 1.0 / (r6 + 1.0), 1.0 / 3.0, 1.0 / (r3 + 1.0)};
  for (int j = 0; j < 5; ++j) CHECK(std::abs(double(scores(0, j)) - want[j]) < recdiff::test::Tolerance<TestType>::kTight);
}

TEMPLATE_TEST_CASE("ItemKNN neighbour normalisation makes each target's weights sum to one", "[baselines][item_knn]",
                   float, double) {
  const auto x = recdiff::test::handExample();
  ItemKNN<TestType> knn({.neighbours = 2, .shrink = 1.0, .normalizeNeighbours = true});
  knn.fit(x);
  const RowMatrix<TestType> w = RowMatrix<TestType>(knn.weights().toDense());
  for (Index j = 0; j < 5; ++j) CHECK(std::abs(double(w.col(j).sum()) - 1.0) < recdiff::test::Tolerance<TestType>::kTight);
  const double s01 = 0.5;
  const double s31 = 2.0 / (std::sqrt(6.0) + 1.0);
  CHECK(std::abs(double(w(0, 1)) - s01 / (s01 + s31)) < recdiff::test::Tolerance<TestType>::kTight);
}

TEST_CASE("ItemKNN without shrinkage is the plain cosine", "[baselines][item_knn]") {
  const auto x = recdiff::test::handExample();
  const RowMatrix<double> s = ItemKNN<double>::similarity(x, 0.0);
  CHECK(std::abs(s(0, 1) - 2.0 / 3.0) < 1e-15);
  CHECK(std::abs(s(2, 3) - 0.5) < 1e-15);
  CHECK(s(2, 4) == 0.0);
  CHECK(s.diagonal().isZero(0.0));
}

TEST_CASE("ItemKNN rejects invalid hyperparameters", "[baselines][item_knn]") {
  CHECK_THROWS_AS(ItemKNN<float>({.neighbours = 0}), std::invalid_argument);
  CHECK_THROWS_AS(ItemKNN<float>({.neighbours = 5, .shrink = -1.0}), std::invalid_argument);
}
