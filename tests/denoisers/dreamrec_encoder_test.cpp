// DreamRecEncoder (T-enc): the single-row computation against a naive full-matrix pass written like the
// reference's cacu_h, finite-difference gradients (every parameter, the item table included, with and without
// dropout, one and two heads, empty histories), the empty-history value, and padding independence.

#include <cmath>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include <recdiff/denoisers/dreamrec_encoder.hpp>

#include "support/catch.hpp"
#include "support/gradient_check.hpp"
#include "support/test_env.hpp"

namespace {

using recdiff::Index;
using recdiff::RowMatrix;
using Encoder = recdiff::DreamRecEncoder<double>;
using Matrix = RowMatrix<double>;

recdiff::DreamRecEncoderOptions smallOptions(Index heads, double dropout) {
  return {.items = 7, .hidden = 4, .heads = heads, .maxLength = 4, .dropout = dropout};
}

struct Fixture {
  Encoder::Histories seq{4, 4};
  Eigen::ArrayXi lengths{4};
  Fixture() {
    seq << 2, 5, 0, 0,  //
        1, 7, 4, 4,     //
        0, 0, 0, 0,     // empty history
        3, 0, 0, 0;
    lengths << 2, 4, 0, 1;
  }
};

/// The reference's cacu_h in evaluation mode, every position computed (keys masked where the key row is
/// all-zero, causal, scale 1/sqrt(H)), then the row length − 1 (the last row for an empty history).
Matrix naiveEncode(Encoder& enc, const Encoder::Histories& seq, const Eigen::ArrayXi& lengths) {
  const Index n = enc.hidden(), len = seq.cols(), heads = enc.options().heads, d = n / heads;
  Matrix out(seq.rows(), n);
  const auto table = enc.itemEmbedding().weight();
  const auto pos = enc.positionEmbedding().weight();
  // Parameter views by offset (bind order: E, P, LN1, q, kv, LN2, ffn, LNf, LN3).
  const double* p = table.data();
  Index at = (enc.items() + 1) * n + enc.options().maxLength * n;
  const auto take = [&](Index rows, Index cols) {
    Eigen::Map<const Matrix> m(p + at, rows, cols);
    at += rows * cols;
    return Matrix(m);
  };
  const Matrix g1 = take(1, n), b1 = take(1, n);
  const Matrix wq = take(n, n), bq = take(1, n);
  const Matrix wkv = take(2 * n, n), bkv = take(1, 2 * n);
  const Matrix g2 = take(1, n), b2 = take(1, n);
  const Matrix w1 = take(n, n), c1 = take(1, n), w2 = take(n, n), c2 = take(1, n);
  const Matrix gf = take(1, n), bf = take(1, n);
  const Matrix g3 = take(1, n), b3 = take(1, n);
  const auto ln = [&](const Matrix& x, const Matrix& g, const Matrix& b) {
    Matrix y(x.rows(), x.cols());
    for (Index i = 0; i < x.rows(); ++i) {
      const double mu = x.row(i).mean();
      const double var = (x.row(i).array() - mu).square().mean();
      y.row(i) = ((x.row(i).array() - mu) / std::sqrt(var + 1e-5) * g.row(0).array() + b.row(0).array()).matrix();
    }
    return y;
  };
  for (Index b = 0; b < seq.rows(); ++b) {
    Matrix s = Matrix::Zero(len, n);
    for (Index j = 0; j < len; ++j)
      if (seq(b, j) != 0) s.row(j) = table.row(seq(b, j)) + pos.row(j);
    const Matrix q = ln(s, g1, b1);
    Matrix Q = q * wq.transpose();
    Q.rowwise() += bq.row(0);
    Matrix KV = s * wkv.transpose();
    KV.rowwise() += bkv.row(0);
    Matrix a = q;
    for (Index h = 0; h < heads; ++h) {
      Matrix scores = Q.middleCols(h * d, d) * KV.middleCols(h * d, d).transpose() / std::sqrt(double(n));
      for (Index i = 0; i < len; ++i)
        for (Index j = 0; j < len; ++j)
          if (j > i || s.row(j).sum() == 0.0) scores(i, j) = -4294967295.0;
      for (Index i = 0; i < len; ++i) {
        const double mx = scores.row(i).maxCoeff();
        scores.row(i) = (scores.row(i).array() - mx).exp().matrix();
        scores.row(i) /= scores.row(i).sum();
        if (q.row(i).sum() == 0.0) scores.row(i).setZero();  // the reference's query mask
      }
      a.middleCols(h * d, d) += scores * KV.middleCols(n + h * d, d);
    }
    const Matrix r = ln(a, g2, b2);
    Matrix u = r * w1.transpose();
    u.rowwise() += c1.row(0);
    u = u.cwiseMax(0.0);
    Matrix v = u * w2.transpose();
    v.rowwise() += c2.row(0);
    Matrix f = ln(v + r, gf, bf);
    for (Index j = 0; j < len; ++j)
      if (seq(b, j) == 0) f.row(j).setZero();
    const Matrix o = ln(f, g3, b3);
    out.row(b) = o.row(lengths(b) > 0 ? lengths(b) - 1 : len - 1);
  }
  return out;
}

}  // namespace

TEST_CASE("DreamRecEncoder equals a full-matrix pass written like the reference", "[denoisers][dreamrec]") {
  recdiff::Rng rng(recdiff::test::seed());
  Fixture f;
  for (const Index heads : {1, 2}) {
    CAPTURE(heads);
    Encoder enc(smallOptions(heads, 0.1));
    recdiff::nn::ParameterBuffer<double> params(enc.parameterCount());
    recdiff::nn::ParameterBinder<double>(params).bind(enc);
    enc.reset(rng);
    params.values() += recdiff::test::randomMatrix<double>(params.size(), 1, rng, 0.1);  // LayerNorms away from 1 / 0
    enc.setTraining(false);
    Matrix h;
    enc.forward(f.seq, f.lengths, h);
    const Matrix expected = naiveEncode(enc, f.seq, f.lengths);
    CHECK(recdiff::test::relativeError(h, expected) < 1e-12);
  }
}

TEST_CASE("DreamRecEncoder gradient matches central differences", "[denoisers][dreamrec][gradcheck]") {
  recdiff::Rng rng(recdiff::test::seed());
  Fixture f;
  for (const Index heads : {1, 2})
    for (const double dropout : {0.0, 0.3}) {
      CAPTURE(heads, dropout);
      Encoder enc(smallOptions(heads, dropout));
      recdiff::nn::ParameterBuffer<double> params(enc.parameterCount());
      recdiff::nn::ParameterBinder<double>(params).bind(enc);
      enc.reset(rng);
      params.values() += recdiff::test::randomMatrix<double>(params.size(), 1, rng, 0.1);
      const Matrix w = recdiff::test::randomMatrix<double>(4, 4, rng);
      Matrix h;
      const auto loss = [&] {
        enc.setRng(recdiff::Rng(5));  // the same dropout masks at every evaluation
        enc.forward(f.seq, f.lengths, h);
        return (h.array() * w.array()).sum();
      };
      const auto analytic = [&] {
        loss();
        enc.backward(w);
      };
      CHECK(recdiff::test::gradientError(params, loss, analytic) < 1e-6);
    }
}

TEST_CASE("DreamRecEncoder on a batch large enough to split its rows over the threads", "[denoisers][dreamrec]") {
  // 96 histories (>= the encoder's parallel threshold of 64) of every length 0 … 4, two heads, dropout on:
  // the naive pass, central differences, and the same h and gradients on one thread and on two.
  recdiff::Rng rng(recdiff::test::seed());
  const Index batch = 96;
  Encoder::Histories seq = Encoder::Histories::Zero(batch, 4);
  Eigen::ArrayXi lengths(batch);
  for (Index b = 0; b < batch; ++b) {
    lengths(b) = static_cast<int>(b % 5);
    for (Index j = 0; j < lengths(b); ++j) seq(b, j) = static_cast<int>(rng.uniformIndex(7)) + 1;
  }
  Encoder enc(smallOptions(2, 0.3));
  recdiff::nn::ParameterBuffer<double> params(enc.parameterCount());
  recdiff::nn::ParameterBinder<double>(params).bind(enc);
  enc.reset(rng);
  params.values() += recdiff::test::randomMatrix<double>(params.size(), 1, rng, 0.1);
  Matrix h;
  enc.setTraining(false);
  enc.forward(seq, lengths, h);
  CHECK(recdiff::test::relativeError(h, naiveEncode(enc, seq, lengths)) < 1e-12);
  enc.setTraining(true);
  const Matrix w = recdiff::test::randomMatrix<double>(batch, 4, rng);
  const auto loss = [&] {
    enc.setRng(recdiff::Rng(5));
    enc.forward(seq, lengths, h);
    return (h.array() * w.array()).sum();
  };
  const auto analytic = [&] {
    loss();
    enc.backward(w);
  };
  CHECK(recdiff::test::gradientError(params, loss, analytic) < 1e-6);
#if defined(_OPENMP)
  const int saved = omp_get_max_threads();
  Matrix hThreads[2], gThreads[2];
  for (const int threads : {1, 2}) {
    omp_set_num_threads(threads);
    params.zeroGrad();
    analytic();
    hThreads[threads - 1] = h;
    gThreads[threads - 1] = params.grads();
  }
  omp_set_num_threads(saved);
  CHECK((hThreads[0].array() == hThreads[1].array()).all());
  CHECK((gThreads[0].array() == gThreads[1].array()).all());
#endif
}

TEST_CASE("DreamRecEncoder encodes an empty history as the output LayerNorm bias", "[denoisers][dreamrec]") {
  recdiff::Rng rng(recdiff::test::seed());
  Fixture f;
  Encoder enc(smallOptions(1, 0.1));
  recdiff::nn::ParameterBuffer<double> params(enc.parameterCount());
  recdiff::nn::ParameterBinder<double>(params).bind(enc);
  enc.reset(rng);
  params.values() += recdiff::test::randomMatrix<double>(params.size(), 1, rng, 0.1);
  Matrix h;
  enc.forward(f.seq, f.lengths, h);  // training mode: dropout does not reach an empty history
  CHECK((h.row(2) - enc.outputNorm().beta()).norm() == 0.0);
  // Its gradient reaches beta3 only.
  Matrix w = Matrix::Zero(4, 4);
  w.row(2) = recdiff::test::randomMatrix<double>(1, 4, rng);
  params.zeroGrad();
  enc.backward(w);
  CHECK((enc.outputNorm().betaGrad() - w.row(2)).norm() < 1e-15);
  CHECK(std::abs(params.grads().squaredNorm() - w.row(2).squaredNorm()) < 1e-15);
}

TEST_CASE("DreamRecEncoder ignores padded positions and items after the history", "[denoisers][dreamrec]") {
  recdiff::Rng rng(recdiff::test::seed());
  Encoder enc(smallOptions(2, 0.0));
  recdiff::nn::ParameterBuffer<double> params(enc.parameterCount());
  recdiff::nn::ParameterBinder<double>(params).bind(enc);
  enc.reset(rng);
  Encoder::Histories a(2, 4), b(2, 3);
  a << 2, 5, 0, 0, 6, 1, 3, 0;
  b << 2, 5, 0, 6, 1, 3;
  Eigen::ArrayXi lengths(2);
  lengths << 2, 3;
  Matrix ha, hb, hc;
  enc.forward(a, lengths, ha);
  enc.forward(b, lengths, hb);  // fewer columns: the same histories
  CHECK((ha - hb).norm() < 1e-14);
  enc.itemEmbedding().weight().row(0).setConstant(3.0);  // the padding row never enters
  enc.positionEmbedding().weight().row(3).setConstant(-2.0);  // nor a position past every history
  enc.forward(a, lengths, hc);
  CHECK((ha - hc).norm() == 0.0);
}

TEST_CASE("DreamRecEncoder rejects bad options and inputs", "[denoisers][dreamrec]") {
  CHECK_THROWS_AS(Encoder({.items = 0}), std::invalid_argument);
  CHECK_THROWS_AS(Encoder({.items = 3, .hidden = 6, .heads = 4}), std::invalid_argument);
  Encoder enc(smallOptions(1, 0.0));
  recdiff::nn::ParameterBuffer<double> params(enc.parameterCount());
  recdiff::nn::ParameterBinder<double>(params).bind(enc);
  Encoder::Histories s(1, 4);
  s << 1, 0, 2, 0;  // not right-padded
  Eigen::ArrayXi lengths(1);
  lengths << 1;
  Matrix h;
  CHECK_THROWS_AS(enc.forward(s, lengths, h), std::invalid_argument);
  s << 1, 9, 0, 0;  // id past the table
  lengths << 2;
  CHECK_THROWS_AS(enc.forward(s, lengths, h), std::invalid_argument);
  Encoder::Histories wide(1, 5);
  wide.setZero();
  lengths << 0;
  CHECK_THROWS_AS(enc.forward(wide, lengths, h), std::invalid_argument);
}
