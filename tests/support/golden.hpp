#ifndef RECDIFF_TESTS_SUPPORT_GOLDEN_HPP
#define RECDIFF_TESTS_SUPPORT_GOLDEN_HPP
// Reading the golden files (outputs of the reference implementations; see tests/golden/README.md).
// Arrays are {"shape": [...], "data": [row-major values]}.

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>
#include <recdiff/types.hpp>

#include "test_env.hpp"

namespace recdiff::test {

using Json = nlohmann::json;

/// Parses <goldenDir>/<name>; throws with the path when the file is missing or malformed.
inline Json loadGolden(const std::string& name) {
  const auto path = goldenDir() / name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("golden file not found: " + path.string() + " (set RECDIFF_GOLDEN_DIR)");
  try {
    return Json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error("golden file " + path.string() + " is not valid JSON: " + e.what());
  }
}

/// Number of elements an array's shape describes.
inline Index goldenSize(const Json& array) {
  Index n = 1;
  for (const auto& d : array.at("shape")) n *= d.get<Index>();
  return n;
}

/// A golden array as a row-major matrix: 2-D arrays keep their shape, 1-D become [1 × n] unless asColumn,
/// 0-D become [1 × 1]; higher ranks are flattened to [shape[0] × rest].
template <class Scalar = double>
RowMatrix<Scalar> goldenMatrix(const Json& array, bool asColumn = false) {
  const auto& shape = array.at("shape");
  const auto& data = array.at("data");
  const Index n = goldenSize(array);
  if (static_cast<Index>(data.size()) != n) throw std::runtime_error("golden array: shape and data disagree");
  Index rows = 1, cols = n;
  if (shape.size() == 1) {
    rows = asColumn ? n : 1;
    cols = asColumn ? 1 : n;
  } else if (shape.size() >= 2) {
    rows = shape[0].get<Index>();
    cols = rows == 0 ? 0 : n / rows;
  }
  RowMatrix<Scalar> m(rows, cols);
  for (Index i = 0; i < n; ++i) m.data()[i] = static_cast<Scalar>(data[static_cast<std::size_t>(i)].get<double>());
  return m;
}

/// A golden 1-D array (or any array, flattened) as a column array.
template <class Scalar = double>
Eigen::Array<Scalar, Eigen::Dynamic, 1> goldenArray(const Json& array) {
  const auto m = goldenMatrix<Scalar>(array);
  return Eigen::Map<const Eigen::Array<Scalar, Eigen::Dynamic, 1>>(m.data(), m.size());
}

/// max_i |a_i - b_i| / max(|b_i|, floor): the relative error the golden README's tolerances refer to.
template <class A, class B>
double maxRelativeError(const Eigen::DenseBase<A>& a, const Eigen::DenseBase<B>& b, double floor = 1e-12) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return std::numeric_limits<double>::infinity();
  double worst = 0.0;
  for (Index j = 0; j < a.cols(); ++j)
    for (Index i = 0; i < a.rows(); ++i) {
      const double x = static_cast<double>(a.derived().coeff(i, j)), y = static_cast<double>(b.derived().coeff(i, j));
      const double e = std::abs(x - y) / std::max(std::abs(y), floor);
      if (!(e <= worst)) worst = e;  // NaN propagates as "worst"
    }
  return worst;
}

/// max |a − b| / max |b| over a whole tensor: the error measure for model outputs, losses and gradients,
/// whose entries near zero would otherwise measure the reference's float32 rounding of per-timestep
/// coefficients and time embeddings (tests/golden/README.md), not the model. Infinity on a shape mismatch or NaN.
template <class A, class B>
double tensorRelativeError(const Eigen::DenseBase<A>& a, const Eigen::DenseBase<B>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return std::numeric_limits<double>::infinity();
  const double scale = static_cast<double>(b.derived().cwiseAbs().maxCoeff());
  const double diff = static_cast<double>((a.derived().template cast<double>() - b.derived().template cast<double>()).cwiseAbs().maxCoeff());
  return std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff / std::max(scale, 1e-300);
}

}  // namespace recdiff::test

#endif
