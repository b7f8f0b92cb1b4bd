#ifndef RECDIFF_TESTS_BASELINES_FIXTURES_HPP
#define RECDIFF_TESTS_BASELINES_FIXTURES_HPP
// Small interaction matrices shared by the baseline tests.

#include <recdiff/baselines/common.hpp>
#include <recdiff/random.hpp>

#include <vector>

namespace recdiff::test {

/// CSR from a dense matrix (explicit zeros are not stored).
inline baselines::InteractionMatrix toCsr(const Eigen::MatrixXf& dense) {
  baselines::InteractionMatrix x = dense.sparseView();
  x.makeCompressed();
  return x;
}

/// The 4 users × 5 items example worked out by hand in item_knn_test.cpp.
inline baselines::InteractionMatrix handExample() {
  Eigen::MatrixXf x(4, 5);
  x << 1, 1, 0, 0, 1,  //
      1, 0, 1, 0, 0,   //
      0, 1, 1, 1, 0,   //
      1, 1, 0, 1, 0;
  return toCsr(x);
}

/// A random binary users × items matrix with the given density; every user and every item has at least one
/// interaction.
inline baselines::InteractionMatrix randomBinary(Index users, Index items, double density, Rng& rng) {
  Eigen::MatrixXf x = Eigen::MatrixXf::Zero(users, items);
  for (Index u = 0; u < users; ++u)
    for (Index i = 0; i < items; ++i) x(u, i) = rng.uniform() < density ? 1.0f : 0.0f;
  for (Index u = 0; u < users; ++u) x(u, u % items) = 1.0f;
  for (Index i = 0; i < items; ++i) x(i % users, i) = 1.0f;
  return toCsr(x);
}

}  // namespace recdiff::test

#endif
