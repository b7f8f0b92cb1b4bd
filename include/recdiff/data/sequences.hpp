#ifndef RECDIFF_DATA_SEQUENCES_HPP
#define RECDIFF_DATA_SEQUENCES_HPP

/// \file sequences.hpp
/// Per-user chronological item sequences for the sequential models (DiffuRec, DreamRec), the samples drawn from
/// them, and padding into fixed-width id matrices with masks.
///
/// Item ids in a Sequences object are the model's ids: DiffuRec reserves 0 for padding and numbers items
/// 1 … n (sequencesFromInteractions() shifts dense item indices by +1 for that reason); DreamRec pads with a
/// separate id (usually n, one past the last item). A sample is (user, end): history = the items before
/// position `end` (the most recent maxLen of them), target = the item at `end`.
///
/// DiffuRec's protocol (src/utils.py; see ../shared/data/diffurec/README.md):
///   auto split = leaveLastOut(seq);                  // train = all but the last two items per user
///   auto train = prefixSamples(split.train);         // every prefix: targets at positions 1 … n-1
///   // validation: split.valid indexes `seq` (history = train part, target = second to last)
///   // test:       split.test  indexes `seq` (history = train + valid, target = last)
///   HistoryBatch b; fillHistoryBatch(seq, split.test, rows, {.maxLen = 50, .side = Padding::Left}, b);

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "interactions.hpp"
#include "text_parsing.hpp"

namespace recdiff::data {

/// Integer id matrix [rows × cols], row-major.
using IdMatrix = Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Variable-length item sequences, one per user, stored contiguously (CSR-like).
class Sequences {
 public:
  Sequences() : offsets_(1, 0) {}

  /// From explicit lists; user ids default to 0 … n-1.
  static Sequences fromLists(const std::vector<std::vector<int>>& lists) {
    Sequences s;
    for (const auto& l : lists) s.append(l);
    s.userIds_ = IdMap::identity(s.users());
    return s;
  }

  /// Appends one user's sequence (user id = next dense index unless setUserIds is called later).
  void append(std::span<const int> items) {
    for (int i : items) RECDIFF_REQUIRE(i >= 0, "Sequences::append(): negative item id ", i);
    items_.insert(items_.end(), items.begin(), items.end());
    offsets_.push_back(static_cast<Index>(items_.size()));
    for (int i : items) maxItem_ = std::max(maxItem_, i);
  }

  Index users() const noexcept { return static_cast<Index>(offsets_.size()) - 1; }
  Index length(Index u) const {
    const std::size_t b = check(u);
    return offsets_[b + 1] - offsets_[b];
  }
  /// The items of user u, oldest first.
  std::span<const int> sequence(Index u) const {
    const std::size_t b = check(u);
    return std::span<const int>(items_).subspan(static_cast<std::size_t>(offsets_[b]),
                                                static_cast<std::size_t>(offsets_[b + 1] - offsets_[b]));
  }
  Index totalLength() const noexcept { return static_cast<Index>(items_.size()); }
  /// The largest item id present (0 when empty).
  int maxItem() const noexcept { return maxItem_; }
  std::span<const int> allItems() const noexcept { return items_; }
  std::span<const Index> offsets() const noexcept { return offsets_; }

  const IdMap& userIds() const noexcept { return userIds_; }
  void setUserIds(IdMap ids) {
    RECDIFF_REQUIRE(ids.size() == users(), "Sequences::setUserIds(): ", ids.size(), " ids for ", users(), " users");
    userIds_ = std::move(ids);
  }

 private:
  std::size_t check(Index u) const {
    if (u < 0 || u >= users())
      throw std::out_of_range(detail::concat("Sequences: user ", u, " outside [0, ", users(), ")"));
    return static_cast<std::size_t>(u);
  }

  std::vector<Index> offsets_;
  std::vector<int> items_;
  int maxItem_ = 0;
  IdMap userIds_;
};

/// Parses DiffuRec's export `sequences.txt`: `user<TAB>item item … item` per line, items separated by single
/// spaces, oldest first. User ids are non-negative and distinct (dense index = line order, raw id kept);
/// item ids are in [1, 2^31-2] (0 is DiffuRec's padding id and may not appear); a user needs ≥ 1 item.
inline Sequences parseSequences(std::string_view text, const std::string& source) {
  Sequences s;
  IdMap users;
  detail::LineReader reader(text, source);
  std::string_view line;
  std::vector<std::string_view> fields, items;
  std::vector<int> seq;
  while (reader.next(line)) {
    detail::splitFields(line, "\t", fields);
    if (fields.size() != 2) reader.fail(line, detail::concat("expected 'user<TAB>items', got ", fields.size(), " tab-separated fields"));
    const auto user = detail::parseInt<std::int64_t>(reader, line, fields[0], "user id", 0);
    if (users.contains(user)) reader.fail(line, detail::concat("user ", user, " appears twice"));
    users.insert(user);
    if (fields[1].empty()) reader.fail(line, "empty sequence");
    detail::splitFields(fields[1], " ", items);
    seq.clear();
    for (const auto item : items) seq.push_back(detail::parseInt<int>(reader, line, item, "item id", 1, std::numeric_limits<int>::max() - 1));
    s.append(seq);
  }
  if (s.users() == 0) throw DataError(source, 0, "no data lines");
  s.setUserIds(std::move(users));
  return s;
}

/// Reads `sequences.txt` (see parseSequences).
inline Sequences loadSequences(const std::string& path) {
  const std::string text = detail::readFile(path);
  return parseSequences(text, path);
}

/// Each user's items in stored order (chronological when loaded with timestamps), item id = dense index +
/// `itemOffset` (1 keeps 0 free for DiffuRec's padding). Users without interactions get empty sequences.
inline Sequences sequencesFromInteractions(const Interactions& x, int itemOffset = 1) {
  RECDIFF_REQUIRE(itemOffset >= 0 && x.items() + itemOffset < std::numeric_limits<int>::max(),
                  "sequencesFromInteractions(): bad itemOffset ", itemOffset);
  Sequences s;
  std::vector<int> seq;
  for (Index u = 0; u < x.users(); ++u) {
    seq.assign(x.rowItems(u).begin(), x.rowItems(u).end());
    for (int& i : seq) i += itemOffset;
    s.append(seq);
  }
  s.setUserIds(x.userIds());
  return s;
}

/// Samples (user, end): history = sequence(user)[.. end), target = sequence(user)[end].
struct SequenceSamples {
  std::vector<int> user;
  std::vector<int> end;
  Index size() const noexcept { return static_cast<Index>(user.size()); }
};

/// Every prefix as a sample (DiffuRec's training set): targets at positions minHistory … n-1 of each user.
inline SequenceSamples prefixSamples(const Sequences& s, Index minHistory = 1) {
  RECDIFF_REQUIRE(minHistory >= 1, "prefixSamples(): minHistory must be >= 1, got ", minHistory);
  SequenceSamples out;
  for (Index u = 0; u < s.users(); ++u)
    for (Index e = minHistory; e < s.length(u); ++e) {
      out.user.push_back(static_cast<int>(u));
      out.end.push_back(static_cast<int>(e));
    }
  return out;
}

/// One sample per user with at least minHistory + 1 items: the last item is the target.
inline SequenceSamples lastSamples(const Sequences& s, Index minHistory = 1) {
  SequenceSamples out;
  for (Index u = 0; u < s.users(); ++u)
    if (s.length(u) >= minHistory + 1) {
      out.user.push_back(static_cast<int>(u));
      out.end.push_back(static_cast<int>(s.length(u) - 1));
    }
  return out;
}

/// Chronological leave-one-out on sequences: validation target = second to last, test target = last.
struct SequenceSplit {
  Sequences train;        ///< each user's sequence without its last two items (users with < 3 items: all of it)
  SequenceSamples valid;  ///< indexes the FULL sequences: end = n-2 (history = train part)
  SequenceSamples test;   ///< indexes the FULL sequences: end = n-1 (history = train + valid)
};

/// Leave-one-out split of full sequences; users with fewer than 3 items have no valid/test sample and keep
/// everything in train.
inline SequenceSplit leaveLastOut(const Sequences& full) {
  SequenceSplit out;
  std::vector<int> tmp;
  for (Index u = 0; u < full.users(); ++u) {
    const auto seq = full.sequence(u);
    const Index n = static_cast<Index>(seq.size());
    if (n < 3) {
      out.train.append(seq);
      continue;
    }
    out.train.append(seq.first(static_cast<std::size_t>(n - 2)));
    out.valid.user.push_back(static_cast<int>(u));
    out.valid.end.push_back(static_cast<int>(n - 2));
    out.test.user.push_back(static_cast<int>(u));
    out.test.end.push_back(static_cast<int>(n - 1));
  }
  out.train.setUserIds(full.userIds().size() == full.users() ? full.userIds() : IdMap::identity(full.users()));
  return out;
}

/// Where padding goes.
enum class Padding {
  Left,   ///< DiffuRec: [0 … 0 i1 … ik], most recent item in the last column
  Right,  ///< DreamRec: [i1 … ik pad … pad]
};

struct PaddingOptions {
  Index maxLen = 50;            ///< history columns; longer histories keep their most recent maxLen items
  Padding side = Padding::Left;
  int padId = 0;                ///< id written into padded positions
};

/// A padded batch of (history, target) samples.
struct HistoryBatch {
  IdMatrix history;          ///< [batch × maxLen] item ids, padId where padded
  RowMatrix<float> mask;     ///< [batch × maxLen] 1 at real items, 0 at padding
  Eigen::ArrayXi lengths;    ///< [batch] real history length (≤ maxLen)
  Eigen::ArrayXi targets;    ///< [batch] target item id
  Eigen::ArrayXi users;      ///< [batch] user index
};

/// Fills `out` with the samples `rows` (indices into `samples`); reuses `out`'s memory when the shape fits.
inline void fillHistoryBatch(const Sequences& seqs, const SequenceSamples& samples, std::span<const Index> rows,
                             const PaddingOptions& options, HistoryBatch& out) {
  RECDIFF_REQUIRE(options.maxLen > 0, "fillHistoryBatch(): maxLen must be positive, got ", options.maxLen);
  const Index b = static_cast<Index>(rows.size()), L = options.maxLen;
  if (out.history.rows() != b || out.history.cols() != L) {
    out.history.resize(b, L);
    out.mask.resize(b, L);
  }
  if (out.lengths.size() != b) {
    out.lengths.resize(b);
    out.targets.resize(b);
    out.users.resize(b);
  }
  out.history.setConstant(options.padId);
  out.mask.setZero();
  for (Index r = 0; r < b; ++r) {
    const Index k = rows[static_cast<std::size_t>(r)];
    RECDIFF_REQUIRE(k >= 0 && k < samples.size(), "fillHistoryBatch(): sample ", k, " outside [0, ", samples.size(), ")");
    const int u = samples.user[static_cast<std::size_t>(k)], e = samples.end[static_cast<std::size_t>(k)];
    const auto seq = seqs.sequence(u);
    RECDIFF_REQUIRE(e >= 0 && e < static_cast<int>(seq.size()), "fillHistoryBatch(): sample end ", e, " outside user ", u,
                    "'s sequence of ", seq.size());
    const Index len = std::min<Index>(e, L);
    const Index first = e - len;
    const Index col0 = options.side == Padding::Left ? L - len : 0;
    for (Index j = 0; j < len; ++j) {
      out.history(r, col0 + j) = seq[static_cast<std::size_t>(first + j)];
      out.mask(r, col0 + j) = 1.0f;
    }
    out.lengths(r) = static_cast<int>(len);
    out.targets(r) = seq[static_cast<std::size_t>(e)];
    out.users(r) = u;
  }
}

}  // namespace recdiff::data

#endif  // RECDIFF_DATA_SEQUENCES_HPP
