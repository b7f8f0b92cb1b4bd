#include <recdiff/nn/linear.hpp>
#include <recdiff/nn/parameters.hpp>

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
