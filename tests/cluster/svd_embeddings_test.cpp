#include <recdiff/cluster/kmeans.hpp>
#include <recdiff/cluster/svd_embeddings.hpp>
#include <recdiff/data/interactions.hpp>

#include <stdexcept>
#include <vector>

#include <Eigen/SVD>

#include "support/catch.hpp"
#include "support/test_env.hpp"

namespace {

using recdiff::Index;

/// A [rows × cols] matrix of exact rank `rank` with singular values 10, 9, 8, ... (well separated).
Eigen::MatrixXd lowRank(Index rows, Index cols, Index rank, recdiff::Rng& rng) {
  recdiff::RowMatrix<double> a(rows, rank), b(cols, rank);
  rng.fillNormal(a);
  rng.fillNormal(b);
  const Eigen::MatrixXd qa = Eigen::HouseholderQR<Eigen::MatrixXd>(Eigen::MatrixXd(a)).householderQ() *
                             Eigen::MatrixXd::Identity(rows, rank);
  const Eigen::MatrixXd qb = Eigen::HouseholderQR<Eigen::MatrixXd>(Eigen::MatrixXd(b)).householderQ() *
                             Eigen::MatrixXd::Identity(cols, rank);
  Eigen::VectorXd s(rank);
  for (Index i = 0; i < rank; ++i) s(i) = 10.0 - static_cast<double>(i);
  return qa * s.asDiagonal() * qb.transpose();
}

}  // namespace

TEST_CASE("svdItemEmbeddings recovers the singular values and item Gram matrix of a low rank matrix",
          "[cluster][svd]") {
  recdiff::Rng dataRng(recdiff::test::seed());
  for (const Index d : {Index{1}, Index{3}, Index{5}}) {
    const Eigen::MatrixXd x = lowRank(40, 30, 5, dataRng);
    const auto svd = recdiff::cluster::svdItemEmbeddings(x, {.dims = d}, recdiff::Rng(recdiff::test::seed(), 1));
    REQUIRE(svd.itemFactors.rows() == 30);
    REQUIRE(svd.itemFactors.cols() == d);
    const Eigen::JacobiSVD<Eigen::MatrixXd> exact(x, Eigen::ComputeThinV);
    for (Index i = 0; i < d; ++i) CHECK(svd.singularValues(i) == Approx(exact.singularValues()(i)).epsilon(1e-10));
    // V_d Σ_d is unique up to column signs; its Gram matrix is not
    const Eigen::MatrixXd ref = exact.matrixV().leftCols(d) * exact.singularValues().head(d).asDiagonal();
    const Eigen::MatrixXd gram = svd.itemFactors * svd.itemFactors.transpose();
    CHECK((gram - ref * ref.transpose()).norm() <= 1e-9 * (ref * ref.transpose()).norm());
    if (d == 5) CHECK((gram - x.transpose() * x).norm() <= 1e-9 * (x.transpose() * x).norm());  // rank 5: exact
    for (Index c = 0; c < d; ++c) {
      Index at = 0;
      svd.itemFactors.col(c).cwiseAbs().maxCoeff(&at);
      CHECK(svd.itemFactors(at, c) > 0.0);
    }
  }
}

TEST_CASE("svdItemEmbeddings is deterministic for a seed and works on the sparse interaction matrix",
          "[cluster][svd]") {
  // two user groups, each interacting with its own half of the items: k-means on the SVD embedding finds the
  // halves
  const Index users = 60, items = 24;
  std::vector<int> us, is;
  recdiff::Rng dataRng(recdiff::test::seed());
  for (Index u = 0; u < users; ++u)
    for (Index i = (u % 2) * 12; i < (u % 2) * 12 + 12; ++i)
      if (dataRng.uniform() < 0.6) {
        us.push_back(static_cast<int>(u));
        is.push_back(static_cast<int>(i));
      }
  const auto x = recdiff::data::Interactions::fromTriplets(users, items, us, is);
  const recdiff::Rng rng(recdiff::test::seed(), 2);
  const auto a = recdiff::cluster::svdItemEmbeddings(x.matrix(), {.dims = 4}, rng);
  const auto b = recdiff::cluster::svdItemEmbeddings(x.matrix(), {.dims = 4}, rng);
  CHECK(a.itemFactors == b.itemFactors);
  CHECK(a.singularValues == b.singularValues);
  const auto dense = recdiff::cluster::svdItemEmbeddings(Eigen::MatrixXd(x.matrix().cast<double>()), {.dims = 4}, rng);
  CHECK((dense.itemFactors - a.itemFactors).norm() <= 1e-9 * a.itemFactors.norm());
  const auto km = recdiff::cluster::kmeans(a.itemFactors, {.clusters = 2}, recdiff::Rng(recdiff::test::seed(), 3));
  for (Index i = 0; i < items; ++i) CHECK(km.labels(i) == (i < 12 ? 0 : 1));
}

TEST_CASE("svdItemEmbeddings rejects widths outside the matrix rank bound", "[cluster][svd]") {
  const Eigen::MatrixXd x = Eigen::MatrixXd::Ones(5, 8);
  const recdiff::Rng rng(1);
  CHECK_THROWS_AS(recdiff::cluster::svdItemEmbeddings(x, {.dims = 0}, rng), std::invalid_argument);
  CHECK_THROWS_AS(recdiff::cluster::svdItemEmbeddings(x, {.dims = 6}, rng), std::invalid_argument);
  CHECK_THROWS_AS(recdiff::cluster::svdItemEmbeddings(x, {.dims = 2, .oversampling = -1}, rng), std::invalid_argument);
  CHECK_NOTHROW(recdiff::cluster::svdItemEmbeddings(x, {.dims = 5}, rng));
}
