// Tests for the DdpmSampler path policies (include/recdiff/sampling/): StepByStep's draw patterns
// (noiseAtStepZero, DiffuRec's reverse), the reverse-scope hooks, the replay loop against StepByStep, and the
// GuidedTiled path's x_T by address against a given x_T (bit for bit). The folded DiffRec path is tested in
// folded_diffrec_test.cpp, GuidedTiled against StepByStep in tests/denoisers/dreamrec_denoiser_test.cpp.
#include <recdiff/denoisers/dreamrec_denoiser.hpp>
#include <recdiff/sampling.hpp>
#include <recdiff/schedules.hpp>

#include <vector>

#include "support/catch.hpp"
#include "support/test_env.hpp"

using recdiff::Index;
using recdiff::RowMatrix;

namespace {

using Diffusion = recdiff::GaussianDiffusion<recdiff::AnySchedule, recdiff::PredictX0, recdiff::FixedLargeVariance, double>;

/// f(x, t) = 0.5 x + t, counting reverse scopes.
struct ScopedDenoiser {
  using Scalar = double;
  using Condition = recdiff::NoCondition;
  int begins = 0, ends = 0, forwardsInScope = 0, forwards = 0;
  bool inScope = false;
  void beginReverse() { ++begins; inScope = true; }
  void endReverse() { ++ends; inScope = false; }
  void forward(const RowMatrix<double>& x, const Eigen::ArrayXi& t, const Condition&, RowMatrix<double>& out) {
    out = 0.5 * x;
    out.array().colwise() += t.cast<double>();
    ++forwards;
    if (inScope) ++forwardsInScope;
  }
};

}  // namespace

TEST_CASE("StepByStep draws one noise matrix per step, or none at step 0 for DiffuRec", "[sampling][paths]") {
  const Diffusion d(recdiff::makeSchedule("trunc_lin"), 6);
  ScopedDenoiser f;
  recdiff::Rng a(5), b(5), c(5), c7(5);
  const RowMatrix<double> xa = recdiff::DdpmSampler(d).sampleFromNoise(f, {}, 3, 4, a);
  const RowMatrix<double> xb = recdiff::DdpmSampler(d, recdiff::diffuRecReverseOptions()).sampleFromNoise(f, {}, 3, 4, b);
  // The result is the same (step 0 adds no noise), the generator is not: DiffuRec's loop draws 6, not 7, matrices.
  CHECK((xa - xb).cwiseAbs().maxCoeff() == 0.0);
  RowMatrix<double> m(3, 4);
  for (int k = 0; k < 6; ++k) c.fillNormal(m);
  CHECK(b.normal() == c.normal());
  for (int k = 0; k < 7; ++k) c7.fillNormal(m);
  CHECK(a.normal() == c7.normal());
  // The scope hooks wrap each run, and every forward ran inside one.
  CHECK(f.begins == 2);
  CHECK(f.ends == 2);
  CHECK(f.forwards == 12);
  CHECK(f.forwardsInScope == 12);
}

TEST_CASE("The replay loop with StepByStep's own draws gives StepByStep's result bit for bit", "[sampling][paths]") {
  const Diffusion d(recdiff::makeSchedule("trunc_lin"), 5);
  ScopedDenoiser f;
  recdiff::Rng rng(recdiff::test::seed()), copy = rng;
  RowMatrix<double> x;
  recdiff::DdpmSampler(d, recdiff::diffuRecReverseOptions()).sampleFromNoise(f, {}, 4, 3, rng, x);
  // The same numbers, drawn ahead: x_T, then the noises of steps 4 … 1; step 0's is never added.
  RowMatrix<double> replay(4, 3);
  copy.fillNormal(replay);
  std::vector<RowMatrix<double>> noises(5, RowMatrix<double>(4, 3));
  for (int k = 0; k < 4; ++k) copy.fillNormal(noises[static_cast<std::size_t>(k)]);
  noises[4].setConstant(1e30);  // would show if step 0's noise were added
  recdiff::DdpmSampler(d).runWithNoise(f, {}, replay, noises);
  CHECK((replay - x).cwiseAbs().maxCoeff() == 0.0);
  CHECK(f.begins == 2);
  CHECK(f.ends == 2);
}

TEMPLATE_TEST_CASE("GuidedTiled from its own x_T equals GuidedTiled on the same x_T given, bit for bit",
                   "[sampling][paths][guidance]", float, double) {
  using D = recdiff::GaussianDiffusion<recdiff::AnySchedule, recdiff::PredictX0, recdiff::FixedSmallVariance, TestType>;
  const D diffusion(recdiff::makeSchedule("exp"), 12);
  recdiff::Rng init(recdiff::test::seed());
  recdiff::DreamRecDenoiser<TestType> f({.hidden = 8, .architecture = recdiff::DreamRecArchitecture::kMlp2});
  recdiff::nn::ParameterBuffer<TestType> params;
  params.resize(f.parameterCount());
  recdiff::nn::ParameterBinder<TestType>(params).bind(f);
  f.reset(init);
  RowMatrix<TestType> h(600, 8);  // three tiles
  init.fillNormal(h);
  for (const bool atZero : {true, false}) {
    CAPTURE(atZero);
    recdiff::DdpmOptions o{.guidance = 2.0, .noiseAtStepZero = atZero};
    const recdiff::DdpmSampler<D, recdiff::GuidedTiled> sampler(diffusion, o);
    recdiff::Rng r1(3), r2(3);
    RowMatrix<TestType> own, given(600, 8);
    sampler.sampleFromNoise(f, h, 600, 8, r1, own);
    r2.fillNormal(given);  // x_T as StepByStep draws it
    sampler.run(f, h, given, r2);
    CHECK((own - given).cwiseAbs().maxCoeff() == TestType(0));
    CHECK(r1.normal() == r2.normal());  // the same numbers were reserved
    // And the draw count is StepByStep's: x_T plus 12 (or 11) matrices.
    recdiff::Rng r3(3);
    RowMatrix<TestType> m(600, 8);
    for (int k = 0; k < (atZero ? 13 : 12); ++k) r3.fillNormal(m);
    recdiff::Rng r4(3);
    sampler.sampleFromNoise(f, h, 600, 8, r4, own);
    CHECK(r3.normal() == r4.normal());
  }
}
