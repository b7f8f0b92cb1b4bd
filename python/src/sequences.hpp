#ifndef RECDIFF_PYTHON_SEQUENCES_HPP
#define RECDIFF_PYTHON_SEQUENCES_HPP

// Python item sequences <-> the library's data::Sequences. Python ids are 0 … items−1 (the columns of the
// interaction matrices, as in recdiff.datasets.movielens()); the sequence models number items 1 … items and
// keep 0 for padding, so every id is shifted by +1 on the way in and −1 on the way out. A sequence is a 1-d
// array (or list) of integers, oldest first.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <recdiff/data/sequences.hpp>
#include <recdiff/error.hpp>

#include "convert.hpp"

namespace recdiff::python {

/// One Python sequence as a C++ one (ids + 1), checked: an integer 1-d array, ids in [0, items) (items < 0: no
/// upper bound, only ids < 2^31 − 1), not empty unless allowEmpty. `what` names it in messages ("sequences[3]").
inline std::vector<int> sequenceFromPython(const py::handle& s, Index items, bool allowEmpty, const std::string& what) {
  const py::array a = py::array::ensure(s);
  if (!a) throw py::type_error(what + " must be a 1-d array of item ids, got " +
                               py::str(s.get_type().attr("__name__")).cast<std::string>());
  const std::string kind = py::str(a.dtype().attr("kind")).cast<std::string>();
  RECDIFF_REQUIRE(a.ndim() == 1, what, " must be a 1-d array of item ids, got a ", a.ndim(), "-d array");
  if (a.size() > 0 && kind != "i" && kind != "u")
    throw py::type_error(what + ": item ids must be integers, got dtype " + py::str(a.dtype()).cast<std::string>());
  RECDIFF_REQUIRE(allowEmpty || a.size() > 0, what, " is empty (a history needs at least one item)");
  const auto ids = py::cast<Int64Array>(a);
  const std::int64_t* p = ids.data();
  const std::int64_t limit = items >= 0 ? items : std::int64_t{2147483646};
  std::vector<int> out(static_cast<std::size_t>(ids.size()));
  for (py::ssize_t j = 0; j < ids.size(); ++j) {
    RECDIFF_REQUIRE(p[j] >= 0, what, "[", j, "] = ", p[j], " is negative (item ids are 0 … items − 1)");
    RECDIFF_REQUIRE(p[j] < limit, what, "[", j, "] = ", p[j], " is not an item id in [0, ", limit, ")");
    out[static_cast<std::size_t>(j)] = static_cast<int>(p[j] + 1);
  }
  return out;
}

/// A list of Python sequences (see sequenceFromPython); `name` names the argument in messages.
inline data::Sequences sequencesFromPython(const py::handle& list, Index items, bool allowEmpty, const std::string& name) {
  if (py::isinstance<py::str>(list) || !py::hasattr(list, "__iter__") || py::isinstance<py::array>(list))
    throw py::type_error(name + " must be a list of 1-d arrays of item ids (one per user, oldest first)");
  data::Sequences out;
  Index r = 0;
  for (const py::handle s : list) {
    out.append(sequenceFromPython(s, items, allowEmpty, name + "[" + std::to_string(r) + "]"));
    ++r;
  }
  return out;
}

/// Held-out next items: histories (a list of sequences) and one target per history, as data::Sequences of
/// history + target (user r = history r) and the samples (r, len(history r)) indexing it, i.e. what
/// data::leaveLastOut() gives the C++ examples. The targets' ids must lie in [0, items) as well.
struct HeldOut {
  data::Sequences sequences;
  data::SequenceSamples samples;

  HeldOut(const py::handle& histories, const py::handle& targets, Index items, bool allowEmpty, const std::string& who) {
    const data::Sequences h = sequencesFromPython(histories, items, allowEmpty, who + ": histories");
    const std::vector<int> t = sequenceFromPython(targets, items, true, who + ": targets");
    RECDIFF_REQUIRE(static_cast<Index>(t.size()) == h.users(), who, ": ", t.size(), " targets for ", h.users(),
                    " histories (one target per history)");
    std::vector<int> row;
    for (Index r = 0; r < h.users(); ++r) {
      const auto s = h.sequence(r);
      row.assign(s.begin(), s.end());
      row.push_back(t[static_cast<std::size_t>(r)]);
      sequences.append(row);
      samples.user.push_back(static_cast<int>(r));
      samples.end.push_back(static_cast<int>(s.size()));
    }
  }
  Index size() const noexcept { return samples.size(); }
};

/// Histories with a placeholder target (item 1), for recommend() and scores(); `single` when `histories` is
/// one 1-d sequence (an array or a list of ints) rather than a list of them.
inline HeldOut historiesFromPython(const py::handle& histories, Index items, bool allowEmpty, bool& single,
                                   const std::string& who) {
  single = py::isinstance<py::array>(histories);
  if (!single && py::isinstance<py::sequence>(histories) && !py::isinstance<py::str>(histories)) {
    const auto seq = py::reinterpret_borrow<py::sequence>(histories);
    single = seq.size() > 0 && (py::isinstance<py::int_>(seq[0]) || py::hasattr(seq[0], "dtype"));
    if (single && py::hasattr(seq[0], "ndim")) single = seq[0].attr("ndim").cast<int>() == 0;  // numpy scalars
  }
  py::list list;
  if (single) list.append(histories);
  else list = py::list(py::reinterpret_borrow<py::object>(histories));
  RECDIFF_REQUIRE(!list.empty(), who, ": no histories");
  py::array_t<std::int64_t> targets(static_cast<py::ssize_t>(list.size()));
  std::fill(targets.mutable_data(), targets.mutable_data() + targets.size(), 0);
  return HeldOut(list, targets, items, allowEmpty, who);
}

/// Full sequences (C++ ids) as a Python list of int64 arrays of Python ids.
inline py::list sequencesToPython(const data::Sequences& s) {
  py::list out;
  for (Index u = 0; u < s.users(); ++u) {
    const auto items = s.sequence(u);
    py::array_t<std::int64_t> a(static_cast<py::ssize_t>(items.size()));
    std::int64_t* p = a.mutable_data();
    for (std::size_t j = 0; j < items.size(); ++j) p[j] = items[j] - 1;
    out.append(a);
  }
  return out;
}

}  // namespace recdiff::python

#endif  // RECDIFF_PYTHON_SEQUENCES_HPP
