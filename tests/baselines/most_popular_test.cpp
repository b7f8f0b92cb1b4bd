#include <recdiff/baselines/most_popular.hpp>

#include "baselines/fixtures.hpp"
#include "support/catch.hpp"

using recdiff::Index;
using recdiff::RowMatrix;
using recdiff::baselines::MostPopular;

TEST_CASE("MostPopular counts the interactions of every item", "[baselines][most_popular]") {
  MostPopular<float> pop;
  pop.fit(recdiff::test::handExample());
  REQUIRE(pop.items() == 5);
  CHECK(pop.counts()(0) == 3);
  CHECK(pop.counts()(1) == 3);
  CHECK(pop.counts()(2) == 2);
  CHECK(pop.counts()(3) == 2);
  CHECK(pop.counts()(4) == 1);
}

TEST_CASE("MostPopular breaks ties in favour of the lower item index", "[baselines][most_popular]") {
  // Items 3 and 1 tie at 2 users, items 0 and 4 tie at 1 user, item 2 has 3 users.
  Eigen::MatrixXf dense(3, 5);
  dense << 1, 1, 1, 1, 0,  //
      0, 1, 1, 1, 0,       //
      0, 0, 1, 0, 1;
  MostPopular<float> pop;
  pop.fit(recdiff::test::toCsr(dense));
  CHECK(pop.ranking() == std::vector<Index>{2, 1, 3, 0, 4});

  RowMatrix<float> scores;
  pop.score(recdiff::test::toCsr(dense), 0, 3, scores);
  REQUIRE(scores.rows() == 3);
  REQUIRE(scores.cols() == 5);
  // The scores encode the strict order: every ranked item scores strictly more than the next one.
  for (std::size_t r = 0; r + 1 < pop.ranking().size(); ++r)
    CHECK(scores(0, pop.ranking()[r]) > scores(0, pop.ranking()[r + 1]));
  CHECK(scores(0, 2) == 5.0f);
  CHECK(scores(0, 4) == 1.0f);
  // Not personalised: every user gets the same row.
  CHECK(scores.row(1) == scores.row(0));
  CHECK(scores.row(2) == scores.row(0));
}

TEST_CASE("MostPopular scores a batch of rows in the middle of the matrix", "[baselines][most_popular]") {
  MostPopular<double> pop;
  const auto x = recdiff::test::handExample();
  pop.fit(x);
  RowMatrix<double> scores;
  pop.score(x, 1, 2, scores);
  CHECK(scores.rows() == 2);
  CHECK_THROWS_AS(pop.score(x, 3, 2, scores), std::invalid_argument);
  MostPopular<double> unfitted;
  CHECK_THROWS_AS(unfitted.score(x, 0, 1, scores), std::invalid_argument);
}
