#ifndef RECDIFF_PYTHON_OPTIONS_HPP
#define RECDIFF_PYTHON_OPTIONS_HPP

// Python keyword arguments from the options' field tables (io/fields.hpp): one generic binding for every options
// struct. A keyword is a field's key ("batch_size") or one of its command-line names without the dashes
// ("--precision" -> precision, "--l2" -> l2); the value is turned into the field's text form (True -> "1",
// (200, 600) -> "200,600", None -> "default") and parsed by the field's own codec, so a Python keyword accepts
// exactly what a checkpoint header or a command-line flag accepts, with the same error messages.

#include <pybind11/pybind11.h>

#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <recdiff/io/fields.hpp>

namespace recdiff::python {

namespace py = pybind11;

/// The Python keywords of a field: its key and its CLI names without dashes ('-' -> '_'), "no_*" names left out.
inline std::vector<std::string> keywordsOf(const io::Field& f) {
  std::vector<std::string> names{std::string(f.key())};
  const std::string cli = f.cliNames();
  std::stringstream ss(cli);
  std::string name;
  while (std::getline(ss, name, ',')) {
    while (!name.empty() && name.front() == '-') name.erase(name.begin());
    for (char& ch : name)
      if (ch == '-') ch = '_';
    if (name.empty() || name.rfind("no_", 0) == 0) continue;
    bool known = false;
    for (const auto& n : names) known = known || n == name;
    if (!known) names.push_back(name);
  }
  return names;
}

/// A Python value as a field's text: bool -> "1"/"0", int, float (repr: round-trips), str, None -> "default",
/// a list / tuple / 1-d array -> comma-separated items.
inline std::string fieldText(const py::handle& v, const std::string& key) {
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>() ? "1" : "0";
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  if (v.is_none()) return "default";
  if (py::isinstance<py::int_>(v)) return py::str(v).cast<std::string>();
  if (py::isinstance<py::float_>(v)) return py::repr(v).cast<std::string>();
  if (py::hasattr(v, "dtype") && py::hasattr(v, "ndim") && v.attr("ndim").cast<int>() == 0) {  // a numpy scalar
    const std::string kind = py::str(v.attr("dtype").attr("kind")).cast<std::string>();
    const auto o = py::reinterpret_borrow<py::object>(v);
    if (kind == "b") return py::bool_(o).cast<bool>() ? "1" : "0";
    if (kind == "i" || kind == "u") return py::str(py::int_(o)).cast<std::string>();
    return py::repr(py::float_(o)).cast<std::string>();
  }
  if (py::isinstance<py::sequence>(v) || py::hasattr(v, "__iter__")) {
    std::string s;
    for (const py::handle item : v) {
      if (!s.empty()) s += ',';
      s += fieldText(item, key);
    }
    return s;
  }
  throw py::type_error("'" + key + "': cannot use a value of type " +
                       py::str(v.get_type().attr("__name__")).cast<std::string>());
}

/// Sets the fields of `options` named in `kwargs` (in table order, so e.g. noise_schedule resets the noise
/// parameters before noise_min sets one), and records the keywords used in `used`. Two keywords for one field
/// are a TypeError; an ill-typed value is a ValueError "<who>: '<key>' = '<text>' is not <expected>".
template <class Options>
void applyKeywords(Options& options, const py::dict& kwargs, const std::string& who, std::set<std::string>& used) {
  io::visitFields(options, [&](const io::Field& f, auto&& value) {
    const std::vector<std::string> names = keywordsOf(f);
    std::string given;
    for (const auto& n : names) {
      if (!kwargs.contains(n)) continue;
      if (!given.empty())
        throw py::type_error(who + ": '" + given + "' and '" + n + "' set the same option '" + std::string(f.key()) + "'");
      given = n;
    }
    if (given.empty()) return;
    used.insert(given);
    const std::string text = fieldText(kwargs[py::str(given)], given);
    io::setFieldFromText(f, std::forward<decltype(value)>(value), text, who);
  });
}

/// Every keyword of `options` with its default (as text) and help, one "name = default: help" line each.
template <class Options>
std::string keywordHelp(const Options& options) {
  std::string out;
  io::visitFields(options, [&](const io::Field& f, auto&& value) {
    using D = std::remove_cvref_t<decltype(value)>;
    const std::vector<std::string> names = keywordsOf(f);
    std::string line = "    " + names.front();
    for (std::size_t i = 1; i < names.size(); ++i) line += " (or " + names[i] + ")";
    line += " = " + io::FieldCodec<D>::toText(value) + ": " + std::string(f.help()) + "\n";
    out += line;
  });
  return out;
}

/// The Python type of a field type, for the generated type stubs (python/stubgen.py).
template <class T>
const char* pythonType() {
  if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_integral_v<T>) return "int";
  else if constexpr (std::is_floating_point_v<T>) return "float";
  else if constexpr (std::is_same_v<T, std::vector<Index>>) return "Sequence[int]";
  else if constexpr (std::is_same_v<T, std::vector<double>>) return "Sequence[float]";
  else if constexpr (std::is_same_v<T, std::optional<double>>) return "Optional[float]";
  else return "str";  // std::string, enums (their names), self-coded fields (schedule names)
}

/// Appends (names, Python type, default text, help) for every field of each table (the `_keywords()` of a
/// bound class: what the type stubs and the docstring list).
template <class... Tables>
py::list keywordList(const Tables&... tables) {
  py::list out;
  const auto describe = [&](const auto& options) {
    io::visitFields(options, [&](const io::Field& f, auto&& value) {
      using D = std::remove_cvref_t<decltype(value)>;
      out.append(py::make_tuple(keywordsOf(f), pythonType<D>(), io::FieldCodec<D>::toText(value), std::string(f.help())));
    });
  };
  (describe(tables), ...);
  return out;
}

/// All keywords of `options`, for "unknown keyword" messages.
template <class Options>
void collectKeywords(const Options& options, std::vector<std::string>& out) {
  io::visitFields(options, [&](const io::Field& f, auto&&) {
    for (const auto& n : keywordsOf(f)) out.push_back(n);
  });
}

/// Throws TypeError naming the keywords of `kwargs` that no table used, with the valid ones.
inline void rejectUnknown(const py::dict& kwargs, const std::set<std::string>& used,
                          const std::vector<std::string>& valid, const std::string& who) {
  std::string unknown;
  for (const auto& [k, v] : kwargs) {
    const std::string key = py::str(k).cast<std::string>();
    if (used.count(key) == 0) unknown += (unknown.empty() ? "'" : ", '") + key + "'";
  }
  if (unknown.empty()) return;
  std::string names;
  for (const auto& n : valid) names += (names.empty() ? "" : ", ") + n;
  throw py::type_error(who + ": unknown keyword argument " + unknown + " (valid: " + names + ")");
}

/// Applies `kwargs` to every table of `tables` (applyKeywords) and rejects the keywords none of them knows.
template <class... Tables>
void applyAllKeywords(const py::dict& kwargs, const std::string& who, Tables&... tables) {
  std::set<std::string> used;
  (applyKeywords(tables, kwargs, who, used), ...);
  std::vector<std::string> valid;
  (collectKeywords(tables, valid), ...);
  rejectUnknown(kwargs, used, valid, who);
}

/// The field table of a struct without options (MostPopular; DiffRec's absent time weights).
struct NoFields {
  template <class Self, class V>
  static void fields(Self&, V&&) {}
};

/// Text map of the options (every field, execution settings included) as a Python dict of str.
template <class Options>
py::dict optionsDict(const Options& o) {
  py::dict d;
  for (const auto& [k, v] : io::fieldsToText(o, io::FieldSelection::kAll)) d[py::str(k)] = v;
  return d;
}

}  // namespace recdiff::python

#endif  // RECDIFF_PYTHON_OPTIONS_HPP
