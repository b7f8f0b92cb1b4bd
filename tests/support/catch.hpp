#ifndef RECDIFF_TESTS_SUPPORT_CATCH_HPP
#define RECDIFF_TESTS_SUPPORT_CATCH_HPP
// The single place that includes Catch2 (Debian ships v2.13: <catch2/catch.hpp>).
#include <catch2/catch.hpp>
#endif
