#ifndef RECDIFF_DATA_ID_MAP_HPP
#define RECDIFF_DATA_ID_MAP_HPP

/// \file id_map.hpp
/// The raw-id <-> dense-index map of Interactions' users and items (and of the sequence loaders' items).

#include <cstdint>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"

namespace recdiff::data {

/// Bidirectional map between raw ids (as written in a file, 64-bit signed) and dense indices 0 … size-1.
class IdMap {
 public:
  IdMap() = default;

  /// The map raw i ↔ dense i for i in [0, n) (files whose ids are already dense, e.g. DiffRec's splits).
  static IdMap identity(Index n) {
    IdMap m;
    m.raw_.resize(static_cast<std::size_t>(n));
    std::iota(m.raw_.begin(), m.raw_.end(), std::int64_t{0});
    m.identity_ = true;
    return m;
  }

  /// A map from dense index to raw id (rawIds[dense]); raw ids must be distinct.
  static IdMap fromRaw(std::vector<std::int64_t> rawIds) {
    IdMap m;
    m.raw_ = std::move(rawIds);
    m.dense_.reserve(m.raw_.size());
    for (std::size_t i = 0; i < m.raw_.size(); ++i) {
      const bool fresh = m.dense_.emplace(m.raw_[i], static_cast<Index>(i)).second;
      RECDIFF_REQUIRE(fresh, "IdMap::fromRaw(): raw id ", m.raw_[i], " appears twice");
    }
    return m;
  }

  Index size() const noexcept { return static_cast<Index>(raw_.size()); }

  /// The raw id of a dense index; std::out_of_range outside [0, size).
  std::int64_t raw(Index dense) const {
    if (dense < 0 || dense >= size())
      throw std::out_of_range(detail::concat("IdMap::raw(): dense index ", dense, " outside [0, ", size(), ")"));
    return raw_[static_cast<std::size_t>(dense)];
  }

  /// The dense index of a raw id, if present.
  std::optional<Index> find(std::int64_t raw) const {
    if (identity_) {
      if (raw >= 0 && raw < size()) return static_cast<Index>(raw);
      return std::nullopt;
    }
    const auto it = dense_.find(raw);
    if (it == dense_.end()) return std::nullopt;
    return it->second;
  }

  /// The dense index of a raw id; std::out_of_range when the id is unknown.
  Index dense(std::int64_t raw) const {
    const auto d = find(raw);
    if (!d) throw std::out_of_range(detail::concat("IdMap::dense(): unknown raw id ", raw));
    return *d;
  }

  bool contains(std::int64_t raw) const { return find(raw).has_value(); }

  /// The dense index of `raw`, appending it as a new index when it is not yet known.
  Index insert(std::int64_t raw) {
    if (identity_) materialize();
    const auto [it, fresh] = dense_.emplace(raw, size());
    if (fresh) raw_.push_back(raw);
    return it->second;
  }

  /// rawIds()[dense] = raw id.
  const std::vector<std::int64_t>& rawIds() const noexcept { return raw_; }

 private:
  void materialize() {
    identity_ = false;
    dense_.reserve(raw_.size());
    for (std::size_t i = 0; i < raw_.size(); ++i) dense_.emplace(raw_[i], static_cast<Index>(i));
  }

  std::vector<std::int64_t> raw_;
  std::unordered_map<std::int64_t, Index> dense_;
  bool identity_ = false;
};

}  // namespace recdiff::data

#endif  // RECDIFF_DATA_ID_MAP_HPP
