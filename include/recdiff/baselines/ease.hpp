#ifndef RECDIFF_BASELINES_EASE_HPP
#define RECDIFF_BASELINES_EASE_HPP

/// \file ease.hpp
/// EASE: a closed-form linear item-item autoencoder with a zero diagonal (Steck, "Embarrassingly Shallow
/// Autoencoders for Sparse Data", WWW 2019).

#include <Eigen/Cholesky>

#include <array>
#include <cmath>
#include <map>
#include <string>
#include <vector>
#include <cstdint>

#include "common.hpp"
#include "../io/fields.hpp"
#include "recommender.hpp"

namespace recdiff::baselines {

/// How EASE factorises XᵀX + λI.
enum class EASESolver {
  llt,   ///< Cholesky (Eigen::LLT, blocked): the default, fastest; XᵀX + λI is positive definite for λ > 0.
  ldlt,  ///< LDLᵀ with symmetric pivoting (Eigen::LDLT): more robust, unblocked and several times slower.
};

/// The names of EASESolver in field tables: llt | ldlt.
constexpr std::array<io::FieldChoice<EASESolver>, 2> fieldChoices(EASESolver) {
  return {{{"llt", EASESolver::llt}, {"ldlt", EASESolver::ldlt}}};
}

/// Hyperparameters of EASE.
struct EASEOptions {
  double lambda = 500.0;                  ///< L2 penalty λ > 0 (Steck's default grid spans 100 … 2000+)
  EASESolver solver = EASESolver::llt;    ///< factorisation of XᵀX + λI
  std::uint64_t memoryLimitBytes = 0;     ///< memory fit() may use; 0 = what the machine has available now

  /// The field table (io/fields.hpp): the keys of hyperparameters(); the Python keywords (l2= is lambda).
  template <class Self, class V>
  static void fields(Self& o, V&& v) {
    v(io::Field("lambda", "L2 penalty (> 0)").flag("--lambda,--l2"), o.lambda);
    v(io::Field("solver", "factorisation of X'X + lambda I: llt | ldlt"), o.solver);
    v(io::Field("memory_limit_bytes", "memory fit() may use (0: what the machine has available)").execution(),
      o.memoryLimitBytes);
  }
};

/// EASE (Steck 2019, Eq. 8): the item-item weights minimise ‖X − XB‖²_F + λ‖B‖²_F subject to diag(B) = 0, with
/// the closed form
///   P = (XᵀX + λI)⁻¹,   B = I − P · diagMat(1 ⊘ diag(P)),   i.e. B_ij = −P_ij / P_jj (i ≠ j), B_jj = 0,
/// and scores S = X_batch · B [batch × items].
///
/// Cost and memory: B is a dense [items × items] matrix. fit() holds at most two such matrices at once (the
/// factor L and Y = L⁻¹, then Y and P, then P and B; a previous B is released first), so it needs
/// 2·items²·sizeof(Scalar) bytes; fitGram() needs one more for the caller's Gram matrix. Before allocating, fit() checks this against the memory limit and throws
/// std::invalid_argument naming the sizes. On a 24 GiB machine the float model stops fitting at
/// maxItems(24 GiB) = 56,755 items (40,132 in double); long before that the O(items³) solve dominates
/// (under a second at 2,810 items on 2 cores, and ~8,000 times that at 56,755).
/// The Gram matrix is computed in O(Σ_u deg(u)²) from the CSR rows and factorised with Eigen's blocked LLT
/// (or LDLT); then Y = L⁻¹ by forward solves over column blocks and P = YᵀY by GEMMs on the upper triangle,
/// both in parallel (OpenMP): about items³ flops in all.
///
/// \tparam Scalar  float (default: fast, and accurate enough for ranking) or double.
///
/// Usage:
/// \code
///   EASE<float> ease({.lambda = 1000.0});
///   ease.fit(train);                        // train: InteractionMatrix [users × items]
///   RowMatrix<float> scores;
///   ease.score(train, 0, 256, scores);      // [256 × items] for users 0 … 255
/// \endcode
template <class Scalar = float>
class EASE : public Recommender<EASE<Scalar>, Scalar> {
  static_assert(std::is_floating_point_v<Scalar>, "EASE: Scalar must be float or double");

 public:
  static constexpr const char* kModelType = "EASE";
  using ScalarType = Scalar;  ///< the score type

  using ColMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

  explicit EASE(EASEOptions options = {}) : options_(options) {
    RECDIFF_REQUIRE(options_.lambda > 0.0 && std::isfinite(options_.lambda), "EASE: lambda must be positive, got ",
                    options_.lambda);
  }

  /// Bytes of `matrices` dense [items × items] Scalar matrices.
  static std::uint64_t requiredBytes(Index items, int matrices = 2) {
    return static_cast<std::uint64_t>(matrices) * static_cast<std::uint64_t>(items) *
           static_cast<std::uint64_t>(items) * sizeof(Scalar);
  }

  /// The largest item count whose fit() (two dense item × item matrices) fits in `bytes`.
  static Index maxItems(std::uint64_t bytes, int matrices = 2) {
    auto n = static_cast<Index>(std::sqrt(static_cast<double>(bytes) / (matrices * sizeof(Scalar))));
    while (requiredBytes(n + 1, matrices) <= bytes) ++n;
    while (n > 0 && requiredBytes(n, matrices) > bytes) --n;
    return n;
  }

  /// The Gram matrix XᵀX [items × items] of x [users × items], in O(Σ_u deg(u)²).
  static ColMatrix gram(const InteractionMatrix& x) {
    ColMatrix g(x.cols(), x.cols());
    // XᵀX is symmetric, so writing it row by row into the column-major buffer gives the same matrix.
    detail::denseCrossProduct<Scalar>(x, x, Eigen::Map<RowMatrix<Scalar>>(g.data(), g.rows(), g.cols()));
    return g;
  }

  /// Fits B on x [users × items].
  void fit(const InteractionMatrix& x) {
    RECDIFF_REQUIRE(x.cols() > 0, "EASE::fit(): the interaction matrix has no items");
    checkMemory("EASE::fit()", x.cols(), 2);
    weights_.resize(0, 0);
    ColMatrix a = gram(x);
    solve(a);
  }

  /// Fits B from a precomputed Gram matrix XᵀX [items × items] (lets a λ grid share one Gram matrix).
  void fitGram(const ColMatrix& gram) {
    RECDIFF_REQUIRE(gram.rows() == gram.cols() && gram.rows() > 0, "EASE::fitGram(): the Gram matrix is ",
                    gram.rows(), " x ", gram.cols(), ", expected a non-empty square matrix");
    checkMemory("EASE::fitGram()", gram.rows(), 2);
    weights_.resize(0, 0);
    ColMatrix a = gram;
    solve(a);
  }

  /// Scores users [first, first + count) of x: out [count × items] = X[first:first+count, :] · B.
  void score(const InteractionMatrix& x, Index first, Index count, RowMatrix<Scalar>& out) const {
    detail::prepareScores("EASE::score()", x, first, count, items(), out);
    detail::scoreDense(x, first, count, weights_, out);
  }

  /// fit(train) on data::Interactions, and the model concept's fit(train, FitOptions, callbacks...).
  using Recommender<EASE<Scalar>, Scalar>::fit;

  /// score() for users [first, first + count) of `history` (data::Interactions::matrix()).
  void score(const data::Interactions& history, Index first, Index count, RowMatrix<Scalar>& out) const {
    score(history.matrix(), first, count, out);
  }

  /// Number of items the model was fitted on (0 before fit()).
  Index items() const noexcept { return weights_.rows(); }
  /// The item-item weights B [items × items], zero diagonal.
  const RowMatrix<Scalar>& weights() const noexcept { return weights_; }
  const EASEOptions& options() const noexcept { return options_; }

  /// The options as text (the concept's hyperparameters(); checkpoint header). The memory limit is a
  /// setting of the machine, not of the model, and is not recorded.
  std::map<std::string, std::string> hyperparameters() const {
    return {{"lambda", detail::number(options_.lambda)}, {"solver", options_.solver == EASESolver::llt ? "llt" : "ldlt"}};
  }
  /// The fitted state for save(): B [items × items].
  void writeState(std::vector<nn::ParameterShape>& shapes, std::vector<double>& values) const {
    detail::appendState(shapes, values, "weights", {weights_.rows(), weights_.cols()}, weights_);
  }
  /// Restores B and the options (load()).
  void readState(const std::vector<nn::ParameterShape>& shapes, const double* values,
                 const std::map<std::string, std::string>& h) {
    RECDIFF_REQUIRE(shapes.size() == 1 && shapes[0].dims.size() == 2 && shapes[0].dims[0] == shapes[0].dims[1],
                    "EASE::load(): expected one square weight tensor");
    options_.lambda = std::stod(detail::hyperparameter(h, "lambda", "EASE::load()"));
    options_.solver = detail::hyperparameter(h, "solver", "EASE::load()") == "ldlt" ? EASESolver::ldlt : EASESolver::llt;
    const Index n = shapes[0].dims[0];
    weights_ = Eigen::Map<const RowMatrix<double>>(values, n, n).template cast<Scalar>();
  }

 private:
  void checkMemory(const char* who, Index items, int matrices) const {
    const std::uint64_t need = requiredBytes(items, matrices);
    const std::string what = ::recdiff::detail::concat(who, ": ", matrices, " dense ", items, " x ", items, ' ',
                                            sizeof(Scalar) == 4 ? "float" : "double", " matrices (", items, " items)");
    if (options_.memoryLimitBytes != 0) {
      const ScopedAvailableMemory limit(options_.memoryLimitBytes);
      requireMemory(need, what, hint(options_.memoryLimitBytes, matrices));
    } else {
      requireMemory(need, what, hint(availableMemory().bytes, matrices));
    }
  }
  static std::string hint(std::uint64_t available, int matrices) {
    return ::recdiff::detail::concat("EASE fits at most ", maxItems(available, matrices),
                          " items here (use ItemKNN or RP3beta, which keep sparse weights)");
  }

  /// a = XᵀX on entry (released); leaves B in weights_. At most two n × n matrices are alive at any time.
  void solve(ColMatrix& a) {
    const Index n = a.rows();
    a.diagonal().array() += static_cast<Scalar>(options_.lambda);
    const Index block = 128;
    const Index blocks = (n + block - 1) / block;
    ColMatrix p;
    if (options_.solver == EASESolver::llt) {
      Eigen::LLT<Eigen::Ref<ColMatrix>> llt(a);  // in place: the lower triangle of a becomes L
      RECDIFF_REQUIRE(llt.info() == Eigen::Success, "EASE::fit(): XᵀX + lambda I is not positive definite");
      // Y = L⁻¹ (lower triangular), one column block [c0, c0 + w) at a time: its rows above c0 stay zero, so
      // the forward solve only involves L[c0:, c0:].
      ColMatrix y = ColMatrix::Identity(n, n);
      parallelFor(blocks, true, LoopSchedule::dynamic(1), [&](Index b) {
        const Index c0 = b * block;
        const Index width = std::min(block, n - c0);
        a.bottomRightCorner(n - c0, n - c0).template triangularView<Eigen::Lower>().solveInPlace(
            y.block(c0, c0, n - c0, width));
      });
      a.resize(0, 0);
      // P = L⁻ᵀL⁻¹ = YᵀY. Column block J = [c0, c0 + w): Y(k, J) = 0 for k < c0, so
      // P(0 : c0 + w, J) = Y(c0:, 0 : c0 + w)ᵀ · Y(c0:, J) gives the upper triangle with GEMMs (n³/3 flops).
      p.resize(n, n);
      parallelFor(blocks, true, LoopSchedule::dynamic(1), [&](Index k) {  // the last (largest) blocks first
        const Index c0 = (blocks - 1 - k) * block;
        const Index width = std::min(block, n - c0);
        p.block(0, c0, c0 + width, width).noalias() =
            y.block(c0, 0, n - c0, c0 + width).transpose() * y.block(c0, c0, n - c0, width);
      });
    } else {
      const Eigen::LDLT<Eigen::Ref<ColMatrix>> ldlt(a);
      RECDIFF_REQUIRE(ldlt.info() == Eigen::Success && ldlt.isPositive(),
                      "EASE::fit(): XᵀX + lambda I is not positive definite");
      p.resize(n, n);
      parallelFor(blocks, true, LoopSchedule::dynamic(1), [&](Index b) {
        const Index c0 = b * block;
        const Index width = std::min(block, n - c0);
        p.middleCols(c0, width) = ldlt.solve(ColMatrix::Identity(n, n).middleCols(c0, width));
      });
      a.resize(0, 0);
    }
    // Make P exactly symmetric from its upper triangle (64 × 64 tiles), then B(i, :) = −P(:, i)ᵀ ⊘ diag(P)ᵀ.
    const Index tile = 64;
    parallelFor((n + tile - 1) / tile, true, LoopSchedule::dynamic(1), [&](Index jt) {
      const Index jb = jt * tile;
      for (Index ib = jb; ib < n; ib += tile)
        for (Index j = jb; j < std::min(jb + tile, n); ++j)
          for (Index i = std::max(ib, j + 1); i < std::min(ib + tile, n); ++i) p(i, j) = p(j, i);
    });
    const ColVector<Scalar> inverseDiagonal = p.diagonal().cwiseInverse();
    weights_.resize(n, n);
    parallelFor(n, true, [&](Index i) {
      weights_.row(i) = -(p.col(i).cwiseProduct(inverseDiagonal)).transpose();
      weights_(i, i) = Scalar(0);
    });
  }

  EASEOptions options_;
  RowMatrix<Scalar> weights_;
};

}  // namespace recdiff::baselines

#endif  // RECDIFF_BASELINES_EASE_HPP
