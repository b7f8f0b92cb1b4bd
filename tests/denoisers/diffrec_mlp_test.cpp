#include <recdiff/denoisers/diffrec_mlp.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

using recdiff::DiffRecMlp;
using recdiff::Index;
using recdiff::RowMatrix;

TEST_CASE("DiffRecMlp builds the mirrored layer stack of DiffRec dims", "[denoisers][diffrec_mlp]") {
  recdiff::Rng rng(recdiff::test::seed());
  DiffRecMlp<float> a({.items = 50, .dims = {20, 60}, .timeEmbeddingSize = 10}, rng);
  REQUIRE(a.layerCount() == 4);
  CHECK(a.layer(0).inputSize() == 60);
  CHECK(a.layer(0).outputSize() == 60);
  CHECK(a.layer(1).outputSize() == 20);
  CHECK(a.layer(2).outputSize() == 60);
  CHECK(a.layer(3).outputSize() == 50);
  CHECK(a.parameters().size() == (10 * 10 + 10) + (60 * 60 + 60) + (60 * 20 + 20) + (20 * 60 + 60) + (60 * 50 + 50));
  DiffRecMlp<float> b({.items = 50, .dims = {100}, .timeEmbeddingSize = 4}, rng);
  REQUIRE(b.layerCount() == 2);
  CHECK(b.layer(0).inputSize() == 54);
  CHECK(b.layer(1).outputSize() == 50);
  static_assert(recdiff::Denoiser<DiffRecMlp<float>>);
  static_assert(recdiff::Denoiser<DiffRecMlp<double>>);
}

TEST_CASE("DiffRecMlp initialises Xavier-normal weights and small normal biases", "[denoisers][diffrec_mlp]") {
  recdiff::Rng rng(recdiff::test::seed());
  DiffRecMlp<double> m({.items = 400, .dims = {300}, .timeEmbeddingSize = 10}, rng);
  const auto w = m.layer(0).weight();
  const double std = std::sqrt((w.array() - w.mean()).square().mean());
  CHECK(std == Approx(std::sqrt(2.0 / (410.0 + 300.0))).epsilon(0.02));
  const auto b = m.layer(1).bias();
  CHECK(std::sqrt(b.array().square().mean()) == Approx(0.001).epsilon(0.15));
}

TEST_CASE("DiffRecMlp forward computes the reference formula on a tiny case", "[denoisers][diffrec_mlp]") {
  recdiff::Rng rng(recdiff::test::seed());
  DiffRecMlp<double> m({.items = 3, .dims = {2}, .timeEmbeddingSize = 2}, rng);
  m.setTraining(false);
  RowMatrix<double> x(1, 3);
  x << 1, 0, 1;
  Eigen::ArrayXi t(1);
  t << 1;
  RowMatrix<double> out;
  m.forward(x, t, recdiff::NoCondition{}, out);
  // By hand: sinusoid(1) with dim 2 = [cos 1, sin 1]; e = W_e s + b_e; h = tanh(W_0 [x | e] + b_0); out = W_1 h + b_1.
  Eigen::Vector2d s(std::cos(1.0), std::sin(1.0));
  const Eigen::MatrixXd we = m.timeEmbeddingLayer().weight(), w0 = m.layer(0).weight(), w1 = m.layer(1).weight();
  const Eigen::VectorXd be = m.timeEmbeddingLayer().bias().transpose(), b0 = m.layer(0).bias().transpose(),
                        b1 = m.layer(1).bias().transpose();
  Eigen::VectorXd h0(5);
  h0 << 1, 0, 1, we * s + be;
  const Eigen::VectorXd h1 = (w0 * h0 + b0).array().tanh().matrix();
  const Eigen::VectorXd expected = w1 * h1 + b1;
  for (Index j = 0; j < 3; ++j) CHECK(out(0, j) == Approx(expected(j)).epsilon(1e-12));
}

TEST_CASE("DiffRecMlp backward matches central differences", "[denoisers][diffrec_mlp][gradcheck]") {
  for (const bool normalize : {false, true})
    for (const bool training : {false, true}) {
      INFO("normalize " << normalize << " training " << training);
      recdiff::Rng rng(recdiff::test::seed());
      DiffRecMlp<double> m({.items = 7, .dims = {5, 6}, .timeEmbeddingSize = 4, .dropout = 0.3,
                            .normalizeInput = normalize},
                           rng);
      // Larger biases than the reference init so that every parameter matters to the check.
      rng.fillNormal(m.parameters().values(), 0.0, 0.5);
      m.setTraining(training);
      RowMatrix<double> x = recdiff::test::randomMatrix<double>(3, 7, rng);
      Eigen::ArrayXi t(3);
      t << 0, 4, 2;
      const RowMatrix<double> w = recdiff::test::randomMatrix<double>(3, 7, rng);
      const recdiff::Rng dropoutRng(99);
      auto loss = [&] {
        m.reseedDropout(dropoutRng);  // the same mask at every evaluation
        RowMatrix<double> out;
        m.forward(x, t, recdiff::NoCondition{}, out);
        return (out.array() * w.array()).sum();
      };
      RowMatrix<double> dx;
      const double paramErr = recdiff::test::gradientError(m.parameters(), loss, [&] {
        loss();
        m.backward(w, &dx);
      });
      CHECK(paramErr < 1e-6);
      const RowMatrix<double> analyticDx = dx;
      const recdiff::ColVector<double> fd = recdiff::test::finiteDifferenceGradient(x, loss);
      CHECK(recdiff::test::relativeError(
                Eigen::Map<const recdiff::ColVector<double>>(analyticDx.data(), analyticDx.size()), fd) < 1e-6);
      // Skipping the input gradient leaves the parameter gradients unchanged.
      const recdiff::ColVector<double> withDx = m.parameters().grads();
      m.parameters().zeroGrad();
      loss();
      m.backward(w, nullptr);
      CHECK(m.parameters().grads().isApprox(withDx, 1e-14));
    }
}

TEST_CASE("DiffRecMlp in training mode applies inverted dropout to the input row", "[denoisers][diffrec_mlp]") {
  recdiff::Rng rng(recdiff::test::seed());
  DiffRecMlp<float> m({.items = 200, .dims = {8}, .timeEmbeddingSize = 4, .dropout = 0.5}, rng);
  RowMatrix<float> x = RowMatrix<float>::Ones(16, 200), a, b, c;
  Eigen::ArrayXi t = Eigen::ArrayXi::Constant(16, 3);
  m.forward(x, t, recdiff::NoCondition{}, a);
  m.forward(x, t, recdiff::NoCondition{}, b);
  CHECK(a != b);
  m.setTraining(false);
  m.forward(x, t, recdiff::NoCondition{}, a);
  m.forward(x, t, recdiff::NoCondition{}, b);
  CHECK(a == b);
  m.predict(x, t, c);
  CHECK(c == a);
}

TEST_CASE("DiffRecMlp rejects bad shapes and hyperparameters", "[denoisers][diffrec_mlp]") {
  recdiff::Rng rng(1);
  CHECK_THROWS_AS(DiffRecMlp<float>({.items = 0}, rng), std::invalid_argument);
  CHECK_THROWS_AS(DiffRecMlp<float>({.items = 5, .dims = {}}, rng), std::invalid_argument);
  DiffRecMlp<float> m({.items = 5, .dims = {3}, .timeEmbeddingSize = 2}, rng);
  RowMatrix<float> x(2, 4), out;
  x.setZero();
  Eigen::ArrayXi t = Eigen::ArrayXi::Zero(2);
  CHECK_THROWS_AS(m.forward(x, t, recdiff::NoCondition{}, out), std::invalid_argument);
  RowMatrix<float> x5 = RowMatrix<float>::Zero(2, 5);
  Eigen::ArrayXi t3 = Eigen::ArrayXi::Zero(3);
  CHECK_THROWS_AS(m.forward(x5, t3, recdiff::NoCondition{}, out), std::invalid_argument);
}
