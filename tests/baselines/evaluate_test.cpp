#include <recdiff/baselines/evaluate.hpp>
#include <recdiff/baselines/most_popular.hpp>
#include <recdiff/baselines/tuning.hpp>

#include <cmath>

#include "baselines/fixtures.hpp"
#include "support/catch.hpp"

using recdiff::Index;
using recdiff::baselines::MostPopular;

TEST_CASE("evaluateModel ranks with history masked and averages over all users", "[baselines][evaluate]") {
  // Popularity order of the hand example: 0, 1, 2, 3, 4. After masking each user's history the rankings are
  //   user 0: 2 3   user 1: 1 3 4   user 2: 0 4   user 3: 2 4
  // Truth: user 0 {3}, user 1 {4}, user 2 none, user 3 {2}.
  const auto train = recdiff::test::handExample();
  Eigen::MatrixXf truthDense = Eigen::MatrixXf::Zero(4, 5);
  truthDense(0, 3) = 1.0f;
  truthDense(1, 4) = 1.0f;
  truthDense(3, 2) = 1.0f;
  const auto truth = recdiff::test::toCsr(truthDense);
  MostPopular<float> pop;
  pop.fit(train);

  const auto ids = recdiff::baselines::rankAll(pop, train, {&train}, 2, 3);
  CHECK(ids.row(0) == Eigen::RowVector2i(2, 3));
  CHECK(ids.row(1) == Eigen::RowVector2i(1, 3));
  CHECK(ids.row(2) == Eigen::RowVector2i(0, 4));
  CHECK(ids.row(3) == Eigen::RowVector2i(2, 4));

  const std::vector<Index> ks{1, 2};
  const auto m = recdiff::baselines::evaluateModel(pop, train, {&train}, truth, ks, {.batch = 3});
  CHECK(m.recall[0] == Approx(0.25));
  CHECK(m.precision[0] == Approx(0.25));
  CHECK(m.ndcg[0] == Approx(0.25));
  CHECK(m.mrr[0] == Approx(0.25));
  CHECK(m.recall[1] == Approx(0.5));
  CHECK(m.precision[1] == Approx(0.25));
  CHECK(m.ndcg[1] == Approx((1.0 / std::log2(3.0) + 1.0) / 4.0));
  CHECK(m.mrr[1] == Approx(0.375));
}

TEST_CASE("selectOnValidation keeps the first of equally good grid points", "[baselines][tuning]") {
  const std::vector<int> grid{1, 2, 3, 4};
  const double values[] = {0.1, 0.3, 0.3, 0.2};
  const auto result = recdiff::baselines::selectOnValidation(grid, [&](int g) { return values[g - 1]; });
  CHECK(result.best == 2);
  CHECK(result.bestScore == 0.3);
  REQUIRE(result.trials.size() == 4);
  CHECK(result.trials[3].options == 4);
  CHECK(result.trials[3].score == 0.2);
  CHECK_THROWS_AS(recdiff::baselines::selectOnValidation(std::vector<int>{}, [](int) { return 0.0; }),
                  std::invalid_argument);
}

TEST_CASE("The stated tuning grids have the documented sizes", "[baselines][tuning]") {
  const auto ease = recdiff::baselines::easeGrid();
  REQUIRE(ease.size() == 5);
  CHECK(ease.front().lambda == 100.0);
  CHECK(ease.back().lambda == 2000.0);
  CHECK(recdiff::baselines::itemKnnGrid().size() == 24);
  CHECK(recdiff::baselines::rp3betaGrid().size() == 60);
  CHECK(recdiff::baselines::describe(ease[3]) == "lambda=1000");
}
