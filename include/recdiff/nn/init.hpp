#ifndef RECDIFF_NN_INIT_HPP
#define RECDIFF_NN_INIT_HPP

/// \file init.hpp
/// Parameter initialisers, all drawn from the library's seeded Rng. Weight matrices use torch's layout
/// [out × in], so fan_out = rows and fan_in = cols (Glorot & Bengio 2010, Eq. 16 and its normal variant).
/// Every function takes any writable Eigen object, including the Maps a layer exposes:
///   nn::init::xavierNormal(layer.weight(), rng);  nn::init::normal(layer.bias(), rng, 0.0, 0.001);

#include <cmath>

#include <Eigen/Core>

#include "../error.hpp"
#include "../random/rng.hpp"

namespace recdiff::nn::init {

/// N(mean, std²) in every coefficient.
template <class Derived>
void normal(const Eigen::MatrixBase<Derived>& out, Rng& rng, double mean, double stddev) {
  RECDIFF_REQUIRE(stddev >= 0.0, "init::normal(): stddev must be >= 0, got ", stddev);
  Derived& m = const_cast<Eigen::MatrixBase<Derived>&>(out).derived();
  rng.fillNormal(m, mean, stddev);
}

/// U[lo, hi) in every coefficient.
template <class Derived>
void uniform(const Eigen::MatrixBase<Derived>& out, Rng& rng, double lo, double hi) {
  RECDIFF_REQUIRE(lo <= hi, "init::uniform(): lo ", lo, " > hi ", hi);
  Derived& m = const_cast<Eigen::MatrixBase<Derived>&>(out).derived();
  rng.fillUniform(m, lo, hi);
}

/// Xavier (Glorot) normal: N(0, gain² · 2 / (fan_in + fan_out)), fan_in = cols, fan_out = rows.
template <class Derived>
void xavierNormal(const Eigen::MatrixBase<Derived>& out, Rng& rng, double gain = 1.0) {
  const double fanSum = static_cast<double>(out.rows() + out.cols());
  RECDIFF_REQUIRE(fanSum > 0, "init::xavierNormal(): empty matrix");
  normal(out, rng, 0.0, gain * std::sqrt(2.0 / fanSum));
}

/// Xavier (Glorot) uniform: U(−a, a), a = gain · √(6 / (fan_in + fan_out)).
template <class Derived>
void xavierUniform(const Eigen::MatrixBase<Derived>& out, Rng& rng, double gain = 1.0) {
  const double fanSum = static_cast<double>(out.rows() + out.cols());
  RECDIFF_REQUIRE(fanSum > 0, "init::xavierUniform(): empty matrix");
  const double a = gain * std::sqrt(6.0 / fanSum);
  uniform(out, rng, -a, a);
}

/// All zeros.
template <class Derived>
void zeros(const Eigen::MatrixBase<Derived>& out) {
  const_cast<Eigen::MatrixBase<Derived>&>(out).derived().setZero();
}

/// All ones.
template <class Derived>
void ones(const Eigen::MatrixBase<Derived>& out) {
  const_cast<Eigen::MatrixBase<Derived>&>(out).derived().setOnes();
}

}  // namespace recdiff::nn::init

#endif  // RECDIFF_NN_INIT_HPP
