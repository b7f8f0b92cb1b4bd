#ifndef RECDIFF_TESTS_SUPPORT_TOLERANCES_HPP
#define RECDIFF_TESTS_SUPPORT_TOLERANCES_HPP
// Per-scalar tolerances (ensmallen's Tolerances<MatType> idea). Golden tolerances follow tests/golden/README.md.

namespace recdiff::test {

template <class Scalar>
struct Tolerance;

template <>
struct Tolerance<double> {
  static constexpr double kTable = 1e-12;     ///< schedule tables, sampler weights vs golden
  static constexpr double kModel = 1e-6;      ///< model outputs, losses, gradients vs golden
  static constexpr double kGradCheck = 1e-6;  ///< central differences vs backward
  static constexpr double kTight = 1e-12;
};

template <>
struct Tolerance<float> {
  static constexpr double kTable = 1e-6;
  static constexpr double kModel = 1e-4;
  static constexpr double kGradCheck = 1e-2;
  static constexpr double kTight = 1e-5;
};

}  // namespace recdiff::test

#endif
