// The worked example of docs/architecture.md ("Training (train/)"): a new objective in < 100 lines, trained
// through train::Trainer and train::fit with the library's callbacks. Keep the two in sync.
#include <recdiff/nn/linear.hpp>
#include <recdiff/nn/parameters.hpp>
#include <recdiff/optim/optimizer.hpp>
#include <recdiff/train/callbacks.hpp>
#include <recdiff/train/trainer.hpp>

#include <vector>

#include "support/catch.hpp"

namespace {

using recdiff::Index;
using Matrix = recdiff::RowMatrix<double>;

/// A denoising objective: x_t = x0 + σ·ε, a linear layer predicts x0 from x_t, loss = mean squared error.
class LinearDenoisingObjective {
 public:
  using Batch = Matrix;  // clean rows x0 [batch × dim]

  LinearDenoisingObjective(Index dim, double sigma, recdiff::Rng& init) : layer_(dim, dim), sigma_(sigma) {
    params_.resize(layer_.parameterCount());
    recdiff::nn::ParameterBinder<double> binder(params_);
    binder.bind(layer_);
    init.fillNormal(params_.values(), 0.0, 0.1);
  }

  /// Zeroes the gradient, draws the noise from rng, fills the gradient, returns the batch loss.
  double lossAndGradient(const Batch& x0, recdiff::Rng& rng) {
    noise_.resize(x0.rows(), x0.cols());
    rng.fillNormal(noise_);
    xt_ = x0 + sigma_ * noise_;
    layer_.forward(xt_, out_);
    const double scale = 1.0 / static_cast<double>(x0.size());
    dOut_ = 2.0 * scale * (out_ - x0);
    params_.zeroGrad();
    layer_.backwardParameters(dOut_);
    return scale * (out_ - x0).squaredNorm();
  }
  recdiff::nn::ParameterBuffer<double>& parameters() { return params_; }

  /// Mean squared error of the denoiser on fixed noisy rows (evaluation, no gradient).
  double error(const Matrix& x0, const Matrix& xt) const {
    Matrix y;
    layer_.apply(xt, y);
    return (y - x0).squaredNorm() / static_cast<double>(x0.size());
  }

 private:
  recdiff::nn::Linear<double> layer_;
  double sigma_;
  recdiff::nn::ParameterBuffer<double> params_;
  Matrix noise_, xt_, out_, dOut_;
};

/// Fixed batches of toy data: every row is one of two clean points.
struct ToyBatches {
  std::vector<Matrix> rows;
  Index batches() const { return static_cast<Index>(rows.size()); }
  const Matrix& batch(Index b) const { return rows[static_cast<std::size_t>(b)]; }
};

}  // namespace

TEST_CASE("A new objective trains through the Trainer with early stopping and keep-best", "[train][example]") {
  ToyBatches data;
  for (int b = 0; b < 4; ++b) {
    Matrix x(16, 2);
    for (Index r = 0; r < 16; ++r) {
      x(r, 0) = (r + b) % 2 == 0 ? 1.0 : -1.0;
      x(r, 1) = -x(r, 0);
    }
    data.rows.push_back(x);
  }
  recdiff::Rng init(1), evalRng(2);
  LinearDenoisingObjective objective(2, 0.5, init);
  recdiff::optim::Adam adam({.learningRate = 2e-2});
  recdiff::train::Trainer trainer(objective, adam);

  const Matrix clean = data.rows[0];
  Matrix noisy(clean.rows(), clean.cols());
  evalRng.fillNormal(noisy);
  noisy = clean + 0.5 * noisy;
  const double before = objective.error(clean, noisy);
  recdiff::train::EarlyStopping early(
      [&](Index) {
        recdiff::metrics::MetricTable t;
        t.set("valid.mse", objective.error(clean, noisy));
        return t;
      },
      "valid.mse", {.patience = 5, .every = 1, .unit = recdiff::train::PatienceUnit::kEvaluations, .higherIsBetter = false});
  recdiff::train::KeepBest<double> keep(early, {&objective.parameters()});
  const recdiff::TrainResult r = recdiff::train::fit({.epochs = 300, .seed = 7}, [&](Index e, recdiff::Rng& rng, auto&... cb) {
    return trainer.epoch(data, rng, e, 0, cb...);
  }, early, keep);

  CAPTURE(before, *early.best(), r.epochs, r.stopReason);
  REQUIRE_FALSE(r.diverged);
  CHECK(r.history.front().meanLoss > 2.0 * r.last().meanLoss);  // it learned
  CHECK(*early.best() < 0.5 * before);
  CHECK(objective.error(clean, noisy) == *early.best());  // keep-best restored the best epoch's parameters
}
