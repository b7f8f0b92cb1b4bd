// The _recdiff extension module: the models (baselines.cpp, diffrec.cpp, ldiffrec.cpp, sequence_models.cpp), the data loaders (datasets.cpp),
// recdiff.load() over the checkpoint registry, and the translation of the library's exceptions:
//   std::invalid_argument (RECDIFF_REQUIRE: bad arguments, bad options)  -> ValueError
//   recdiff::MemoryError (an allocation refused up front, memory.hpp)    -> MemoryError
//   recdiff::DataError (a file: missing, malformed, corrupted)            -> FileNotFoundError when the file
//                                                                            does not exist, else OSError
//   anything else (std::runtime_error, std::logic_error, ...)             -> RuntimeError
// each with the library's message.

#include <pybind11/pybind11.h>

#include <filesystem>
#include <string>

#include <recdiff/config.hpp>
#include <recdiff/error.hpp>
#include <recdiff/io/checkpoint.hpp>
#include <recdiff/memory.hpp>

#include "bindings.hpp"

namespace recdiff::python {

std::map<std::string, Loader>& loaders() {
  static std::map<std::string, Loader> registry;
  return registry;
}

namespace {

py::object load(const std::string& path) {
  io::CheckpointInfo info;
  {
    py::gil_scoped_release release;
    info = io::readCheckpointInfo(path);
  }
  const auto it = loaders().find(info.modelType);
  if (it == loaders().end()) {
    std::string known;
    for (const auto& [k, v] : loaders()) known += (known.empty() ? "" : ", ") + k;
    throw std::invalid_argument("recdiff.load(): " + path + " holds a '" + info.modelType +
                                "' checkpoint; the Python module loads " + known);
  }
  return it->second(path);
}

}  // namespace

}  // namespace recdiff::python

PYBIND11_MODULE(_recdiff, m) {
  namespace py = pybind11;
  using namespace recdiff::python;
  m.doc() = "recdiff's C++ core (header-only library over Eigen); use the `recdiff` package.";
  m.attr("__version__") = std::to_string(RECDIFF_VERSION_MAJOR) + "." + std::to_string(RECDIFF_VERSION_MINOR) + "." +
                          std::to_string(RECDIFF_VERSION_PATCH);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const recdiff::DataError& e) {
      std::error_code ec;
      const bool missing = !e.file().empty() && !std::filesystem::exists(e.file(), ec);
      PyErr_SetString(missing ? PyExc_FileNotFoundError : PyExc_OSError, e.what());
    } catch (const recdiff::MemoryError& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    }
  });
  bindBaselines(m);
  bindDiffRec(m);
  bindLDiffRec(m);
  bindSequenceModels(m);
  bindDatasets(m);
  m.def("load", &load, py::arg("path"),
        "The model saved in a checkpoint file (by model.save() or a C++ binary's --save), ready to recommend.");
}
