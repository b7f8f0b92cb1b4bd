#ifndef RECDIFF_BASELINES_RECOMMENDER_HPP
#define RECDIFF_BASELINES_RECOMMENDER_HPP

/// \file recommender.hpp
/// The model concept's API for the baselines (docs/concepts.md#model): a CRTP base that turns a baseline's
/// `score(x, first, count, out)` and its state tensors into the same `scores` / `recommend` / `evaluate` /
/// `save` / `load` the diffusion models have, so the evaluator, the examples and bindings treat every model
/// alike. A baseline derives from Recommender<Itself, Scalar>, brings its fit overloads in
/// (`using Recommender<Itself, Scalar>::fit;`) and provides
///   void fit(const InteractionMatrix& x);                                  the fit itself
///   static constexpr const char* kModelType;                               checkpoint model type
///   void score(const InteractionMatrix& x, Index first, Index count, RowMatrix<Scalar>& out) const;
///   std::map<std::string, std::string> hyperparameters() const;
///   void writeState(std::vector<nn::ParameterShape>&, std::vector<double>&) const;   fitted state, flat
///   void readState(const std::vector<nn::ParameterShape>&, const double* values,
///                  const std::map<std::string, std::string>& hyperparameters);       its inverse
/// Checkpoints hold the state in double (io/checkpoint.hpp): float weights round-trip exactly, and so do the
/// integer indices of sparse weights (below 2^53).

#include <cstdio>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "../data/interactions.hpp"
#include "../error.hpp"
#include "../io/checkpoint.hpp"
#include "../metrics/metric_table.hpp"
#include "../metrics/split_evaluation.hpp"
#include "../metrics/topk.hpp"
#include "../nn/parameters.hpp"
#include "../random/rng.hpp"
#include "../train/trainer.hpp"
#include "common.hpp"

namespace recdiff::baselines {

/// The concept API of a baseline (see the file comment). The Rng arguments exist for the shared signature:
/// the baselines are deterministic and draw nothing.
template <class Derived, class Scalar>
class Recommender {
 public:
  /// The baseline's own fit on the interaction matrix of `train` (data::Interactions::matrix()).
  void fit(const data::Interactions& train) { static_cast<Derived&>(*this).fit(train.matrix()); }

  /// The model concept's fit (docs/concepts.md#model): the baseline's own fit — a closed form, a similarity
  /// or a count — as the one epoch of train::fit(), so callbacks see the hooks they see with a diffusion model
  /// (beginTraining, beginEpoch(1), endEpoch(1, …), endTraining; an EarlyStopping evaluates once, a CsvLog
  /// writes one row). options.epochs and maxBatchesPerEpoch do not apply (nothing repeats, nothing is batched)
  /// and the seed draws nothing; the epoch reports one batch of train.users() rows and loss 0.
  template <class... Callbacks>
  TrainResult fit(const data::Interactions& train, const FitOptions& options, Callbacks&... callbacks) {
    FitOptions once = options;
    once.epochs = 1;
    once.maxBatchesPerEpoch = 0;
    return train::fit(once, [&](Index /*epoch*/, Rng& /*rng*/, auto&... /*cb*/) {
      fit(train);
      EpochResult r;
      r.batches = 1;
      r.samples = train.users();
      return r;
    }, callbacks...);
  }

  /// Scores [users.size() × items] for the given users from their rows of `input`.
  void scores(const data::Interactions& input, std::span<const Index> users, RowMatrix<Scalar>& out, Rng&) const {
    const InteractionMatrix& x = input.matrix();
    InteractionMatrix rows(static_cast<Index>(users.size()), x.cols());
    Eigen::VectorXi perRow(rows.rows());
    for (std::size_t r = 0; r < users.size(); ++r) {
      const Index u = users[r];
      RECDIFF_REQUIRE(u >= 0 && u < x.rows(), Derived::kModelType, "::scores(): user ", u, " outside [0, ", x.rows(), ")");
      perRow(static_cast<Index>(r)) = x.outerIndexPtr()[u + 1] - x.outerIndexPtr()[u];
    }
    rows.reserve(perRow);
    for (std::size_t r = 0; r < users.size(); ++r)
      for (InteractionMatrix::InnerIterator it(x, users[r]); it; ++it)
        rows.insert(static_cast<Index>(r), it.index()) = it.value();
    rows.makeCompressed();
    self().score(rows, 0, rows.rows(), out);
  }

  /// The top-k items of `users` (ids and scores, best first); with filterSeen the items of `input` (and of
  /// any extra masks) are never returned.
  metrics::TopK<Scalar> recommend(const data::Interactions& input, std::span<const Index> users, Index k,
                                  bool filterSeen, Rng& rng, std::vector<const metrics::CsrMatrix*> extraMasks = {}) const {
    return metrics::recommendUsers(self(), input, users, k, filterSeen, rng, extraMasks);
  }

  /// DiffRec's protocol through metrics::evaluateSplits: `valid.recall@20`, `test.ndcg@10`, …
  metrics::MetricTable evaluate(const data::Interactions& train, const data::Interactions& valid,
                                const data::Interactions& test, std::span<const Index> ks, Rng& rng,
                                metrics::UserAverage average = metrics::UserAverage::AllUsers) const {
    return metrics::evaluateSplits(self(), train, valid, test, ks, rng, {.average = average});
  }

  /// Writes the fitted state and the hyperparameters atomically (io/checkpoint.hpp).
  void save(const std::filesystem::path& file) const {
    std::vector<nn::ParameterShape> shapes;
    std::vector<double> values;
    self().writeState(shapes, values);
    nn::ParameterBuffer<double> buffer;
    buffer.resize(static_cast<Index>(values.size()));
    for (std::size_t i = 0; i < values.size(); ++i) buffer.values()(static_cast<Index>(i)) = values[i];
    io::saveCheckpoint(file, buffer, {Derived::kModelType, shapes, self().hyperparameters()});
  }

  /// Restores a state saved by save() (options included); throws recdiff::DataError on a bad file and leaves
  /// the model untouched.
  void load(const std::filesystem::path& file) {
    const io::CheckpointInfo info = io::readCheckpointInfo(file);
    nn::ParameterBuffer<double> buffer;
    buffer.resize(info.parameterCount);
    io::loadCheckpoint(file, buffer, Derived::kModelType, info.shapes);
    static_cast<Derived&>(*this).readState(info.shapes, buffer.values().data(), info.hyperparameters);
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

namespace detail {

/// Appends a tensor (name, dims, values) to a flat state.
template <class Values>
void appendState(std::vector<nn::ParameterShape>& shapes, std::vector<double>& out, const std::string& name,
                 std::vector<Index> dims, const Values& values) {
  Index n = 1;
  for (const Index d : dims) n *= d;
  RECDIFF_REQUIRE(n == static_cast<Index>(values.size()), "appendState(): ", name, " has ", values.size(),
                  " values for ", n);
  shapes.push_back({name, std::move(dims)});
  for (Index i = 0; i < n; ++i) out.push_back(static_cast<double>(values.data()[i]));
}

/// Appends a CSR matrix as three tensors: <name>.outer [rows + 1], <name>.inner [nnz], <name>.values [nnz].
template <class Scalar>
void appendSparse(std::vector<nn::ParameterShape>& shapes, std::vector<double>& out, const std::string& name,
                  const SparseWeights<Scalar>& w) {
  SparseWeights<Scalar> c = w;
  c.makeCompressed();
  const Index nnz = c.nonZeros(), rows = c.rows();
  shapes.push_back({name + ".outer", {rows + 1}});
  for (Index i = 0; i <= rows; ++i) out.push_back(static_cast<double>(c.outerIndexPtr()[i]));
  shapes.push_back({name + ".inner", {nnz}});
  for (Index i = 0; i < nnz; ++i) out.push_back(static_cast<double>(c.innerIndexPtr()[i]));
  shapes.push_back({name + ".values", {nnz}});
  for (Index i = 0; i < nnz; ++i) out.push_back(static_cast<double>(c.valuePtr()[i]));
}

/// The inverse of appendSparse() for a square matrix, reading from `at` (advanced past it).
template <class Scalar>
SparseWeights<Scalar> readSparse(const std::vector<nn::ParameterShape>& shapes, const double*& at, const char* who) {
  RECDIFF_REQUIRE(shapes.size() == 3 && shapes[0].dims.size() == 1 && shapes[1].dims == shapes[2].dims, who,
                  ": a checkpoint of sparse weights has three tensors (outer, inner, values)");
  const Index rows = shapes[0].dims[0] - 1, nnz = shapes[1].dims.at(0);
  RECDIFF_REQUIRE(rows >= 0, who, ": empty outer index");
  SparseWeights<Scalar> w(rows, rows);
  Eigen::VectorXi perRow(rows);
  for (Index i = 0; i < rows; ++i) perRow(i) = static_cast<int>(at[i + 1] - at[i]);
  RECDIFF_REQUIRE(at[0] == 0.0 && static_cast<Index>(at[rows]) == nnz && perRow.minCoeff() >= 0, who,
                  ": the outer index does not describe ", nnz, " entries");
  w.reserve(perRow);
  const double* inner = at + rows + 1;
  const double* values = inner + nnz;
  for (Index i = 0; i < rows; ++i)
    for (auto p = static_cast<Index>(at[i]); p < static_cast<Index>(at[i + 1]); ++p) {
      const auto j = static_cast<Index>(inner[p]);
      RECDIFF_REQUIRE(j >= 0 && j < rows, who, ": column ", j, " outside [0, ", rows, ")");
      w.insert(i, j) = static_cast<Scalar>(values[p]);
    }
  w.makeCompressed();
  at = values + nnz;
  return w;
}

/// A double as text that parses back to the same value.
inline std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

/// The value of a required hyperparameter.
inline const std::string& hyperparameter(const std::map<std::string, std::string>& h, const std::string& key,
                                         const char* who) {
  const auto it = h.find(key);
  RECDIFF_REQUIRE(it != h.end(), who, ": the checkpoint has no hyperparameter '", key, "'");
  return it->second;
}

}  // namespace detail
}  // namespace recdiff::baselines

#endif  // RECDIFF_BASELINES_RECOMMENDER_HPP
