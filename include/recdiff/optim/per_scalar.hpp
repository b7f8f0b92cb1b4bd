#ifndef RECDIFF_OPTIM_PER_SCALAR_HPP
#define RECDIFF_OPTIM_PER_SCALAR_HPP

/// \file per_scalar.hpp
/// Holds one instance of a state template per scalar type, so that an update policy (not itself templated on
/// the scalar) can own moment buffers for float and double models.

#include <type_traits>

namespace recdiff::optim::detail {

template <template <class> class State>
struct PerScalar {
  State<float> f;
  State<double> d;

  template <class Scalar>
  State<Scalar>& get() {
    static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                  "optim: parameters must be float or double");
    if constexpr (std::is_same_v<Scalar, float>) return f;
    else return d;
  }
  template <class Scalar>
  const State<Scalar>& get() const {
    return const_cast<PerScalar*>(this)->template get<Scalar>();
  }
};

}  // namespace recdiff::optim::detail

#endif  // RECDIFF_OPTIM_PER_SCALAR_HPP
