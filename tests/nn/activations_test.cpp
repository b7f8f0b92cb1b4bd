#include <cmath>

#include <recdiff/nn/activations.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

using recdiff::RowMatrix;
namespace nn = recdiff::nn;

namespace {
RowMatrix<double> smallInput() {
  RowMatrix<double> x(2, 3);
  x << -1.5, 0.0, 0.5, 2.0, -0.25, 1.0;
  return x;
}

// Applies f to every element and its derivative g as the expected backward with dy = 1 + index.
template <class Layer, class F, class G>
void checkHandComputed(Layer& layer, F f, G g) {
  const RowMatrix<double> x = smallInput();
  RowMatrix<double> y, dx;
  layer.forward(x, y);
  RowMatrix<double> dy(2, 3);
  dy << 1, 2, 3, 4, 5, 6;
  layer.backward(dy, dx);
  for (recdiff::Index i = 0; i < x.size(); ++i) {
    CHECK(y.data()[i] == Approx(f(x.data()[i])).margin(1e-14));
    CHECK(dx.data()[i] == Approx(dy.data()[i] * g(x.data()[i])).margin(1e-14));
  }
}

template <class Layer>
void checkGradients(Layer& layer) {
  recdiff::Rng rng(recdiff::test::seed());
  auto model = recdiff::test::SingleLayerHarness(layer, rng);
  const RowMatrix<double> x = recdiff::test::randomMatrix<double>(3, 5, rng, 1.5);
  CHECK(recdiff::test::inputJacobianError(model, x) < 1e-6);
  CHECK(recdiff::test::parameterGradientError(model, x) < 1e-6);
  CHECK(layer.parameterCount() == 0);
}

double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }
double phi(double v) { return std::exp(-0.5 * v * v) / std::sqrt(2.0 * recdiff::kPi); }
double bigPhi(double v) { return 0.5 * (1.0 + std::erf(v / std::sqrt(2.0))); }
constexpr double kK = 0.7978845608028654;
double geluTanh(double v) { return 0.5 * v * (1.0 + std::tanh(kK * (v + 0.044715 * v * v * v))); }
}  // namespace

TEST_CASE("Tanh matches the formula and its backward matches central differences", "[nn][activations][gradcheck]") {
  nn::Tanh<double> layer;
  checkHandComputed(layer, [](double v) { return std::tanh(v); },
                    [](double v) { return 1.0 - std::tanh(v) * std::tanh(v); });
  checkGradients(layer);
}

TEST_CASE("ReLU matches the formula and its backward matches central differences", "[nn][activations][gradcheck]") {
  nn::ReLU<double> layer;
  checkHandComputed(layer, [](double v) { return v > 0 ? v : 0.0; }, [](double v) { return v > 0 ? 1.0 : 0.0; });
  checkGradients(layer);
}

TEST_CASE("Sigmoid matches the formula and its backward matches central differences", "[nn][activations][gradcheck]") {
  nn::Sigmoid<double> layer;
  checkHandComputed(layer, sigmoid, [](double v) { return sigmoid(v) * (1.0 - sigmoid(v)); });
  checkGradients(layer);
}

TEST_CASE("SiLU matches the formula and its backward matches central differences", "[nn][activations][gradcheck]") {
  nn::SiLU<double> layer;
  checkHandComputed(layer, [](double v) { return v * sigmoid(v); },
                    [](double v) { return sigmoid(v) + v * sigmoid(v) * (1.0 - sigmoid(v)); });
  checkGradients(layer);
}

TEST_CASE("Exact GELU matches x Phi(x) and its backward matches central differences", "[nn][activations][gradcheck]") {
  nn::GELU<double> layer(nn::GeluApproximation::kExact);
  checkHandComputed(layer, [](double v) { return v * bigPhi(v); }, [](double v) { return bigPhi(v) + v * phi(v); });
  checkGradients(layer);
}

TEST_CASE("Tanh-approximated GELU matches the formula and its backward matches central differences",
          "[nn][activations][gradcheck]") {
  nn::GELU<double> layer(nn::GeluApproximation::kTanh);
  checkHandComputed(layer, geluTanh, [](double v) {
    const double u = std::tanh(kK * (v + 0.044715 * v * v * v));
    return 0.5 * (1.0 + u) + 0.5 * v * (1.0 - u * u) * kK * (1.0 + 3.0 * 0.044715 * v * v);
  });
  checkGradients(layer);
  // Known values: GELU_tanh(1) = 0.8411919906082768 (torch.nn.functional.gelu(1., approximate='tanh')).
  CHECK(geluTanh(1.0) == Approx(0.8411919906082768).epsilon(1e-15));
}

TEMPLATE_TEST_CASE("Activations can run in place", "[nn][activations]", float, double) {
  using S = TestType;
  RowMatrix<S> x(2, 2);
  x << -1, 0.5, 2, -0.25;
  nn::Tanh<S> tanhLayer;
  RowMatrix<S> expected = x.array().tanh().matrix();
  RowMatrix<S> z = x;
  tanhLayer.forward(z, z);
  CHECK(z.isApprox(expected));
  RowMatrix<S> dz = RowMatrix<S>::Ones(2, 2);
  tanhLayer.backward(dz, dz);
  CHECK(dz.isApprox((S(1) - expected.array().square()).matrix()));
}
