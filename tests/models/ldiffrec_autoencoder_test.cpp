#include <recdiff/nn/autoencoder.hpp>

#include <cmath>
#include <stdexcept>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

namespace {

using recdiff::Index;
using Matrix = recdiff::RowMatrix<double>;

/// Items 0..n−1 in `clusters` interleaved clusters (item i in cluster i % clusters).
Eigen::ArrayXi interleaved(Index items, Index clusters) {
  Eigen::ArrayXi labels(items);
  for (Index i = 0; i < items; ++i) labels(i) = static_cast<int>(i % clusters);
  return labels;
}

/// A 0/1 interaction batch with a few ones per row.
Matrix binaryRows(Index rows, Index items, recdiff::Rng& rng) {
  Matrix x(rows, items);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < items; ++j) x(i, j) = rng.uniform() < 0.3 ? 1.0 : 0.0;
  return x;
}

/// Relative gradient error of L = multinomial(decode(encode(x)), target) + klWeight · KL, with the same dropout
/// mask and ε at every evaluation (a copy of one generator).
double autoencoderGradientError(recdiff::nn::AutoencoderOptions options, const Eigen::ArrayXi& labels, double klWeight) {
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::nn::ItemAutoencoder<double> ae(options, labels, rng);
  // non-zero biases so that their gradients are exercised
  ae.parameters().values().array() += 0.05;
  ae.setTraining(true);
  const Matrix x = binaryRows(5, options.items, rng);
  const recdiff::Rng noise(recdiff::test::seed(), 77);
  const auto loss = [&] {
    recdiff::Rng r = noise;
    Matrix z, logits;
    ae.encode(x, r, z);
    ae.decode(z, logits);
    return recdiff::nn::multinomialLoss<double>(logits, ae.target(), nullptr) + klWeight * ae.kl();
  };
  const auto analytic = [&] {
    recdiff::Rng r = noise;
    Matrix z, logits, dLogits, dZ;
    ae.encode(x, r, z);
    ae.decode(z, logits);
    recdiff::nn::multinomialLoss<double>(logits, ae.target(), &dLogits);
    ae.parameters().zeroGrad();
    ae.backwardDecode(dLogits, &dZ);
    ae.backwardEncode(dZ, klWeight);
  };
  return recdiff::test::gradientError(ae.parameters(), loss, analytic);
}

}  // namespace

TEST_CASE("multinomialLoss matches a hand computation and its gradient", "[models][ldiffrec][autoencoder]") {
  Matrix logits(1, 3), target(1, 3);
  logits << 0.0, std::log(2.0), std::log(3.0);  // softmax = 1/6, 2/6, 3/6
  target << 1.0, 0.0, 1.0;
  Matrix d;
  const double loss = recdiff::nn::multinomialLoss<double>(logits, target, &d);
  CHECK(loss == Approx(-(std::log(1.0 / 6.0) + std::log(3.0 / 6.0))).epsilon(1e-12));
  CHECK(d(0, 0) == Approx(2.0 / 6.0 - 1.0).epsilon(1e-12));
  CHECK(d(0, 1) == Approx(4.0 / 6.0).epsilon(1e-12));
  CHECK(d(0, 2) == Approx(6.0 / 6.0 - 1.0).margin(1e-12));
}

TEST_CASE("ItemAutoencoder splits the latent across clusters as the reference does", "[models][ldiffrec][autoencoder]") {
  recdiff::Rng rng(1);
  // 10 items: cluster 0 has 3 items, cluster 1 has 7; latent 20: floor(3/10 * 20) = 6, the last 14
  Eigen::ArrayXi labels(10);
  labels << 0, 1, 1, 0, 1, 1, 0, 1, 1, 1;
  recdiff::nn::ItemAutoencoder<double> ae({.items = 10, .inDims = {20}}, labels, rng);
  CHECK(ae.clusters() == 2);
  CHECK(ae.latentSize() == 20);
  CHECK(ae.clusterLatentSizes() == std::vector<Index>{6, 14});
  // encoders 3→12 and 7→28, one decoder 20→10 (outDims empty)
  const auto [enc, dec] = ae.parameterSplit();
  CHECK(enc == 3 * 12 + 12 + 7 * 28 + 28);
  CHECK(dec == 20 * 10 + 10);
  recdiff::nn::ItemAutoencoder<double> perCluster({.items = 10, .inDims = {20}, .outDims = {8}}, labels, rng);
  CHECK(perCluster.parameterSplit().second == 6 * 3 + 3 + 14 * 7 + 7);
  recdiff::nn::ItemAutoencoder<double> one({.items = 10, .inDims = {6, 4}, .outDims = {5}}, Eigen::ArrayXi::Zero(10), rng);
  CHECK(one.latentSize() == 4);
  CHECK(one.parameterSplit().first == 10 * 6 + 6 + 6 * 8 + 8);
  CHECK(one.parameterSplit().second == 4 * 5 + 5 + 5 * 10 + 10);
  Eigen::ArrayXi gap(3);
  gap << 0, 2, 2;
  CHECK_THROWS_AS(recdiff::nn::ItemAutoencoder<double>({.items = 3, .inDims = {4}}, gap, rng), std::invalid_argument);
}

TEST_CASE("ItemAutoencoder evaluation encodes the mean and decodes in the original item order",
          "[models][ldiffrec][autoencoder]") {
  recdiff::Rng rng(3);
  const Eigen::ArrayXi labels = interleaved(9, 3);
  recdiff::nn::ItemAutoencoder<double> ae({.items = 9, .inDims = {6}, .outDims = {4}}, labels, rng);
  ae.setTraining(false);
  const Matrix x = binaryRows(4, 9, rng);
  Matrix z1, z2, logits;
  recdiff::Rng a(5), b(6);
  ae.encode(x, a, z1);
  ae.encode(x, b, z2);
  CHECK(z1 == z2);               // no dropout, no sampling
  CHECK(z1 == ae.mu());
  CHECK(ae.target() == x);
  ae.decode(z1, logits);
  // cluster 1 (items 1, 4, 7) decodes from its own latent slice only: changing another slice leaves them alone
  const auto sizes = ae.clusterLatentSizes();
  Matrix z3 = z1;
  z3.leftCols(sizes[0]).array() += 1.0;
  Matrix logits3;
  ae.decode(z3, logits3);
  for (Index j : {1, 4, 7}) CHECK(logits3.col(j) == logits.col(j));
  CHECK((logits3.col(0) - logits.col(0)).norm() > 0.0);
}

TEST_CASE("ItemAutoencoder gradients match finite differences without variational sampling",
          "[models][ldiffrec][autoencoder]") {
  CHECK(autoencoderGradientError({.items = 12, .inDims = {6}, .variational = false, .dropout = 0.0},
                                 interleaved(12, 1), 0.3) < 1e-6);
  CHECK(autoencoderGradientError({.items = 12, .inDims = {8, 5}, .outDims = {7}, .variational = false, .dropout = 0.0},
                                 interleaved(12, 1), 0.0) < 1e-6);
  CHECK(autoencoderGradientError({.items = 12, .inDims = {6}, .variational = false, .dropout = 0.2},
                                 interleaved(12, 2), 0.3) < 1e-6);
  CHECK(autoencoderGradientError({.items = 12, .inDims = {9, 6}, .outDims = {4}, .variational = false, .dropout = 0.1},
                                 interleaved(12, 3), 0.1) < 1e-6);
}

TEST_CASE("ItemAutoencoder gradients match finite differences with reparameterisation and KL",
          "[models][ldiffrec][autoencoder]") {
  CHECK(autoencoderGradientError({.items = 12, .inDims = {6}, .variational = true, .dropout = 0.0},
                                 interleaved(12, 1), 0.3) < 1e-6);
  CHECK(autoencoderGradientError({.items = 12, .inDims = {6}, .variational = true, .dropout = 0.1},
                                 interleaved(12, 2), 0.2) < 1e-6);
  CHECK(autoencoderGradientError({.items = 12, .inDims = {9, 6}, .outDims = {4}, .variational = true, .dropout = 0.1},
                                 interleaved(12, 3), 1.0) < 1e-6);
}
