#ifndef RECDIFF_CONFIG_HPP
#define RECDIFF_CONFIG_HPP

/// \file config.hpp
/// Version macros (the single source of truth: CMake parses the three lines below) and feature macros.

#define RECDIFF_VERSION_MAJOR 0
#define RECDIFF_VERSION_MINOR 1
#define RECDIFF_VERSION_PATCH 0

#define RECDIFF_STRINGIFY_DETAIL(x) #x
#define RECDIFF_STRINGIFY(x) RECDIFF_STRINGIFY_DETAIL(x)
#define RECDIFF_VERSION_STRING                                                    \
  RECDIFF_STRINGIFY(RECDIFF_VERSION_MAJOR)                                        \
  "." RECDIFF_STRINGIFY(RECDIFF_VERSION_MINOR) "." RECDIFF_STRINGIFY(RECDIFF_VERSION_PATCH)

#if !defined(__cplusplus) || __cplusplus < 202002L
#error "recdiff requires C++20 (compile with -std=c++20 or link recdiff::recdiff in CMake)"
#endif

/// RECDIFF_HAS_OPENMP is 1 when the translation unit is compiled with OpenMP.
#if defined(_OPENMP)
#define RECDIFF_HAS_OPENMP 1
#else
#define RECDIFF_HAS_OPENMP 0
#endif

/// RECDIFF_NO_SIMD (define it to 1) forces the scalar kernels everywhere.
#if !defined(RECDIFF_NO_SIMD)
#define RECDIFF_NO_SIMD 0
#endif

namespace recdiff {

/// Library version, as {major, minor, patch}.
struct Version {
  int major;
  int minor;
  int patch;
};

inline constexpr Version kVersion{RECDIFF_VERSION_MAJOR, RECDIFF_VERSION_MINOR, RECDIFF_VERSION_PATCH};
inline constexpr const char* kVersionString = RECDIFF_VERSION_STRING;

}  // namespace recdiff

#endif  // RECDIFF_CONFIG_HPP
