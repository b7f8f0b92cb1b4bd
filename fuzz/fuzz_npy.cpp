// Fuzz target: the .npy reader (header dict, dtype, shape, byte order, Fortran order, size checks) into every
// target type.
#include <recdiff/data/npy.hpp>

#include "fuzz_text_loaders.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzzOne(data, size, [](std::string_view bytes) {
    namespace rd = recdiff::data;
    const auto h = rd::parseNpyHeader(bytes, "x.npy");
    if (h.size() > (1 << 20)) return;
    if (h.kind == 'i') {
      const auto a = rd::parseNpyMatrix<std::int64_t>(bytes, "x.npy");
      try {
        (void)rd::parseNpyMatrix<int>(bytes, "x.npy", 2);
      } catch (const recdiff::DataError&) {
      }
      if (a.size() != h.size()) __builtin_trap();
    } else {
      const auto f = rd::parseNpyMatrix<float>(bytes, "x.npy");
      if (f.size() != h.size()) __builtin_trap();
    }
  });
}
