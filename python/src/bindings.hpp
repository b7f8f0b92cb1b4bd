#ifndef RECDIFF_PYTHON_BINDINGS_HPP
#define RECDIFF_PYTHON_BINDINGS_HPP

// The parts of the _recdiff module (one translation unit each) and the checkpoint loader registry that
// recdiff.load() dispatches on (by the checkpoint's model type).

#include <pybind11/pybind11.h>

#include <functional>
#include <map>
#include <string>

#include <recdiff/error.hpp>

/// RuntimeError "<who>: the model is not fitted (call fit() or recdiff.load())".
#define RECDIFF_REQUIRE_FITTED(cond, who)                                                                    \
  do {                                                                                                       \
    if (!(cond)) throw std::logic_error(std::string(who) + ": the model is not fitted (call fit() or recdiff.load())"); \
  } while (false)

namespace recdiff::python {

namespace py = pybind11;

using Loader = std::function<py::object(const std::string& path)>;

/// Model type (checkpoint header) -> a function that builds the bound model from a checkpoint file.
std::map<std::string, Loader>& loaders();
inline void registerLoader(const std::string& modelType, Loader loader) { loaders()[modelType] = std::move(loader); }

void bindBaselines(py::module_& m);
void bindDiffRec(py::module_& m);
void bindLDiffRec(py::module_& m);
void bindSequenceModels(py::module_& m);
void bindDatasets(py::module_& m);

}  // namespace recdiff::python

#endif  // RECDIFF_PYTHON_BINDINGS_HPP
