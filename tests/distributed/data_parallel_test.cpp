// The single-process side of data-parallel training (no MPI needed): the row shards, the shard draws of the
// dropout mask and the noise (rows of the whole batch's draw), and SingleProcess, with which a model trains
// and evaluates exactly as without the distributed module. The N-rank checks run under mpirun
// (tests/distributed/mpi_check.cpp, ctest label mpi).

#include <numeric>
#include <stdexcept>
#include <vector>

#include <recdiff/distributed/communicator.hpp>
#include <recdiff/distributed/data_parallel.hpp>
#include <recdiff/distributed/evaluation.hpp>
#include <recdiff/models/diffrec.hpp>
#include <recdiff/nn/dropout.hpp>
#include <recdiff/random/rng.hpp>
#include <recdiff/simd/kernels.hpp>

#include "support/catch.hpp"

using recdiff::Index;
using recdiff::RowMatrix;
namespace dist = recdiff::distributed;

TEST_CASE("rowShard cuts a batch into contiguous rank-ordered shards that differ by at most one row",
          "[distributed][shard]") {
  for (const Index rows : {3, 13, 64, 401})
    for (const Index ranks : {1, 2, 3, 5}) {
      if (rows < ranks) continue;
      Index next = 0;
      const std::vector<int> counts = dist::shardCounts(rows, static_cast<int>(ranks));
      for (Index r = 0; r < ranks; ++r) {
        const auto s = recdiff::train::rowShard(rows, r, ranks);
        CHECK(s.begin == next);
        CHECK((s.rows() == rows / ranks || s.rows() == rows / ranks + 1));
        CHECK(s.rows() == counts[static_cast<std::size_t>(r)]);
        next = s.end;
      }
      CHECK(next == rows);
    }
  CHECK_THROWS_WITH(recdiff::train::rowShard(2, 0, 3), Catch::Contains("a batch of 2 rows cannot be split over 3"));
}

TEST_CASE("A dropout row shard draws exactly those rows of the whole batch's mask and advances as it does",
          "[distributed][dropout]") {
  // 70 columns: shards start inside a 64-element Philox group.
  const Index rows = 37, cols = 70;
  const recdiff::nn::Dropout<float> start(0.5, recdiff::Rng(9, 4));
  for (int call = 0; call < 2; ++call) {  // the second draw checks that the generator advanced alike
    recdiff::nn::Dropout<float> whole = start;
    RowMatrix<float> x = RowMatrix<float>::Ones(rows, cols), y;
    for (int c = 0; c <= call; ++c) whole.forward(x, y);
    const RowMatrix<float> full = whole.mask();
    for (const Index ranks : {2, 3, 5}) {
      for (Index r = 0; r < ranks; ++r) {
        const auto s = recdiff::train::rowShard(rows, r, ranks);
        recdiff::nn::Dropout<float> part = start;
        RowMatrix<float> xs = RowMatrix<float>::Ones(s.rows(), cols), ys;
        for (int c = 0; c <= call; ++c) {
          part.setRowShard(s.begin, rows);
          part.forward(xs, ys);
        }
        CHECK(part.mask() == full.middleRows(s.begin, s.rows()));
        CHECK(part.rng().position() == whole.rng().position());
      }
    }
  }
}

TEST_CASE("forwardNoise from an element offset gives those rows of the whole batch's noise",
          "[distributed][noise]") {
  const Index rows = 9, cols = 45;
  recdiff::Rng rng(3);
  const recdiff::random::NoiseAddress at = rng.reserveNoise<float>(static_cast<std::uint64_t>(rows * cols));
  RowMatrix<float> x0 = RowMatrix<float>::Random(rows, cols), xt(rows, cols), eps(rows, cols);
  recdiff::ArrayX<float> a = recdiff::ArrayX<float>::Constant(rows, 0.8f), b = recdiff::ArrayX<float>::Constant(rows, 0.6f);
  recdiff::simd::forwardNoise<float>(at, x0, a, b, xt, eps);
  const Index first = 4, n = 3;
  RowMatrix<float> xs(n, cols), es(n, cols);
  recdiff::simd::forwardNoise<float>(at, n, cols, x0.row(first).data(), cols, a.data(), b.data(), xs.data(), cols,
                                     es.data(), cols, static_cast<std::uint64_t>(first * cols));
  CHECK(es == eps.middleRows(first, n));
  CHECK(xs == xt.middleRows(first, n));
}

namespace {
recdiff::data::Interactions smallData(std::uint64_t seed) {
  recdiff::Rng rng(seed);
  std::vector<int> u, i;
  for (int a = 0; a < 30; ++a)
    for (int b = 0; b < 20; ++b)
      if (b == a % 20 || rng.uniform() < 0.2) {
        u.push_back(a);
        i.push_back(b);
      }
  return recdiff::data::Interactions::fromTriplets(30, 20, u, i);
}
}  // namespace

TEST_CASE("With SingleProcess a model trains and evaluates bit for bit as without the distributed module",
          "[distributed][single]") {
  const auto train = smallData(1), valid = smallData(2), test = smallData(3);
  recdiff::DiffRecOptions o;
  o.dims = {16};
  o.steps = 6;
  o.lossHistory = 2;
  o.batchSize = 8;
  recdiff::DiffRec<> plain(o, 20, 5), wrapped(o, 20, 5);
  dist::SingleProcess one;
  dist::makeDataParallel(wrapped, one);
  const recdiff::FitOptions fit{.epochs = 6, .seed = 2};
  (void)plain.fit(train, fit);
  (void)wrapped.fit(train, fit);
  CHECK(plain.model().parameters().values() == wrapped.model().parameters().values());
  CHECK((plain.timestepSampler().lossHistory() == wrapped.timestepSampler().lossHistory()).all());
  const std::vector<Index> ks = {5};
  recdiff::Rng r1(1), r2(1);
  const auto a = recdiff::metrics::evaluateSplits(plain, train, valid, test, ks, r1, {.batch = 7});
  const auto b = dist::evaluateSplits(wrapped, one, train, valid, test, ks, r2, {.batch = 7});
  REQUIRE(a.entries().size() == b.entries().size());
  for (const auto& [key, value] : a.entries()) CHECK(b.at(key) == value);
  CHECK(one.communicationSeconds() == 0.0);
}

TEST_CASE("userShard gives every rank whole scoring batches, contiguous, covering every user once",
          "[distributed][evaluation]") {
  for (const int ranks : {1, 2, 3, 7}) {
    Index next = 0;
    for (int r = 0; r < ranks; ++r) {
      const auto [begin, end] = dist::userShard(50, 7, r, ranks);
      CHECK(begin == next);
      CHECK((begin % 7 == 0 || begin == 50));
      next = end;
    }
    CHECK(next == 50);
  }
}

TEST_CASE("runOrAbort returns the body's code, and 1 with the message for an exception on one process",
          "[distributed][errors]") {
  dist::SingleProcess one;
  CHECK(dist::runOrAbort(one, [] { return 7; }) == 7);
  CHECK(dist::runOrAbort(one, []() -> int { throw std::invalid_argument("bad batch"); }) == 1);
}
