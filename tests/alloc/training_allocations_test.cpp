// Heap allocations in DiffRec's training loop. This executable interposes malloc and its relatives (glibc
// exports the real ones as __libc_*), so every allocation is seen: operator new, Eigen's aligned_malloc, the
// standard library. Sanitizer builds replace malloc themselves; there the checks are skipped.
//
// What is asserted: after the first batch, a training step (timesteps, fused noising, denoiser forward and
// backward, loss, AdamW, the loss-aware sampler's update) allocates nothing; and the allocations of a whole
// epoch do not grow with its number of batches. Shapes are small enough that Eigen's GEMM packs on the stack:
// at large shapes its packing buffers (over EIGEN_STACK_ALLOCATION_LIMIT, 128 KiB) come from malloc, two per
// product; docs/performance.md reports that count at ml-1m_clean's shapes.
#include <recdiff/models/diffrec.hpp>
#include <recdiff/sampling/ddpm_sampler.hpp>

#include <atomic>
#include <cerrno>
#include <cstddef>

#include "support/catch.hpp"
#include "support/test_env.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RECDIFF_TEST_COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define RECDIFF_TEST_COUNT_MALLOC 0
#endif
#endif
#if !defined(RECDIFF_TEST_COUNT_MALLOC)
#if defined(__GLIBC__)
#define RECDIFF_TEST_COUNT_MALLOC 1
#else
#define RECDIFF_TEST_COUNT_MALLOC 0
#endif
#endif

namespace {
std::atomic<long> gAllocations{0};
std::atomic<long> gLargeAllocations{0};  // of at least EIGEN_STACK_ALLOCATION_LIMIT bytes
std::atomic<bool> gCounting{false};

[[maybe_unused]] void noteAllocation(std::size_t size) noexcept {
  if (!gCounting.load(std::memory_order_relaxed)) return;
  gAllocations.fetch_add(1, std::memory_order_relaxed);
  if (size >= EIGEN_STACK_ALLOCATION_LIMIT) gLargeAllocations.fetch_add(1, std::memory_order_relaxed);
}

/// Allocations made while `f` runs.
template <class F>
long allocationsDuring(F&& f) {
  gAllocations.store(0);
  gLargeAllocations.store(0);
  gCounting.store(true);
  f();
  gCounting.store(false);
  return gAllocations.load();
}
}  // namespace

#if RECDIFF_TEST_COUNT_MALLOC
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* p);

void* malloc(std::size_t size) noexcept {
  noteAllocation(size);
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) noexcept {
  noteAllocation(count * size);
  return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) noexcept {
  noteAllocation(size);
  return __libc_realloc(p, size);
}
void free(void* p) noexcept { __libc_free(p); }
void* memalign(std::size_t alignment, std::size_t size) noexcept {
  noteAllocation(size);
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  noteAllocation(size);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  noteAllocation(size);
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}
#endif

namespace {

/// `users` users over `items` items, user u liking the items of block u % 4 (every other one).
recdiff::data::Interactions blockData(recdiff::Index users, recdiff::Index items) {
  std::vector<int> us, is;
  const recdiff::Index block = items / 4;
  for (recdiff::Index u = 0; u < users; ++u)
    for (recdiff::Index i = (u % 4) * block + u % 2; i < (u % 4 + 1) * block; i += 2) {
      us.push_back(static_cast<int>(u));
      is.push_back(static_cast<int>(i));
    }
  return recdiff::data::Interactions::fromTriplets(users, items, us, is);
}

recdiff::DiffRecOptions smallOptions() {
  recdiff::DiffRecOptions options;
  options.dims = {24, 40};
  options.batchSize = 8;
  options.steps = 5;
  options.lossHistory = 2;  // the loss-aware sampler warms up within the first epoch
  return options;
}

bool countingWorks() {
  const long n = allocationsDuring([] {
    std::vector<double> v(1000);
    REQUIRE(v.size() == 1000);
  });
  return n > 0;
}

}  // namespace

TEST_CASE("A DiffRec training step allocates nothing after the first batch", "[alloc][diffrec]") {
  if (!RECDIFF_TEST_COUNT_MALLOC) {
    WARN("skipped: malloc is not interposed in sanitizer builds");
    return;
  }
  REQUIRE(countingWorks());
  const auto train = blockData(64, 48);
  auto model = recdiff::DiffRec<>(smallOptions(), train.items(), 3);
  recdiff::data::UserBatcher batcher(train, 8);
  recdiff::Rng rng(recdiff::test::seed());
  batcher.startEpoch(rng);
  REQUIRE(batcher.batches() == 8);
  for (recdiff::Index epoch = 0; epoch < 3; ++epoch) {
    for (recdiff::Index b = 0; b < batcher.batches(); ++b) {
      const auto& rows = batcher.rows(b);
      recdiff::StepResult step;
      const long n = allocationsDuring([&] { step = model.trainer().step(rows, recdiff::NoCondition{}, rng); });
      REQUIRE(step.finite);
      INFO("epoch " << epoch << " batch " << b);
      if (epoch > 0 || b > 0) CHECK(n == 0);
    }
  }
  CHECK(model.timestepSampler().warmedUp());  // both the uniform and the importance-sampling path were taken
}

TEST_CASE("DiffRec's epoch allocations do not grow with the number of batches", "[alloc][diffrec]") {
  if (!RECDIFF_TEST_COUNT_MALLOC) {
    WARN("skipped: malloc is not interposed in sanitizer builds");
    return;
  }
  const auto epochAllocations = [](recdiff::Index users) {
    const auto train = blockData(users, 48);
    auto model = recdiff::DiffRec<>(smallOptions(), train.items(), 3);
    recdiff::Rng rng(recdiff::test::seed());
    (void)model.trainEpoch(train, rng);  // the first epoch sizes every buffer
    recdiff::EpochResult second;
    const long n = allocationsDuring([&] { second = model.trainEpoch(train, rng); });
    REQUIRE(second.finite);
    REQUIRE(second.batches == users / 8);
    return n;
  };
  const long eight = epochAllocations(64), thirtyTwo = epochAllocations(256);
  INFO("allocations in an epoch of 8 batches: " << eight << ", of 32 batches: " << thirtyTwo);
  CHECK(thirtyTwo == eight);
}

TEST_CASE("At ml-1m_clean shapes a DiffRec step allocates only Eigen's GEMM packing buffers", "[alloc][diffrec]") {
  if (!RECDIFF_TEST_COUNT_MALLOC) {
    WARN("skipped: malloc is not interposed in sanitizer builds");
    return;
  }
  // DiffRec's ml-1m_clean preset: 2810 items, dims [200, 600], batches of 400 users (random rows, 2% density).
  recdiff::DiffRecOptions options;
  options.batchSize = 400;
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::RowMatrix<float> rows(400, 2810);
  for (recdiff::Index i = 0; i < rows.size(); ++i) rows.data()[i] = rng.uniform() < 0.02 ? 1.0f : 0.0f;
  auto model = recdiff::DiffRec<>(options, 2810, 3);
  (void)model.trainer().step(rows, recdiff::NoCondition{}, rng);
  for (int b = 0; b < 3; ++b) {
    const long n = allocationsDuring([&] { REQUIRE(model.trainer().step(rows, recdiff::NoCondition{}, rng).finite); });
    const long large = gLargeAllocations.load();
    INFO("step " << b << ": " << n << " allocations, " << large << " of at least " << EIGEN_STACK_ALLOCATION_LIMIT
                 << " bytes (GEMM packing)");
    CHECK(n == large);  // nothing small: every buffer of ours is reused; only GEMM packing is left
    if (b == 0)
      WARN("allocations per step at ml-1m_clean shapes: " << n << ", all of at least "
                                                          << EIGEN_STACK_ALLOCATION_LIMIT << " bytes");
  }
}

namespace {

/// Allocations of DdpmSampler::run over `steps` reverse steps (after a warm-up run sized every buffer).
template <class Parameterization, class Variance>
long reverseLoopAllocations(recdiff::Index steps, bool addNoise) {
  using Diffusion = recdiff::GaussianDiffusion<recdiff::AnySchedule, Parameterization, Variance, float>;
  recdiff::ScheduleSpec schedule;
  schedule.name = "cosine";
  const Diffusion diffusion(recdiff::makeSchedule(schedule), 10);
  recdiff::Rng rng(recdiff::test::seed());
  recdiff::DiffRecMlpOptions mlp;
  mlp.items = 48;
  mlp.dims = {24, 40};
  recdiff::DiffRecMlp<float> model(mlp, rng);
  model.setTraining(false);
  recdiff::DdpmOptions options;
  options.addNoise = addNoise;
  const recdiff::DdpmSampler sampler(diffusion, options);
  recdiff::RowMatrix<float> x = recdiff::RowMatrix<float>::Random(8, 48);
  sampler.run(model, recdiff::NoCondition{}, x, rng, 1);
  return allocationsDuring([&] { sampler.run(model, recdiff::NoCondition{}, x, rng, steps - 1); });
}

}  // namespace

TEST_CASE("DdpmSampler's reverse loop allocates nothing per step", "[alloc][sampling]") {
  if (!RECDIFF_TEST_COUNT_MALLOC) {
    WARN("skipped: malloc is not interposed in sanitizer builds");
    return;
  }
  for (const bool noise : {false, true}) {
    INFO("addNoise " << noise);
    // Buffers allocated once per run are allowed; a per-step allocation would make 9 steps cost more than 2.
    CHECK(reverseLoopAllocations<recdiff::PredictX0, recdiff::FixedSmallVariance>(9, noise) ==
          reverseLoopAllocations<recdiff::PredictX0, recdiff::FixedSmallVariance>(2, noise));
    CHECK(reverseLoopAllocations<recdiff::PredictEpsilon, recdiff::FixedLargeVariance>(9, noise) ==
          reverseLoopAllocations<recdiff::PredictEpsilon, recdiff::FixedLargeVariance>(2, noise));
  }
}

TEST_CASE("A bf16 DiffRec training step allocates the same few blocks at every batch", "[alloc][diffrec][bf16]") {
  if (!RECDIFF_TEST_COUNT_MALLOC) {
    WARN("skipped: malloc is not interposed in sanitizer builds");
    return;
  }
  if (!recdiff::nn::bf16GemmAvailable()) {
    WARN("skipped: " << recdiff::nn::bf16GemmUnavailableReason());
    return;
  }
  // Our buffers, the bf16 packing buffers and the oneDNN primitives (cached per product shape) are made by the
  // first batch. What remains is inside oneDNN: dnnl_primitive_execute() copies its arguments into a hash map,
  // ~5 small blocks per product. So: the same count at every later batch, and nothing that grows.
  const auto train = blockData(64, 48);
  recdiff::DiffRecOptions options = smallOptions();
  options.trainingPrecision = recdiff::nn::GemmPrecision::kBf16;
  auto model = recdiff::DiffRec<>(options, train.items(), 3);
  recdiff::data::UserBatcher batcher(train, 8);
  recdiff::Rng rng(recdiff::test::seed());
  batcher.startEpoch(rng);
  long steady = -1;
  for (recdiff::Index b = 0; b < batcher.batches(); ++b) {
    const auto& rows = batcher.rows(b);
    recdiff::StepResult step;
    const long n = allocationsDuring([&] { step = model.trainer().step(rows, recdiff::NoCondition{}, rng); });
    const long large = gLargeAllocations.load();
    REQUIRE(step.finite);
    INFO("batch " << b << ": " << n << " allocations");
    if (b == 1) {
      steady = n;
      WARN("allocations per bf16 step (inside oneDNN's execute): " << n);
    }
    if (b >= 1) {
      CHECK(n == steady);
      CHECK(large == 0);  // nothing sized by the data: no buffer of ours is re-made
    }
  }
}
