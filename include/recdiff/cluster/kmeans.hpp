#ifndef RECDIFF_CLUSTER_KMEANS_HPP
#define RECDIFF_CLUSTER_KMEANS_HPP

/// \file kmeans.hpp
/// k-means (Lloyd's iterations) with k-means++ initialisation (Arthur & Vassilvitskii 2007) and restarts, for
/// L-DiffRec's item clustering. The reference (`kmeans_pytorch`, random initial centres, one run) is replaced
/// by the standard, better-conditioned choice; the clusters only define which items share an encoder.
///
/// Algorithm, per restart r = 0 … restarts−1 with its own generator rng.fork(r):
///   init       k-means++: first centre uniform, each next centre drawn with probability ∝ D(x)², the squared
///              distance to the nearest centre chosen so far;
///   iterate    assign every point to its nearest centre (ties: the lower cluster index), move each centre to
///              the mean of its points; an emptied cluster takes the point farthest from its current centre;
///   converge   stop when no assignment changed, or when the total squared centre shift
///              Σ_c ‖μ_c − μ_c'‖² ≤ tolerance · mean per-feature variance of the data (scikit-learn's rule),
///              or after maxIterations (result.converged = false then);
///   select     the restart with the lowest inertia (Σ squared distances to the assigned centre); ties: the
///              earliest.
/// Labels are then renumbered by first appearance (point 0 is in cluster 0, the next new cluster is 1, ...), so
/// equal partitions give equal labels. Everything is computed in double; the result is a deterministic
/// function of (data, options, rng state).
///
/// Usage:
///   recdiff::Rng rng(1);
///   const auto result = recdiff::cluster::kmeans(itemEmbeddings, {.clusters = 2}, rng);
///   result.labels(i);   // cluster of row i

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <Eigen/Core>

#include "../error.hpp"
#include "../random/rng.hpp"
#include "../types.hpp"

namespace recdiff::cluster {

/// Options of kmeans().
struct KMeansOptions {
  Index clusters = 2;         ///< k >= 1, at most the number of points
  Index restarts = 5;         ///< independent k-means++ runs; the best inertia wins
  Index maxIterations = 300;  ///< Lloyd iterations per run
  double tolerance = 1e-4;    ///< relative centre-shift tolerance (see the file comment)
};

/// What kmeans() found.
struct KMeansResult {
  Eigen::ArrayXi labels;     ///< [points] cluster of each row, in [0, clusters), numbered by first appearance
  RowMatrix<double> centers; ///< [clusters × dim], row c = centre of cluster c
  Eigen::ArrayXi sizes;      ///< [clusters] points per cluster
  double inertia = 0.0;      ///< Σ squared distances to the assigned centre
  Index iterations = 0;      ///< Lloyd iterations of the chosen run
  bool converged = false;    ///< the chosen run met the convergence rule before maxIterations
};

namespace detail {

inline double squaredDistance(const RowMatrix<double>& x, Index i, const RowMatrix<double>& c, Index j) {
  return (x.row(i) - c.row(j)).squaredNorm();
}

/// One k-means++ initialisation followed by Lloyd iterations.
inline KMeansResult kmeansRun(const RowMatrix<double>& x, const KMeansOptions& o, double shiftTolerance, Rng& rng) {
  const Index n = x.rows(), k = o.clusters;
  KMeansResult r;
  r.centers.resize(k, x.cols());
  // k-means++
  std::vector<double> nearest(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
  Index chosen = rng.uniformIndex(n);
  for (Index c = 0; c < k; ++c) {
    r.centers.row(c) = x.row(chosen);
    if (c + 1 == k) break;
    double total = 0.0;
    for (Index i = 0; i < n; ++i) {
      nearest[static_cast<std::size_t>(i)] = std::min(nearest[static_cast<std::size_t>(i)], squaredDistance(x, i, r.centers, c));
      total += nearest[static_cast<std::size_t>(i)];
    }
    if (total <= 0.0) {  // fewer distinct points than clusters: any point not yet a centre
      chosen = (chosen + 1) % n;
      continue;
    }
    const double target = rng.uniform() * total;
    double acc = 0.0;
    chosen = n - 1;
    for (Index i = 0; i < n; ++i) {
      acc += nearest[static_cast<std::size_t>(i)];
      if (acc > target && nearest[static_cast<std::size_t>(i)] > 0.0) {
        chosen = i;
        break;
      }
    }
  }
  // Lloyd
  r.labels = Eigen::ArrayXi::Constant(n, -1);
  std::vector<double> dist(static_cast<std::size_t>(n));
  RowMatrix<double> sums(k, x.cols());
  r.sizes.resize(k);
  for (r.iterations = 1; r.iterations <= o.maxIterations; ++r.iterations) {
    bool changed = false;
    for (Index i = 0; i < n; ++i) {
      Index best = 0;
      double bestD = squaredDistance(x, i, r.centers, 0);
      for (Index c = 1; c < k; ++c) {
        const double d = squaredDistance(x, i, r.centers, c);
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      }
      dist[static_cast<std::size_t>(i)] = bestD;
      if (r.labels(i) != static_cast<int>(best)) {
        r.labels(i) = static_cast<int>(best);
        changed = true;
      }
    }
    if (!changed) {
      r.converged = true;
      break;
    }
    sums.setZero();
    r.sizes.setZero();
    for (Index i = 0; i < n; ++i) {
      sums.row(r.labels(i)) += x.row(i);
      ++r.sizes(r.labels(i));
    }
    double shift = 0.0;
    for (Index c = 0; c < k; ++c) {
      if (r.sizes(c) == 0) {  // empty cluster: the point farthest from its centre moves here
        // among points whose cluster keeps at least one other point (one exists: k <= n)
        Index far = -1;
        for (Index i = 0; i < n; ++i)
          if (r.sizes(r.labels(i)) > 1 && (far < 0 || dist[static_cast<std::size_t>(i)] > dist[static_cast<std::size_t>(far)]))
            far = i;
        RECDIFF_ASSERT(far >= 0);
        --r.sizes(r.labels(far));
        sums.row(r.labels(far)) -= x.row(far);
        r.labels(far) = static_cast<int>(c);
        r.sizes(c) = 1;
        sums.row(c) = x.row(far);
        dist[static_cast<std::size_t>(far)] = 0.0;
      }
    }
    for (Index c = 0; c < k; ++c) {
      const Eigen::RowVectorXd next = sums.row(c) / static_cast<double>(r.sizes(c));
      shift += (next - r.centers.row(c)).squaredNorm();
      r.centers.row(c) = next;
    }
    if (shift <= shiftTolerance) {
      r.converged = true;
      // one last assignment so that labels match the final centres
      for (Index i = 0; i < n; ++i) {
        Index best = 0;
        double bestD = squaredDistance(x, i, r.centers, 0);
        for (Index c = 1; c < k; ++c) {
          const double d = squaredDistance(x, i, r.centers, c);
          if (d < bestD) {
            bestD = d;
            best = c;
          }
        }
        r.labels(i) = static_cast<int>(best);
      }
      break;
    }
  }
  if (r.iterations > o.maxIterations) r.iterations = o.maxIterations;
  r.inertia = 0.0;
  r.sizes.setZero();
  for (Index i = 0; i < n; ++i) {
    r.inertia += squaredDistance(x, i, r.centers, r.labels(i));
    ++r.sizes(r.labels(i));
  }
  return r;
}

}  // namespace detail

/// k-means of the rows of `points` [n × dim] (see the file comment). Advances `rng` by nothing: every restart
/// uses rng.fork(restart), so the result depends on rng's seed and stream only.
template <class Derived>
KMeansResult kmeans(const Eigen::MatrixBase<Derived>& points, const KMeansOptions& o, const Rng& rng) {
  const Index n = points.rows();
  RECDIFF_REQUIRE(o.clusters >= 1 && o.clusters <= n, "kmeans(): clusters = ", o.clusters, " must lie in [1, points = ",
                  n, "]");
  RECDIFF_REQUIRE(o.restarts >= 1, "kmeans(): restarts must be positive, got ", o.restarts);
  RECDIFF_REQUIRE(o.maxIterations >= 1, "kmeans(): maxIterations must be positive, got ", o.maxIterations);
  RECDIFF_REQUIRE(o.tolerance >= 0.0, "kmeans(): tolerance must be non-negative, got ", o.tolerance);
  RECDIFF_REQUIRE(points.cols() >= 1, "kmeans(): points need at least one column");
  const RowMatrix<double> x = points.template cast<double>();
  RECDIFF_REQUIRE(x.allFinite(), "kmeans(): the points contain NaN or infinity");
  const Eigen::RowVectorXd mean = x.colwise().mean();
  const double meanVariance = (x.rowwise() - mean).array().square().colwise().sum().mean() / static_cast<double>(n);
  const double shiftTolerance = o.tolerance * meanVariance;
  KMeansResult best;
  for (Index r = 0; r < o.restarts; ++r) {
    Rng runRng = rng.fork(static_cast<std::uint64_t>(r));
    KMeansResult run = detail::kmeansRun(x, o, shiftTolerance, runRng);
    if (r == 0 || run.inertia < best.inertia) best = std::move(run);
  }
  // renumber by first appearance
  std::vector<int> map(static_cast<std::size_t>(o.clusters), -1);
  int next = 0;
  for (Index i = 0; i < n; ++i) {
    int& m = map[static_cast<std::size_t>(best.labels(i))];
    if (m < 0) m = next++;
  }
  for (auto& m : map)
    if (m < 0) m = next++;  // cannot happen (no empty clusters), kept total for safety
  KMeansResult out = best;
  for (Index i = 0; i < n; ++i) out.labels(i) = map[static_cast<std::size_t>(best.labels(i))];
  for (Index c = 0; c < o.clusters; ++c) {
    out.centers.row(map[static_cast<std::size_t>(c)]) = best.centers.row(c);
    out.sizes(map[static_cast<std::size_t>(c)]) = best.sizes(c);
  }
  return out;
}

}  // namespace recdiff::cluster

#endif  // RECDIFF_CLUSTER_KMEANS_HPP
