// A consumer of the recdiff package: builds against the umbrella header and runs a small computation.
#include <recdiff/recdiff.hpp>

#include <iostream>

int main() {
  recdiff::Rng rng(7);
  recdiff::RowMatrix<float> noise(3, 5);
  rng.fillNormal(noise);
  std::cout << "recdiff " << recdiff::kVersionString << " consumer: noise sum " << noise.sum() << '\n';
#if defined(RECDIFF_HAS_DNNL) && RECDIFF_HAS_DNNL
  std::cout << "bf16 GEMMs compiled in: yes\n";
#else
  std::cout << "bf16 GEMMs compiled in: no\n";
#endif
  return noise.allFinite() ? 0 : 1;
}
