#ifndef RECDIFF_TRAIN_TILED_HPP
#define RECDIFF_TRAIN_TILED_HPP

/// \file tiled.hpp
/// Data-parallel tiles for any model whose parameters live in one nn::ParameterBuffer: a batch of n rows is cut
/// into near-equal contiguous tiles (tile k = rows [n·k/tiles, n·(k+1)/tiles)), tile k runs on worker
/// k mod workers, each worker through its own replica of the model (worker 0 = the model itself; replicas get
/// the model's parameter values copied in), and the tile gradients are summed in tile order, each weighted by
/// its share of the rows, so the result is the batch mean. Nothing depends on the thread count: the same tiles
/// in the same order, each with its own random streams (the caller forks them from the tile index), give the
/// same bits at 1, 2 or 64 threads. Moved out of DiffuRec, which uses it for training and inference.
///
/// Usage:
///   train::Tiles<Approximator, Scratch> tiles(model, [&] { return std::make_unique<Approximator>(opts); });
///   const Index count = train::tileCount(n, 64);
///   const int workers = tiles.prepare(count, model.training());
///   tiles.run(count, workers, n, [&](int w, Index k, Index begin, Index rows) { … tiles.worker(w) … });
///   train::sumTileGradients(model.parameters(), tileGrads, n);

#include <algorithm>
#include <exception>
#include <functional>
#include <memory>
#include <vector>

#include "../error.hpp"
#include "../nn/parameters.hpp"
#include "../parallel.hpp"
#include "../types.hpp"

namespace recdiff::train {

/// Tiles of at most `tile` rows for n rows (tile 0: one tile).
inline Index tileCount(Index n, Index tile) { return tile > 0 ? std::max<Index>(1, (n + tile - 1) / tile) : 1; }
/// First row of tile k when n rows are cut into `tiles` near-equal contiguous tiles.
inline Index tileBegin(Index n, Index tiles, Index k) { return n * k / tiles; }
/// Rows of tile k.
inline Index tileRows(Index n, Index tiles, Index k) { return tileBegin(n, tiles, k + 1) - tileBegin(n, tiles, k); }

/// The tiles and rows one process computes when the tiles of a batch of n rows (tileCount(n, tile)) are split
/// over `ranks` data-parallel processes: a contiguous block of whole tiles in rank order, the first
/// tiles % ranks processes one tile more. A process may get none (fewer tiles than processes).
struct TileShard {
  Index firstTile = 0, lastTile = 0, firstRow = 0, lastRow = 0;
  Index tiles() const noexcept { return lastTile - firstTile; }
  Index rows() const noexcept { return lastRow - firstRow; }
};
inline TileShard tileShard(Index n, Index tile, Index rank, Index ranks) {
  RECDIFF_REQUIRE(ranks > 0 && rank >= 0 && rank < ranks, "train::tileShard(): rank ", rank, " of ", ranks);
  const Index tiles = tileCount(n, tile), base = tiles / ranks, extra = tiles % ranks;
  TileShard s;
  s.firstTile = rank * base + std::min(rank, extra);
  s.lastTile = s.firstTile + base + (rank < extra ? 1 : 0);
  s.firstRow = tileBegin(n, tiles, s.firstTile);
  s.lastRow = tileBegin(n, tiles, s.lastTile);
  return s;
}
/// Every process's rows of tileShard, in rank order (the counts of a gather of per-row values).
inline std::vector<int> tileShardRows(Index n, Index tile, Index ranks) {
  std::vector<int> rows(static_cast<std::size_t>(ranks));
  for (Index r = 0; r < ranks; ++r) rows[static_cast<std::size_t>(r)] = static_cast<int>(tileShard(n, tile, r, ranks).rows());
  return rows;
}

/// The workers of tiled runs: the model (worker 0) and replicas made on demand, plus a Scratch per worker.
/// Replica needs parameters() (an nn::ParameterBuffer), training() and setTraining(bool).
template <class Replica, class Scratch>
class Tiles {
 public:
  using Factory = std::function<std::unique_ptr<Replica>()>;

  Tiles(Replica& model, Factory makeReplica) : model_(&model), make_(std::move(makeReplica)) {
    RECDIFF_REQUIRE(static_cast<bool>(make_), "train::Tiles: no replica factory");
  }
  Tiles(const Tiles&) = delete;
  Tiles& operator=(const Tiles&) = delete;

  /// The model worker w runs on: the model itself for worker 0, a replica otherwise.
  Replica& worker(int w) { return w == 0 ? *model_ : *replicas_[static_cast<std::size_t>(w - 1)]; }
  Scratch& scratch(int w) { return scratch_[static_cast<std::size_t>(w)]; }

  /// Workers for `tiles` tiles (at most the available threads); creates the missing replicas, copies the
  /// model's parameter values into the ones used and sets their mode. Returns the number of workers.
  int prepare(Index tiles, bool training) {
    const int workers = static_cast<int>(std::min<Index>(availableThreads(), tiles));
    while (static_cast<int>(replicas_.size()) < workers - 1) replicas_.push_back(make_());
    if (static_cast<int>(scratch_.size()) < workers) scratch_.resize(static_cast<std::size_t>(workers));
    for (int w = 1; w < workers; ++w) {
      Replica& r = *replicas_[static_cast<std::size_t>(w - 1)];
      r.parameters().values() = model_->parameters().values();
      if (r.training() != training) r.setTraining(training);
    }
    return workers;
  }

  /// body(worker, k, begin, count) for the tiles k of n rows, tile k on worker k mod workers (one thread
  /// each). An exception thrown by a tile is rethrown here after every worker has stopped.
  template <class Body>
  void run(Index tiles, int workers, Index n, Body&& body) {
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(workers));
    parallelFor(workers, workers > 1, [&](Index w) {
      try {
        for (Index k = w; k < tiles; k += workers)
          body(static_cast<int>(w), k, tileBegin(n, tiles, k), tileRows(n, tiles, k));
      } catch (...) {
        errors[static_cast<std::size_t>(w)] = std::current_exception();
      }
    });
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

 private:
  Replica* model_;
  Factory make_;
  std::vector<std::unique_ptr<Replica>> replicas_;  // workers 1 …
  std::vector<Scratch> scratch_;                    // per worker
};

/// The batch-mean gradient of tiled runs: into.grads() = Σ_k (rows_k / n) · tileGrads[k], summed in tile order
/// (the same bits at any thread count), in parallel over 64 Ki-parameter chunks. With `tiles` and `firstTile`
/// given, tileGrads are tiles firstTile, firstTile + 1, … of n rows cut into `tiles` (a data-parallel shard's
/// share of the batch mean); by default they are all the tiles.
template <class Scalar>
void sumTileGradients(nn::ParameterBuffer<Scalar>& into, const std::vector<typename nn::ParameterBuffer<Scalar>::Vector>& tileGrads,
                      Index n, Index tiles = -1, Index firstTile = 0) {
  const Index mine = static_cast<Index>(tileGrads.size());
  if (tiles < 0) tiles = mine;
  RECDIFF_REQUIRE(mine > 0 && firstTile >= 0 && firstTile + mine <= tiles, "train::sumTileGradients(): tiles ",
                  firstTile, " + ", mine, " of ", tiles);
  auto& grads = into.grads();
  const Index size = grads.size(), chunk = 1 << 16, chunks = (size + chunk - 1) / chunk;
  parallelFor(chunks, chunks > 1, [&](Index c) {
    const Index begin = c * chunk, count = std::min(chunk, size - begin);
    for (Index k = 0; k < mine; ++k) {
      const Scalar share = static_cast<Scalar>(tileRows(n, tiles, firstTile + k)) / static_cast<Scalar>(n);
      const auto g = tileGrads[static_cast<std::size_t>(k)].segment(begin, count);
      if (k == 0) grads.segment(begin, count) = share * g;
      else grads.segment(begin, count) += share * g;
    }
  });
}

/// The batch-mean loss of tiled runs: Σ_k (rows_k / n) · tileLosses(k), in tile order (tiles and firstTile as
/// in sumTileGradients).
template <class Scalar>
Scalar sumTileLosses(const ArrayX<Scalar>& tileLosses, Index n, Index tiles = -1, Index firstTile = 0) {
  const Index mine = tileLosses.size();
  if (tiles < 0) tiles = mine;
  Scalar loss = 0;
  for (Index k = 0; k < mine; ++k)
    loss += static_cast<Scalar>(tileRows(n, tiles, firstTile + k)) / static_cast<Scalar>(n) * tileLosses(k);
  return loss;
}

}  // namespace recdiff::train

#endif  // RECDIFF_TRAIN_TILED_HPP
