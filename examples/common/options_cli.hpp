#ifndef RECDIFF_EXAMPLES_COMMON_OPTIONS_CLI_HPP
#define RECDIFF_EXAMPLES_COMMON_OPTIONS_CLI_HPP
// The command line of an options struct, from its field table (include/recdiff/io/fields.hpp): every field
// becomes a CLI11 option with the table's name, help and default; after parsing (and after a preset has set
// the struct), apply() parses each given value into its field. No example writes a flag or an apply block for a
// model option by hand.
//
//   recdiff::examples::OptionsCli cli(app);
//   cli.add(c.model);                  // --steps, --lr, --noise-schedule, ...
//   cli.add(c.latent, "L-DiffRec");    // fields with a flag already added (--steps) set both structs
//   app.parse(argc, argv);
//   applyPreset(c);
//   cli.apply();                       // throws CLI::ValidationError("--steps", "... is not a whole number >= 0")

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <recdiff/io/fields.hpp>

namespace recdiff::examples {

class OptionsCli {
 public:
  explicit OptionsCli(CLI::App& app) : app_(app) {}
  OptionsCli(const OptionsCli&) = delete;
  OptionsCli& operator=(const OptionsCli&) = delete;

  /// Adds every field of `options` (kept by reference: it must outlive apply()). `group` is the CLI11 option
  /// group in --help. A field whose flag an earlier add() created sets this struct's field too.
  template <class Options>
  void add(Options& options, const std::string& group = "") {
    io::visitFields(options, [&](const io::Field& f, auto&& value) {
      using T = decltype(value);
      using D = std::remove_cvref_t<T>;
      std::function<void(const std::string&, const std::string&)> setter;
      if constexpr (std::is_lvalue_reference_v<T>) {
        setter = [f, p = &value](const std::string& text, const std::string& who) { io::setFieldFromText(f, *p, text, who); };
      } else {
        setter = [f, ref = D(value)](const std::string& text, const std::string& who) { io::setFieldFromText(f, ref, text, who); };
      }
      Entry& e = entry(f, std::is_same_v<D, bool>, io::FieldCodec<D>::toText(value), io::expectedText<D>(), group);
      if (!e.isFlag) e.option->type_name(typeName<D>());
      e.setters.push_back(std::move(setter));
    });
  }

  /// Parses every given value into its field(s), in the order the fields were added. Call after app.parse().
  void apply() const {
    for (const Entry& e : entries_) {
      if (e.option->count() == 0) continue;
      const std::string text = e.isFlag ? (e.negates ? "0" : "1") : e.text;
      for (const auto& set : e.setters) {
        try {
          set(text, e.option->get_name());
        } catch (const std::invalid_argument& err) {
          throw CLI::ValidationError(std::string(err.what()));
        }
      }
    }
  }

  /// Whether the field `key` was given on the command line.
  bool given(const std::string& key) const {
    const auto it = byKey_.find(key);
    return it != byKey_.end() && it->second->option->count() > 0;
  }

 private:
  /// What --help shows for a value of type D.
  template <class D>
  static std::string typeName() {
    if constexpr (std::is_integral_v<D>) return "INT";
    else if constexpr (std::is_same_v<D, double>) return "FLOAT";
    else if constexpr (std::is_same_v<D, std::optional<double>>) return "FLOAT|default";
    else if constexpr (std::is_same_v<D, std::vector<Index>>) return "INT,...";
    else if constexpr (std::is_same_v<D, std::vector<double>>) return "FLOAT,...";
    else if constexpr (std::is_enum_v<D>) return "ENUM";
    else return "TEXT";
  }

  struct Entry {
    CLI::Option* option = nullptr;
    bool isFlag = false, negates = false;
    std::string text;
    bool flagValue = false;
    std::vector<std::function<void(const std::string&, const std::string&)>> setters;
  };

  Entry& entry(const io::Field& f, bool isBool, const std::string& defaultText, const std::string& expected,
               const std::string& group) {
    const std::string names = f.cliNames();
    if (const auto it = byNames_.find(names); it != byNames_.end()) {
      byKey_.emplace(std::string(f.key()), it->second);
      return *it->second;
    }
    Entry& e = entries_.emplace_back();
    std::string help(f.help());
    if (isBool) {
      e.isFlag = true;
      e.negates = names.rfind("--no-", 0) == 0;
      e.option = app_.add_flag(names, e.flagValue, help);
    } else {
      if (expected.rfind("one of ", 0) == 0 && help.find(" | ") == std::string::npos) help += " (" + expected + ")";
      e.option = app_.add_option(names, e.text, help)->default_str(defaultText);
    }
    if (!group.empty()) e.option->group(group);
    byNames_.emplace(names, &e);
    byKey_.emplace(std::string(f.key()), &e);
    return e;
  }

  CLI::App& app_;
  std::deque<Entry> entries_;  // stable addresses: CLI11 writes into text / flagValue
  std::map<std::string, Entry*> byNames_, byKey_;
};

/// The fields of `options` as JSON (numbers and bools typed, everything else as the field's text), for reports.
template <class Options>
nlohmann::json fieldsJson(const Options& options, io::FieldSelection which = io::FieldSelection::kAll) {
  nlohmann::json j = nlohmann::json::object();
  io::visitFields(options, [&](const io::Field& f, auto&& value) {
    if (which == io::FieldSelection::kCheckpointed && !f.checkpointed()) return;
    using D = std::remove_cvref_t<decltype(value)>;
    if constexpr (std::is_arithmetic_v<D>) j[std::string(f.key())] = value;
    else j[std::string(f.key())] = io::FieldCodec<D>::toText(value);
  });
  return j;
}

}  // namespace recdiff::examples

#endif  // RECDIFF_EXAMPLES_COMMON_OPTIONS_CLI_HPP
