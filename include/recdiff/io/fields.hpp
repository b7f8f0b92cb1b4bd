#ifndef RECDIFF_IO_FIELDS_HPP
#define RECDIFF_IO_FIELDS_HPP

/// \file fields.hpp
/// One field table per options struct, visited by everything that names an option: the checkpoint writer and
/// reader (a model's hyperparameters() / optionsFromHyperparameters()), the examples' command line
/// (examples/common/options_cli.hpp) and their --report JSON. Each option's key, help text and CLI spelling is
/// written once, in the table:
///
///   struct MyOptions {
///     Index steps = 40;
///     double learningRate = 1e-3;
///     template <class Self, class V>           // Self = MyOptions or const MyOptions
///     static void fields(Self& o, V&& v) {
///       v(io::Field("steps", "diffusion steps"), o.steps);
///       v(io::Field("lr", "learning rate").flag("--lr,--learning-rate"), o.learningRate);
///     }
///   };
///   std::map<std::string, std::string> h = io::fieldsToText(MyOptions{});    // {"lr": "0.001", "steps": "40"}
///   MyOptions o = io::fieldsFromText<MyOptions>(h, "MyModel::optionsFromHyperparameters()");
///
/// Field types: Index, int, double, bool ("1" / "0"), std::string, std::vector<Index> and std::vector<double>
/// (comma separated, "" = empty; brackets and spaces ignored when read), std::optional<double> ("default" =
/// unset), and enums with a `fieldChoices(E)` function found by argument-dependent lookup (the names are the
/// text; '-' reads as '_'). A type with `toText()` / `fromText(std::string_view)` members (e.g. the schedule-name
/// reference of io/schedule_fields.hpp) is visited as itself, as a temporary.
/// Numbers are written as %g with the fewest digits (at least 6) that read back to the same double.

#include <array>
#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"

namespace recdiff::io {

/// What a field table says about one field besides the member itself. Built with chained setters:
/// `Field("first_beta", "overwrite the first beta").flag("--beta1").optional()`.
struct Field {
  constexpr Field(std::string_view key, std::string_view help) : key_(key), help_(help) {}

  /// CLI11 names, e.g. "--beta1" or "--hidden,--hidden-size"; default: "--" + key with '-' for '_'. A bool
  /// field whose first name starts with "--no-" is a flag that sets it false; any other bool flag sets it true.
  constexpr Field flag(std::string_view names) const {
    Field f = *this;
    f.flag_ = names;
    return f;
  }
  /// An execution setting (threads, tiles, which of two equal loops): on the command line and in reports, not in
  /// checkpoints.
  constexpr Field execution() const {
    Field f = *this;
    f.checkpointed_ = false;
    return f;
  }
  /// May be missing from a checkpoint written before the field existed; reading one keeps the default.
  constexpr Field optional() const {
    Field f = *this;
    f.optional_ = true;
    return f;
  }

  constexpr std::string_view key() const noexcept { return key_; }
  constexpr std::string_view help() const noexcept { return help_; }
  constexpr std::string_view flagNames() const noexcept { return flag_; }
  constexpr bool checkpointed() const noexcept { return checkpointed_; }
  constexpr bool isOptional() const noexcept { return optional_; }

  /// The CLI11 option names: flag() when given, else "--" + key with '-' for '_'.
  std::string cliNames() const {
    if (!flag_.empty()) return std::string(flag_);
    std::string s = "--";
    for (const char ch : key_) s += ch == '_' ? '-' : ch;
    return s;
  }

 private:
  std::string_view key_, help_, flag_;
  bool checkpointed_ = true;
  bool optional_ = false;
};

template <class E>
using FieldChoice = std::pair<std::string_view, E>;

namespace detail {

template <class T>
concept SelfCodedField = requires(const T& t, T& m, std::string_view s) {
  { t.toText() } -> std::convertible_to<std::string>;
  { t.fromText(s) } -> std::same_as<bool>;
};

template <class E>
concept ChoiceEnum = std::is_enum_v<E> && requires(E e) { fieldChoices(e); };

/// printf's %g with the fewest significant digits (6 at least, as an ostream writes) that read back to `v`.
inline std::string numberText(double v) {
  char buf[64];
  for (int digits = 6;; ++digits) {
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, digits);
    double back = 0.0;
    std::from_chars(buf, r.ptr, back);
    if (back == v || digits >= 17 || !std::isfinite(v)) return std::string(buf, r.ptr);
  }
}

/// The whole of `s` as a double (strtod rules: "1e-3", "inf"); false otherwise.
inline bool parseNumber(std::string_view s, double& out) {
  if (s.empty()) return false;
  const std::string text(s);
  std::size_t used = 0;
  try {
    out = std::stod(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == text.size();
}

/// `s` without brackets and spaces ("[200, 600]" -> "200,600").
inline std::string listText(std::string_view s) {
  std::string clean;
  for (const char ch : s)
    if (ch != '[' && ch != ']' && ch != ' ') clean += ch;
  return clean;
}

}  // namespace detail

/// Text form of each field type: toText(), fromText() (false: ill-typed) and what the text must be (errors).
template <class T, class = void>
struct FieldCodec;

template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
struct FieldCodec<T> {
  static constexpr const char* kExpected = "a whole number >= 0";
  static std::string toText(T v) { return std::to_string(v); }
  static bool fromText(std::string_view s, T& out) {
    double x = 0.0;
    if (!detail::parseNumber(s, x) || !(x >= 0) || std::floor(x) != x || x > 9.0e18 ||
        x > static_cast<double>(std::numeric_limits<T>::max()))
      return false;
    out = static_cast<T>(x);
    return true;
  }
};

template <>
struct FieldCodec<double> {
  static constexpr const char* kExpected = "a number";
  static std::string toText(double v) { return detail::numberText(v); }
  static bool fromText(std::string_view s, double& out) { return detail::parseNumber(s, out); }
};

template <>
struct FieldCodec<bool> {
  static constexpr const char* kExpected = "1 or 0";
  static std::string toText(bool v) { return v ? "1" : "0"; }
  static bool fromText(std::string_view s, bool& out) {
    if (s != "1" && s != "0") return false;
    out = s == "1";
    return true;
  }
};

template <>
struct FieldCodec<std::string> {
  static constexpr const char* kExpected = "a text";
  static std::string toText(const std::string& v) { return v; }
  static bool fromText(std::string_view s, std::string& out) {
    out = std::string(s);
    return true;
  }
};

template <>
struct FieldCodec<std::optional<double>> {
  static constexpr const char* kExpected = "a number or 'default'";
  static std::string toText(const std::optional<double>& v) { return v ? detail::numberText(*v) : "default"; }
  static bool fromText(std::string_view s, std::optional<double>& out) {
    if (s == "default") {
      out.reset();
      return true;
    }
    double x = 0.0;
    if (!detail::parseNumber(s, x)) return false;
    out = x;
    return true;
  }
};

template <class T>
  requires(std::is_same_v<T, Index> || std::is_same_v<T, double>)
struct FieldCodec<std::vector<T>> {
  static constexpr const char* kExpected =
      std::is_same_v<T, Index> ? "a comma-separated list of positive whole numbers" : "a comma-separated list of numbers";
  static std::string toText(const std::vector<T>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) s += ',';  // not `(i ? "," : "") + …`: GCC 12 warns (-Wrestrict, a known false positive) on it
      s += FieldCodec<T>::toText(v[i]);
    }
    return s;
  }
  static bool fromText(std::string_view s, std::vector<T>& out) {
    const std::string clean = detail::listText(s);
    std::vector<T> v;
    std::size_t at = 0;
    while (!clean.empty() && at <= clean.size()) {
      const std::size_t end = std::min(clean.find(',', at), clean.size());
      T x{};
      if (!FieldCodec<T>::fromText(std::string_view(clean).substr(at, end - at), x)) return false;
      if constexpr (std::is_same_v<T, Index>) {
        if (x <= 0) return false;
      }
      v.push_back(x);
      at = end + 1;
    }
    out = std::move(v);
    return true;
  }
};

template <class E>
  requires detail::ChoiceEnum<E>
struct FieldCodec<E> {
  static constexpr const char* kExpected = "one of the listed names";
  static std::string toText(E v) {
    for (const auto& [name, value] : fieldChoices(E{}))
      if (value == v) return std::string(name);
    RECDIFF_REQUIRE(false, "io::FieldCodec: an enum value without a name");
    return {};
  }
  static bool fromText(std::string_view s, E& out) {
    std::string t(s);
    for (char& ch : t)
      if (ch == '-') ch = '_';
    for (const auto& [name, value] : fieldChoices(E{}))
      if (name == t) {
        out = value;
        return true;
      }
    return false;
  }
  /// "a | b | c", for help texts and errors.
  static std::string names() {
    std::string s;
    for (const auto& [name, value] : fieldChoices(E{})) s += (s.empty() ? "" : " | ") + std::string(name);
    return s;
  }
};

template <class T>
  requires detail::SelfCodedField<T>
struct FieldCodec<T> {
  static constexpr const char* kExpected = T::kExpected;
  static std::string toText(const T& v) { return v.toText(); }
  static bool fromText(std::string_view s, const T& target) { return target.fromText(s); }
};

/// What a value of field type T must look like, for messages: enums list their names.
template <class T>
std::string expectedText() {
  if constexpr (requires { FieldCodec<T>::names(); }) return "one of " + FieldCodec<T>::names();
  else return FieldCodec<T>::kExpected;
}

/// Parses `text` into `value` (a member, or a self-coded temporary); throws std::invalid_argument
/// "<who>: '<key>' = '<text>' is not <expected>" when it is ill-typed or rejected.
template <class T>
void setFieldFromText(const Field& f, T&& value, std::string_view text, const std::string& who) {
  using D = std::remove_cvref_t<T>;
  bool ok = false;
  std::string reason;
  try {
    ok = FieldCodec<D>::fromText(text, value);
  } catch (const std::invalid_argument& e) {
    reason = e.what();
  }
  RECDIFF_REQUIRE(ok, who, ": '", f.key(), "' = '", text, "' is not ", expectedText<D>(),
                  reason.empty() ? "" : " (", reason, reason.empty() ? "" : ")");
}

/// Visits the field table of `options` (const or not): Options::fields(options, visitor).
template <class Options, class Visitor>
void visitFields(Options& options, Visitor&& visitor) {
  std::remove_const_t<Options>::fields(options, std::forward<Visitor>(visitor));
}

/// Which fields fieldsToText() writes.
enum class FieldSelection { kCheckpointed, kAll };

/// Every field of `options` as text, keyed by field key (kCheckpointed: the checkpoint's hyperparameters).
template <class Options>
std::map<std::string, std::string> fieldsToText(const Options& options,
                                                FieldSelection which = FieldSelection::kCheckpointed) {
  std::map<std::string, std::string> out;
  visitFields(options, [&](const Field& f, auto&& value) {
    if (which == FieldSelection::kCheckpointed && !f.checkpointed()) return;
    using D = std::remove_cvref_t<decltype(value)>;
    const auto [it, inserted] = out.emplace(std::string(f.key()), FieldCodec<D>::toText(value));
    RECDIFF_REQUIRE(inserted, "io::fieldsToText(): the field table names '", f.key(), "' twice");
  });
  return out;
}

/// Reads every checkpointed field of `options` from `map` in table order (a missing optional() field keeps its
/// value). Throws std::invalid_argument prefixed by `who`: "no '<key>' entry", "'<key>' = '<v>' is not …", and
/// "unknown entry '<key>'" for keys that are neither fields nor one of `extraKeys` (e.g. "items").
template <class Options>
void readFields(const std::map<std::string, std::string>& map, Options& options, const std::string& who,
                std::initializer_list<std::string_view> extraKeys = {}) {
  std::map<std::string, bool, std::less<>> known;
  for (const std::string_view k : extraKeys) known.emplace(std::string(k), true);
  visitFields(options, [&](const Field& f, auto&& value) {
    if (!f.checkpointed()) return;
    known.emplace(std::string(f.key()), true);
    const auto it = map.find(std::string(f.key()));
    if (it == map.end()) {
      RECDIFF_REQUIRE(f.isOptional(), who, ": no '", f.key(), "' entry");
      return;
    }
    setFieldFromText(f, std::forward<decltype(value)>(value), it->second, who);
  });
  for (const auto& [k, v] : map) RECDIFF_REQUIRE(known.count(k) > 0, who, ": unknown entry '", k, "' = '", v, "'");
}

/// readFields() into a default-constructed Options.
template <class Options>
Options fieldsFromText(const std::map<std::string, std::string>& map, const std::string& who,
                       std::initializer_list<std::string_view> extraKeys = {}) {
  Options o;
  readFields(map, o, who, extraKeys);
  return o;
}

}  // namespace recdiff::io

#endif  // RECDIFF_IO_FIELDS_HPP
