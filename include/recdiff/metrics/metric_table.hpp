#ifndef RECDIFF_METRICS_METRIC_TABLE_HPP
#define RECDIFF_METRICS_METRIC_TABLE_HPP

/// \file metric_table.hpp
/// A flat, ordered table of named metrics, keyed like `test.recall@20` (split, metric in lower case, '@', K),
/// that the examples print as a table and write as JSON.
///
/// Usage:
///   metrics::MetricTable table;
///   table.add("valid", evaluateSets(top.ids, valid.matrix(), ks));
///   table.add("test", evaluateSets(top.ids, test.matrix(), ks));
///   table.print(std::cout);               // one row per split, one column per metric@K
///   std::ofstream("out.json") << table.toJson();

#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "ranking.hpp"

namespace recdiff::metrics {

/// Ordered name → value table of metrics.
class MetricTable {
 public:
  /// Sets `name` (insertion order is kept; setting an existing name replaces its value in place).
  void set(const std::string& name, double value) {
    for (auto& [k, v] : entries_)
      if (k == name) {
        v = value;
        return;
      }
    entries_.emplace_back(name, value);
  }

  /// The value of `name`, if present.
  std::optional<double> get(const std::string& name) const {
    for (const auto& [k, v] : entries_)
      if (k == name) return v;
    return std::nullopt;
  }

  /// Value of `name`; std::out_of_range when absent.
  double at(const std::string& name) const {
    if (const auto v = get(name)) return *v;
    throw std::out_of_range("MetricTable::at(): no metric '" + name + "'");
  }

  const std::vector<std::pair<std::string, double>>& entries() const noexcept { return entries_; }
  std::size_t size() const noexcept { return entries_.size(); }

  /// Adds `<prefix>.precision@K`, `.recall@K`, `.ndcg@K`, `.mrr@K`, `.hit_rate@K` for every K.
  void add(const std::string& prefix, const SetMetrics& m) {
    const std::string p = prefix.empty() ? "" : prefix + ".";
    for (std::size_t c = 0; c < m.ks.size(); ++c) {
      std::string at(1, '@');  // not "@" + to_string(): g++ 12's -Wrestrict false positive at -O3 (PR 105329)
      at += std::to_string(m.ks[c]);
      set(p + "precision" + at, m.precision[c]);
      set(p + "recall" + at, m.recall[c]);
      set(p + "ndcg" + at, m.ndcg[c]);
      set(p + "mrr" + at, m.mrr[c]);
      set(p + "hit_rate" + at, m.hitRate[c]);
    }
  }

  /// Adds `<prefix>.hr@K` and `<prefix>.ndcg@K` for every K.
  void add(const std::string& prefix, const LabelMetrics& m) {
    const std::string p = prefix.empty() ? "" : prefix + ".";
    for (std::size_t c = 0; c < m.ks.size(); ++c) {
      std::string at(1, '@');  // not "@" + to_string(): g++ 12's -Wrestrict false positive at -O3 (PR 105329)
      at += std::to_string(m.ks[c]);
      set(p + "hr" + at, m.hitRate[c]);
      set(p + "ndcg" + at, m.ndcg[c]);
    }
  }

  /// Adds every entry of `other` under `<prefix>.` (e.g. a sequence model's "hr@10" as "test.hr@10").
  void add(const std::string& prefix, const MetricTable& other) {
    const std::string p = prefix.empty() ? "" : prefix + ".";
    for (const auto& [k, v] : other.entries_) set(p + k, v);
  }

  /// A JSON object {"test.recall@20": 0.1697, ...} (17 significant digits; non-finite values as null).
  std::string toJson(int indent = 2) const {
    std::ostringstream os;
    os << '{';
    bool first = true;
    for (const auto& [k, v] : entries_) {
      os << (first ? "" : ",");
      if (indent > 0) os << '\n' << std::string(static_cast<std::size_t>(indent), ' ');
      os << '"' << escape(k) << "\":" << (indent > 0 ? " " : "") << number(v);
      first = false;
    }
    if (indent > 0 && !entries_.empty()) os << '\n';
    os << '}';
    return os.str();
  }

  /// A table: rows = key prefixes before the last '.', columns = the metric names after it, 4 decimals.
  void print(std::ostream& os, int decimals = 4) const {
    std::vector<std::string> rows, cols;
    auto addUnique = [](std::vector<std::string>& v, const std::string& s) {
      for (const auto& x : v)
        if (x == s) return;
      v.push_back(s);
    };
    for (const auto& [k, v] : entries_) {
      const auto [row, col] = splitKey(k);
      addUnique(rows, row);
      addUnique(cols, col);
    }
    std::size_t rowWidth = 5;
    for (const auto& r : rows) rowWidth = std::max(rowWidth, r.size());
    std::vector<std::size_t> widths;
    for (const auto& c : cols) widths.push_back(std::max<std::size_t>(c.size(), static_cast<std::size_t>(decimals) + 3));
    auto pad = [&](const std::string& s, std::size_t w) { return std::string(w > s.size() ? w - s.size() : 0, ' ') + s; };
    os << pad("", rowWidth);
    for (std::size_t c = 0; c < cols.size(); ++c) os << "  " << pad(cols[c], widths[c]);
    os << '\n';
    for (const auto& r : rows) {
      os << std::string(rowWidth - r.size(), ' ') << r;
      for (std::size_t c = 0; c < cols.size(); ++c) {
        const auto v = get(r.empty() ? cols[c] : r + "." + cols[c]);
        std::string cell = "-";
        if (v) {
          char buf[64];
          std::snprintf(buf, sizeof buf, "%.*f", decimals, *v);
          cell = buf;
        }
        os << "  " << pad(cell, widths[c]);
      }
      os << '\n';
    }
  }

 private:
  static std::pair<std::string, std::string> splitKey(const std::string& k) {
    const auto at = k.find('@');
    const auto dot = k.rfind('.', at == std::string::npos ? std::string::npos : at);
    if (dot == std::string::npos) return {"", k};
    return {k.substr(0, dot), k.substr(dot + 1)};
  }
  static std::string escape(const std::string& s) {
    std::string out;
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += ch;
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += ch;
      }
    }
    return out;
  }
  static std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
  }

  std::vector<std::pair<std::string, double>> entries_;
};

}  // namespace recdiff::metrics

#endif  // RECDIFF_METRICS_METRIC_TABLE_HPP
