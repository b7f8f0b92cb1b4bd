#ifndef RECDIFF_PYTHON_CONVERT_HPP
#define RECDIFF_PYTHON_CONVERT_HPP

// Conversions between Python objects and the library's types: scipy CSR arrays -> data::Interactions (checked
// entry by entry, errors name the row and column), metrics::TopK -> read-only numpy arrays that own the C++
// buffers (no copy), and the user ids of recommend() (an int or a 1-d integer array).

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <recdiff/data/interactions.hpp>
#include <recdiff/error.hpp>
#include <recdiff/metrics/topk.hpp>

namespace recdiff::python {

namespace py = pybind11;

using Int64Array = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

/// The interactions of a CSR matrix given as its parts (scipy's shape, indptr, indices, data), in stored order
/// (an unsorted row keeps its order: T-DiffRec reads it as time order). Stored entries with value 0 are left
/// out, every other entry becomes 1 (implicit feedback, as the loaders binarise). Read in place from numpy's
/// buffers (int32 / int64 indices, float32 / float64 data; other dtypes are cast first) into the two arrays
/// Interactions keeps, with one pass of checks. Throws std::invalid_argument naming `what`, the row and the
/// column for a negative or non-finite value, an index outside the shape, a malformed indptr or a duplicate.
template <class IndexArray, class ValueArray>
data::Interactions csrToInteractions(Index rows, Index cols, const Int64Array& indptr, const IndexArray& indices,
                                     const ValueArray& values, const std::string& what) {
  RECDIFF_REQUIRE(rows >= 0 && cols >= 0 && rows < 2147483647 && cols < 2147483647, what, ": shape (", rows, ", ", cols,
                  ") is outside [0, 2^31 - 1)");
  RECDIFF_REQUIRE(indptr.ndim() == 1 && indptr.shape(0) == rows + 1, what, ": indptr has ",
                  indptr.ndim() == 1 ? indptr.shape(0) : -1, " entries, expected rows + 1 = ", rows + 1);
  RECDIFF_REQUIRE(indices.ndim() == 1 && values.ndim() == 1 && indices.shape(0) == values.shape(0), what,
                  ": indices and data must be 1-d arrays of one length");
  const std::int64_t* p = indptr.data();
  const auto* j = indices.data();
  const auto* v = values.data();
  const Index nnz = indices.shape(0);
  RECDIFF_REQUIRE(p[0] == 0 && p[rows] <= nnz, what, ": indptr must start at 0 and end at most at nnz = ", nnz,
                  " (got ", p[0], " ... ", p[rows], ")");
  std::vector<Index> rowPtr(static_cast<std::size_t>(rows) + 1, 0);
  std::vector<int> itemIndex;
  itemIndex.reserve(static_cast<std::size_t>(p[rows]));
  std::vector<Index> lastRowOf(static_cast<std::size_t>(cols), -1);
  for (Index u = 0; u < rows; ++u) {
    RECDIFF_REQUIRE(p[u + 1] >= p[u], what, ": indptr decreases at row ", u);
    for (Index k = p[u]; k < p[u + 1]; ++k) {
      const auto item = static_cast<std::int64_t>(j[k]);
      const double x = static_cast<double>(v[k]);
      RECDIFF_REQUIRE(item >= 0 && item < cols, what, ": row ", u, " has column ", item, " outside [0, ", cols, ")");
      RECDIFF_REQUIRE(std::isfinite(x), what, ": the value at (", u, ", ", item, ") is ", x,
                      "; interactions must be finite");
      RECDIFF_REQUIRE(x >= 0.0, what, ": the value at (", u, ", ", item, ") is ", x,
                      "; interactions must be >= 0 (0 = none, anything else = an interaction)");
      if (x == 0.0) continue;
      RECDIFF_REQUIRE(std::exchange(lastRowOf[static_cast<std::size_t>(item)], u) != u, what, ": row ", u,
                      " stores column ", item, " twice (call sum_duplicates() on the matrix first)");
      itemIndex.push_back(static_cast<int>(item));
    }
    rowPtr[static_cast<std::size_t>(u) + 1] = static_cast<Index>(itemIndex.size());
  }
  return data::Interactions::fromCsr(rows, cols, std::move(rowPtr), std::move(itemIndex));
}

/// A CSR matrix's parts for Python (shape, indptr, indices, data) in stored order, data all ones or the values.
inline py::tuple interactionsToCsr(const data::Interactions& x) {
  const auto ptr = x.rowPointers();
  const auto items = x.itemIndices();
  const auto values = x.values();
  py::array_t<std::int64_t> indptr(static_cast<py::ssize_t>(ptr.size()));
  py::array_t<std::int32_t> indices(static_cast<py::ssize_t>(items.size()));
  py::array_t<float> data(static_cast<py::ssize_t>(values.size()));
  std::copy(ptr.begin(), ptr.end(), indptr.mutable_data());
  std::copy(items.begin(), items.end(), indices.mutable_data());
  std::copy(values.begin(), values.end(), data.mutable_data());
  return py::make_tuple(py::make_tuple(x.users(), x.items()), indptr, indices, data);
}

/// A read-only numpy view of an Eigen row-major matrix that takes ownership of it (no copy); `flat` gives a
/// 1-d array of its single row.
template <class Matrix>
py::array ownedArray(Matrix&& m, bool flat) {
  using M = std::remove_cvref_t<Matrix>;
  using T = typename M::Scalar;
  auto* heap = new M(std::forward<Matrix>(m));
  py::capsule owner(heap, [](void* p) { delete static_cast<M*>(p); });
  std::vector<py::ssize_t> shape, strides;
  if (flat) {
    shape = {static_cast<py::ssize_t>(heap->cols())};
    strides = {static_cast<py::ssize_t>(sizeof(T))};
  } else {
    shape = {static_cast<py::ssize_t>(heap->rows()), static_cast<py::ssize_t>(heap->cols())};
    strides = {static_cast<py::ssize_t>(heap->cols() * sizeof(T)), static_cast<py::ssize_t>(sizeof(T))};
  }
  py::array a(py::dtype::of<T>(), shape, strides, heap->data(), owner);
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
}

/// (ids, scores) of a top-K as numpy arrays (1-d for a single user given as an int).
template <class Scalar>
py::tuple topKToPython(metrics::TopK<Scalar>&& top, bool single) {
  py::array ids = ownedArray(std::move(top.ids), single);
  py::array scores = ownedArray(std::move(top.scores), single);
  return py::make_tuple(ids, scores);
}

/// The user ids of recommend(): an int (single = true) or a 1-d array of ints; negative ids are a ValueError.
inline std::vector<Index> userIds(const py::handle& userid, bool& single, const char* who) {
  std::vector<Index> users;
  single = !py::isinstance<py::array>(userid) && !py::isinstance<py::sequence>(userid);
  if (single) {
    users.push_back(userid.cast<Index>());
  } else {
    const auto a = py::cast<py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>>(userid);
    RECDIFF_REQUIRE(a.ndim() == 1, who, ": userid must be an int or a 1-d array of ints, got a ", a.ndim(), "-d array");
    users.assign(a.data(), a.data() + a.shape(0));
  }
  for (const Index u : users) RECDIFF_REQUIRE(u >= 0, who, ": negative user id ", u);
  return users;
}

/// The interactions of a scipy.sparse CSR matrix or array (users × items, any numeric dtype). A matrix of
/// another format (csc, coo, ...) or a dense array is a TypeError that says how to convert it.
inline data::Interactions fromScipy(const py::handle& m, const std::string& what) {
  if (!py::hasattr(m, "format") || !py::hasattr(m, "shape"))
    throw py::type_error(what + " must be a scipy.sparse CSR matrix (users x items), got " +
                         py::str(m.get_type().attr("__name__")).cast<std::string>());
  const std::string format = py::str(m.attr("format")).cast<std::string>();
  if (format != "csr")
    throw py::type_error(what + " is a scipy.sparse " + format +
                         " matrix; pass a CSR matrix (users x items), e.g. matrix.tocsr()");
  const py::tuple shape = m.attr("shape");
  RECDIFF_REQUIRE(shape.size() == 2, what, ": expected a 2-d matrix");
  const auto rows = shape[0].cast<Index>(), cols = shape[1].cast<Index>();
  const auto indptr = py::cast<Int64Array>(m.attr("indptr"));
  const py::object data = m.attr("data");
  const std::string kind = py::str(data.attr("dtype").attr("kind")).cast<std::string>();
  if (kind != "b" && kind != "i" && kind != "u" && kind != "f")
    throw py::type_error(what + ": the matrix's dtype must be numeric (bool, int or float), got " +
                         py::str(data.attr("dtype")).cast<std::string>());
  // numpy's own buffers when their dtype is one the loop reads (no copy), else a cast copy.
  const auto dispatchValues = [&](const auto& index) {
    if (py::isinstance<py::array_t<float, py::array::c_style>>(data))
      return csrToInteractions(rows, cols, indptr, index, py::cast<py::array_t<float, py::array::c_style>>(data), what);
    return csrToInteractions(rows, cols, indptr, index, py::cast<DoubleArray>(data), what);
  };
  const py::object indices = m.attr("indices");
  if (py::isinstance<py::array_t<std::int32_t, py::array::c_style>>(indices))
    return dispatchValues(py::cast<py::array_t<std::int32_t, py::array::c_style>>(indices));
  return dispatchValues(py::cast<Int64Array>(indices));
}

}  // namespace recdiff::python

#endif  // RECDIFF_PYTHON_CONVERT_HPP
