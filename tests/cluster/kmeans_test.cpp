#include <recdiff/cluster/kmeans.hpp>

#include <limits>
#include <stdexcept>

#include "support/catch.hpp"
#include "support/test_env.hpp"

namespace {

using recdiff::Index;

/// `perCluster` points around each of `centres` rows with N(0, spread²) noise, interleaved (point i belongs to
/// cluster i % k), so the true labels by first appearance are 0, 1, ..., k−1, 0, 1, ...
recdiff::RowMatrix<float> blobs(const recdiff::RowMatrix<double>& centres, Index perCluster, double spread,
                                recdiff::Rng& rng) {
  const Index k = centres.rows();
  recdiff::RowMatrix<float> x(k * perCluster, centres.cols());
  for (Index i = 0; i < x.rows(); ++i)
    for (Index j = 0; j < x.cols(); ++j) x(i, j) = static_cast<float>(centres(i % k, j) + spread * rng.normal());
  return x;
}

}  // namespace

TEST_CASE("kmeans recovers well separated clusters and their centres", "[cluster][kmeans]") {
  recdiff::RowMatrix<double> centres(4, 3);
  centres << 0, 0, 0,  //
      10, 0, 0,        //
      0, 10, 0,        //
      0, 0, 10;
  recdiff::Rng dataRng(recdiff::test::seed());
  const auto x = blobs(centres, 50, 0.5, dataRng);
  const recdiff::Rng rng(recdiff::test::seed(), 3);
  const auto result = recdiff::cluster::kmeans(x, {.clusters = 4, .restarts = 5}, rng);
  REQUIRE(result.labels.size() == x.rows());
  CHECK(result.converged);
  for (Index i = 0; i < x.rows(); ++i) CHECK(result.labels(i) == static_cast<int>(i % 4));
  for (Index c = 0; c < 4; ++c) {
    CHECK(result.sizes(c) == 50);
    CHECK((result.centers.row(c) - centres.row(c)).norm() < 0.5);
  }
  // inertia is the sum of squared distances to the assigned centres
  double inertia = 0.0;
  for (Index i = 0; i < x.rows(); ++i)
    inertia += (x.row(i).cast<double>() - result.centers.row(result.labels(i))).squaredNorm();
  CHECK(result.inertia == Approx(inertia).epsilon(1e-12));
}

TEST_CASE("kmeans is deterministic for a seed and restarts never do worse than one run", "[cluster][kmeans]") {
  recdiff::Rng dataRng(recdiff::test::seed() + 1);
  recdiff::RowMatrix<float> x(300, 5);
  dataRng.fillNormal(x);  // no cluster structure: the result depends on the initialisation
  const recdiff::Rng rng(42);
  const auto a = recdiff::cluster::kmeans(x, {.clusters = 6, .restarts = 4}, rng);
  const auto b = recdiff::cluster::kmeans(x, {.clusters = 6, .restarts = 4}, rng);
  CHECK((a.labels == b.labels).all());
  CHECK(a.centers == b.centers);
  CHECK(a.inertia == b.inertia);
  const auto single = recdiff::cluster::kmeans(x, {.clusters = 6, .restarts = 1}, rng);
  CHECK(a.inertia <= single.inertia);  // restart 0 is the single run (same fork)
  CHECK(a.sizes.sum() == 300);
  CHECK((a.sizes > 0).all());
}

TEST_CASE("kmeans with one cluster puts every point in it at the mean", "[cluster][kmeans]") {
  recdiff::RowMatrix<double> x(4, 2);
  x << 0, 0, 2, 0, 0, 2, 2, 2;
  const auto r = recdiff::cluster::kmeans(x, {.clusters = 1}, recdiff::Rng(1));
  CHECK((r.labels == 0).all());
  CHECK(r.centers(0, 0) == Approx(1.0));
  CHECK(r.centers(0, 1) == Approx(1.0));
  CHECK(r.inertia == Approx(8.0));
}

TEST_CASE("kmeans with as many clusters as points gives each point its own cluster", "[cluster][kmeans]") {
  recdiff::RowMatrix<double> x(3, 1);
  x << 5, -1, 2;
  const auto r = recdiff::cluster::kmeans(x, {.clusters = 3}, recdiff::Rng(9));
  CHECK(r.labels(0) == 0);
  CHECK(r.labels(1) == 1);
  CHECK(r.labels(2) == 2);
  CHECK(r.inertia == 0.0);
}

TEST_CASE("kmeans rejects bad options and non-finite points", "[cluster][kmeans]") {
  recdiff::RowMatrix<double> x(3, 2);
  x.setZero();
  const recdiff::Rng rng(1);
  CHECK_THROWS_AS(recdiff::cluster::kmeans(x, {.clusters = 0}, rng), std::invalid_argument);
  CHECK_THROWS_AS(recdiff::cluster::kmeans(x, {.clusters = 4}, rng), std::invalid_argument);
  CHECK_THROWS_AS(recdiff::cluster::kmeans(x, {.clusters = 2, .restarts = 0}, rng), std::invalid_argument);
  x(1, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(recdiff::cluster::kmeans(x, {.clusters = 2}, rng), std::invalid_argument);
}
