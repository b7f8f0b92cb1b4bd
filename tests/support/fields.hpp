// Test support for the options field tables (include/recdiff/io/fields.hpp): a copy of an options struct with
// every field moved off its default, so that a round trip that drops or mixes up any field fails.
#ifndef RECDIFF_TESTS_SUPPORT_FIELDS_HPP
#define RECDIFF_TESTS_SUPPORT_FIELDS_HPP

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <recdiff/io/fields.hpp>
#include <recdiff/io/schedule_fields.hpp>

namespace recdiff::test {

/// `o` with every field changed: numbers moved, flags flipped, lists extended, enums to their next name, the
/// schedule renamed (linear, or cosine when it is linear) with every parameter set.
template <class Options>
Options perturbedOptions(Options o) {
  io::visitFields(o, [](const io::Field&, auto&& value) {
    using D = std::remove_cvref_t<decltype(value)>;
    if constexpr (std::is_same_v<D, bool>) {
      value = !value;
    } else if constexpr (std::is_integral_v<D>) {
      value = value + 3;
    } else if constexpr (std::is_same_v<D, double>) {
      value = value * 1.5 + 0.25;
    } else if constexpr (std::is_same_v<D, std::string>) {
      value += "x";
    } else if constexpr (std::is_same_v<D, std::optional<double>>) {
      value = value.value_or(0.5) + 0.125;
    } else if constexpr (std::is_same_v<D, std::vector<Index>>) {
      value.push_back(7);
    } else if constexpr (std::is_same_v<D, std::vector<double>>) {
      value = {0.1, 0.2, 0.30000000000000004};
    } else if constexpr (std::is_enum_v<D>) {
      const auto choices = fieldChoices(D{});
      for (std::size_t i = 0; i < choices.size(); ++i)
        if (choices[i].second == value) {
          value = choices[(i + 1) % choices.size()].second;
          break;
        }
    } else {  // the schedule name (io::ScheduleNameRef)
      value.spec.name = value.spec.name == "linear" ? "cosine" : "linear";
    }
  });
  return o;
}

}  // namespace recdiff::test

#endif  // RECDIFF_TESTS_SUPPORT_FIELDS_HPP
