#ifndef RECDIFF_IO_HYPERPARAMETERS_HPP
#define RECDIFF_IO_HYPERPARAMETERS_HPP

/// \file hyperparameters.hpp
/// Typed reads of a checkpoint's hyperparameter map (text keys and values, io/checkpoint.hpp), with one error
/// wording for every model: "<who>: no '<key>' entry", "<who>: '<key>' = '<value>' is not a number", ...
/// All errors are std::invalid_argument.
///
/// Usage (in a model's optionsFromHyperparameters):
///   const io::HyperparameterReader h(map, "DiffRec::optionsFromHyperparameters()");
///   o.steps = h.count("steps");
///   o.learningRate = h.number("lr");
///   o.reweight = h.flag("reweight");
///   o.schedule.noiseScale = h.optionalNumber("noise_scale");   // "default" -> nullopt
///   o.dims = h.indexList("dims");                               // "200,600"

#include <cmath>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"

namespace recdiff::io {

/// Reads typed values from a hyperparameter map; `who` prefixes every error message.
class HyperparameterReader {
 public:
  HyperparameterReader(const std::map<std::string, std::string>& map, std::string who)
      : map_(&map), who_(std::move(who)) {}

  /// The raw text of `key`.
  const std::string& text(const std::string& key) const {
    const auto it = map_->find(key);
    RECDIFF_REQUIRE(it != map_->end(), who_, ": no '", key, "' entry");
    return it->second;
  }

  /// A finite or infinite decimal number; the whole text must parse.
  double number(const std::string& key) const {
    const std::string& v = text(key);
    std::size_t used = 0;
    double x = 0.0;
    try {
      x = std::stod(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    RECDIFF_REQUIRE(used > 0 && used == v.size(), who_, ": '", key, "' = '", v, "' is not a number");
    return x;
  }

  /// A non-negative whole number.
  Index count(const std::string& key) const {
    const double x = number(key);
    RECDIFF_REQUIRE(x >= 0 && std::floor(x) == x && x < 9.0e18, who_, ": '", key, "' = '", text(key),
                    "' is not a whole number >= 0");
    return static_cast<Index>(x);
  }

  /// "1" or "0".
  bool flag(const std::string& key) const { return oneOf(key, "1", "0"); }

  /// true for `yes`, false for `no`; any other text is an error.
  bool oneOf(const std::string& key, const std::string& yes, const std::string& no) const {
    const std::string& v = text(key);
    RECDIFF_REQUIRE(v == yes || v == no, who_, ": '", key, "' = '", v, "' is neither '", yes, "' nor '", no, "'");
    return v == yes;
  }

  /// A number, or nullopt for the text "default".
  std::optional<double> optionalNumber(const std::string& key) const {
    if (text(key) == "default") return std::nullopt;
    return number(key);
  }

  /// A comma-separated list of positive whole numbers, e.g. "200,600".
  std::vector<Index> indexList(const std::string& key) const {
    const std::string& v = text(key);
    std::vector<Index> out;
    std::stringstream in(v);
    for (std::string part; std::getline(in, part, ',');) {
      std::size_t used = 0;
      long long x = 0;
      try {
        x = std::stoll(part, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      RECDIFF_REQUIRE(used > 0 && used == part.size() && x > 0, who_, ": '", key, "' = '", v,
                      "' is not a comma-separated list of positive whole numbers");
      out.push_back(static_cast<Index>(x));
    }
    RECDIFF_REQUIRE(!out.empty(), who_, ": '", key, "' is empty");
    return out;
  }

 private:
  const std::map<std::string, std::string>* map_;
  std::string who_;
};

}  // namespace recdiff::io

#endif  // RECDIFF_IO_HYPERPARAMETERS_HPP
