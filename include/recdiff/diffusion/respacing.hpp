#ifndef RECDIFF_DIFFUSION_RESPACING_HPP
#define RECDIFF_DIFFUSION_RESPACING_HPP

/// \file respacing.hpp
/// Timestep respacing (Nichol & Dhariwal 2021, Sec. 4): run the reverse process over a subset of the
/// original steps, with the betas that keep the kept alphaBar values exact.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "../error.hpp"
#include "../types.hpp"

namespace recdiff {

/// The timesteps kept when `steps` original steps are split into equal sections (the first
/// steps % sections.size() sections one step longer) and section i is strided down to sections[i] steps
/// with round-half-to-even fractional strides (guided-diffusion's and DiffuRec's `space_timesteps`).
/// Returns the kept steps sorted ascending. Throws when a section is shorter than its count.
inline std::vector<Index> spaceTimesteps(Index steps, const std::vector<Index>& sections) {
  RECDIFF_REQUIRE(steps > 0, "spaceTimesteps(): steps must be positive, got steps = ", steps);
  RECDIFF_REQUIRE(!sections.empty(), "spaceTimesteps(): need at least one section count");
  const Index count = static_cast<Index>(sections.size());
  const Index sizePer = steps / count, extra = steps % count;
  std::set<Index> kept;
  Index start = 0;
  for (Index i = 0; i < count; ++i) {
    const Index size = sizePer + (i < extra ? 1 : 0);
    const Index want = sections[static_cast<std::size_t>(i)];
    RECDIFF_REQUIRE(want >= 0, "spaceTimesteps(): section counts must be non-negative, got ", want);
    RECDIFF_REQUIRE(size >= want, "spaceTimesteps(): cannot divide section ", i, " of ", size, " steps into ", want,
                    " (steps = ", steps, ", ", count, " sections)");
    const double stride = want <= 1 ? 1.0 : static_cast<double>(size - 1) / static_cast<double>(want - 1);
    double cur = 0.0;
    for (Index k = 0; k < want; ++k) {
      kept.insert(start + static_cast<Index>(std::nearbyint(cur)));  // Python's round(): half to even
      cur += stride;
    }
    start += size;
  }
  return {kept.begin(), kept.end()};
}

/// The string form: "10,15,20" (section counts) or "ddimN" (the smallest integer stride i >= 1 for which
/// range(0, steps, i) has exactly N entries, as in DDIM). Throws on malformed text, and when no integer
/// stride gives exactly N steps.
inline std::vector<Index> spaceTimesteps(Index steps, std::string_view sections) {
  RECDIFF_REQUIRE(steps > 0, "spaceTimesteps(): steps must be positive, got steps = ", steps);
  const auto parseCount = [&sections](std::string_view text) -> Index {
    RECDIFF_REQUIRE(!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos,
                    "spaceTimesteps(): cannot parse '", sections, "': expected \"ddimN\" or comma-separated counts");
    return static_cast<Index>(std::stoll(std::string(text)));
  };
  if (sections.substr(0, 4) == "ddim") {
    const Index desired = parseCount(sections.substr(4));
    for (Index stride = 1; stride < steps; ++stride) {
      if ((steps + stride - 1) / stride == desired) {
        std::vector<Index> kept;
        for (Index t = 0; t < steps; t += stride) kept.push_back(t);
        return kept;
      }
    }
    throw std::invalid_argument(detail::concat("spaceTimesteps(): cannot create exactly ", desired, " steps out of ",
                                               steps, " with an integer stride ('", sections, "')"));
  }
  std::vector<Index> counts;
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = sections.find(',', begin);
    counts.push_back(parseCount(sections.substr(begin, comma == std::string_view::npos ? comma : comma - begin)));
    if (comma == std::string_view::npos) break;
    begin = comma + 1;
  }
  return spaceTimesteps(steps, counts);
}

/// Betas of the respaced process and the map back to the original steps.
struct Respacing {
  Eigen::ArrayXd betas;         ///< [kept] beta'_k = 1 - alphaBar[kept_k] / alphaBar[kept_{k-1}] (1 before kept_0)
  Eigen::ArrayXi timestepMap;   ///< [kept] original step of respaced step k (what the denoiser is given)
};

/// Respaces a process given its alphaBar [steps] and the kept steps (any order, no duplicates). The kept
/// alphaBar values are preserved exactly: prod_{j <= k} (1 - beta'_j) = alphaBar[kept_k].
inline Respacing respace(const Eigen::ArrayXd& alphaBar, std::vector<Index> kept) {
  RECDIFF_REQUIRE(!kept.empty(), "respace(): no timesteps to keep");
  std::sort(kept.begin(), kept.end());
  Respacing r;
  r.betas.resize(static_cast<Index>(kept.size()));
  r.timestepMap.resize(static_cast<Index>(kept.size()));
  double last = 1.0;
  for (std::size_t k = 0; k < kept.size(); ++k) {
    const Index t = kept[k];
    RECDIFF_REQUIRE(t >= 0 && t < alphaBar.size(), "respace(): timestep ", t, " is outside [0, ", alphaBar.size(), ")");
    RECDIFF_REQUIRE(k == 0 || kept[k - 1] != t, "respace(): timestep ", t, " is kept twice");
    r.betas(static_cast<Index>(k)) = 1.0 - alphaBar(t) / last;
    r.timestepMap(static_cast<Index>(k)) = static_cast<int>(t);
    last = alphaBar(t);
  }
  return r;
}

}  // namespace recdiff

#endif  // RECDIFF_DIFFUSION_RESPACING_HPP
