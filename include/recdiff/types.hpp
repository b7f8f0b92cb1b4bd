#ifndef RECDIFF_TYPES_HPP
#define RECDIFF_TYPES_HPP

/// \file types.hpp
/// Basic types and the batch convention: a batch is a row-major matrix [batch × dim], one example per row
/// (like the PyTorch references and like CSR user rows). Timesteps are Eigen::ArrayXi of length batch.

#include <Eigen/Core>

namespace recdiff {

using Index = Eigen::Index;

/// Row-major dynamic matrix: [rows × cols], one example per row.
template <class Scalar>
using RowMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Row vector [1 × n].
template <class Scalar>
using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;

/// Column vector [n × 1].
template <class Scalar>
using ColVector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

/// Column array [n], for per-example coefficients.
template <class Scalar>
using ArrayX = Eigen::Array<Scalar, Eigen::Dynamic, 1>;

inline constexpr double kPi = 3.14159265358979323846264338327950288;

}  // namespace recdiff

#endif  // RECDIFF_TYPES_HPP
