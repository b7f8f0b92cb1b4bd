// The data loaders behind recdiff.datasets: DiffRec's .npy splits and the MovieLens releases, returned as CSR
// parts (shape, indptr, indices, data) in the library's stored order (each user's interactions in file or
// time order), which python/recdiff/datasets.py wraps into scipy.sparse.csr_matrix; and the sequential
// examples' reader (examples/common/sequence_data.hpp) as a list of item-id arrays (Python ids: 0 … items-1).

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include <recdiff/data/diffrec_splits.hpp>
#include <recdiff/data/movielens.hpp>

#include "bindings.hpp"
#include "common/sequence_data.hpp"  // examples/common: the sequential examples' reader
#include "convert.hpp"
#include "sequences.hpp"

namespace recdiff::python {

void bindDatasets(py::module_& m) {
  m.def(
      "_diffrec_splits",
      [](const std::string& folder) {
        std::optional<data::DiffRecSplits> s;
        {
          py::gil_scoped_release release;
          s = data::loadDiffRecSplits(folder);
        }
        return py::make_tuple(interactionsToCsr(s->train), interactionsToCsr(s->valid), interactionsToCsr(s->test));
      },
      py::arg("folder"));
  m.def(
      "_movielens",
      [](const std::string& folder, std::optional<double> minRating) {
        std::optional<data::Interactions> x;
        {
          py::gil_scoped_release release;
          data::BuildOptions o;
          o.minRating = minRating;
          x = data::loadMovieLens(folder, o);
        }
        std::vector<std::string> titles;
        for (Index i = 0; i < x->items(); ++i) titles.push_back(x->itemTitle(i));
        return py::make_tuple(interactionsToCsr(*x), x->userIds().rawIds(), x->itemIds().rawIds(), titles);
      },
      py::arg("folder"), py::arg("min_rating"));
  m.def(
      "_diffurec_sequences",
      [](const std::string& folder, std::optional<double> minRating) {
        std::optional<examples::SequenceData> d;
        {
          py::gil_scoped_release release;
          d = examples::loadSequenceData(folder, minRating);
        }
        return py::make_tuple(sequencesToPython(d->full), d->items, d->description);
      },
      py::arg("folder"), py::arg("min_rating"));
}

}  // namespace recdiff::python
