#include <recdiff/nn/linear.hpp>
#include <recdiff/nn/parameters.hpp>

#include <limits>

#include "support/catch.hpp"

namespace nn = recdiff::nn;

TEST_CASE("ParameterBinder hands consecutive slices to layers", "[nn][parameters]") {
  nn::Linear<double> a(2, 3), b(3, 1);
  nn::ParameterBuffer<double> params(a.parameterCount() + b.parameterCount());
  nn::ParameterBinder<double> binder(params);
  CHECK(binder.bind(a) == 0);
  CHECK(binder.bind(b) == 9);
  CHECK(binder.offset() == 13);
  b.weight().setConstant(7.0);
  CHECK(params.values().segment(9, 3).isApprox(Eigen::Vector3d::Constant(7.0)));
  a.biasGrad().setOnes();
  CHECK(params.grads().segment(6, 3).isOnes());
  params.zeroGrad();
  CHECK(params.grads().isZero(0));
}

TEST_CASE("ParameterBuffer rejects slices outside the buffer", "[nn][parameters]") {
  nn::ParameterBuffer<float> params(4);
  CHECK_THROWS_AS(params.valueSlice(2, 3), std::invalid_argument);
  CHECK_THROWS_AS(params.gradSlice(-1, 1), std::invalid_argument);
  nn::Linear<float> tooBig(4, 4);
  nn::ParameterBinder<float> binder(params);
  CHECK_THROWS_AS(binder.bind(tooBig), std::invalid_argument);
}

TEST_CASE("ParameterBuffer zeroes and checks large gradient buffers chunk by chunk", "[nn][parameters]") {
  // 5 chunks of 65,536 and a partial one: the parallel path when two threads are available.
  const recdiff::Index n = 5 * 65536 + 123;
  nn::ParameterBuffer<float> params(n);
  params.grads().setConstant(2.0f);
  CHECK(params.gradsFinite());
  for (const recdiff::Index at : {recdiff::Index{0}, recdiff::Index{3 * 65536 + 7}, n - 1}) {
    INFO("bad value at " << at);
    params.grads()(at) = std::numeric_limits<float>::quiet_NaN();
    CHECK_FALSE(params.gradsFinite());
    params.grads()(at) = -std::numeric_limits<float>::infinity();
    CHECK_FALSE(params.gradsFinite());
    params.grads()(at) = 1.0f;
    CHECK(params.gradsFinite());
  }
  params.zeroGrad();
  CHECK(params.grads().cwiseAbs().maxCoeff() == 0.0f);
  CHECK(params.values().size() == n);
}
