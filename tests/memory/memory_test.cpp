// recdiff/memory.hpp: the readers of /proc/meminfo and the cgroup files (on fake files), the budget, and
// the refusals of every user of requireMemory() under an injected figure, so nothing depends on the machine.

#include <recdiff/baselines/ease.hpp>
#include <recdiff/baselines/item_knn.hpp>
#include <recdiff/baselines/rp3beta.hpp>
#include <recdiff/data/batching.hpp>
#include <recdiff/memory.hpp>
#include <recdiff/models/diffurec.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/catch.hpp"

namespace fs = std::filesystem;
using recdiff::Index;
using recdiff::MemoryError;

namespace {

/// A fresh empty folder under the temporary directory.
fs::path freshDir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("recdiff_memory_test_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

/// `users` users who each rated items 0 … items−1 except one.
recdiff::data::Interactions dense(Index users, Index items) {
  std::vector<int> u, i;
  for (int a = 0; a < users; ++a)
    for (int b = 0; b < items; ++b)
      if (b != a % items) {
        u.push_back(a);
        i.push_back(b);
      }
  return recdiff::data::Interactions::fromTriplets(users, items, u, i);
}

/// The message of the MemoryError `f` throws ("" when it throws nothing).
template <class F>
std::string refusal(F&& f) {
  try {
    f();
  } catch (const MemoryError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("memAvailable reads MemAvailable of a meminfo file", "[memory]") {
  const fs::path d = freshDir("meminfo");
  write(d / "meminfo", "MemTotal:       24000000 kB\nMemFree:        1000 kB\nMemAvailable:   20000000 kB\nBuffers: 5 kB\n");
  CHECK(recdiff::detail::memAvailable(d / "meminfo") == std::uint64_t(20000000) * 1024);
  write(d / "old", "MemTotal:       24000000 kB\nMemFree:        1000 kB\n");
  CHECK_FALSE(recdiff::detail::memAvailable(d / "old").has_value());
  CHECK_FALSE(recdiff::detail::memAvailable(d / "absent").has_value());
}

TEST_CASE("cgroupHeadroom reads the v2 and v1 limits and ignores unlimited ones", "[memory]") {
  std::string version;
  const fs::path v2 = freshDir("v2");
  write(v2 / "memory.max", "1000000\n");
  write(v2 / "memory.current", "300000\n");
  CHECK(recdiff::detail::cgroupHeadroom(v2, &version) == std::uint64_t(700000));
  CHECK(version == "v2");
  write(v2 / "memory.current", "2000000\n");  // over the limit: nothing left
  CHECK(recdiff::detail::cgroupHeadroom(v2) == std::uint64_t(0));
  write(v2 / "memory.max", "max\n");
  CHECK_FALSE(recdiff::detail::cgroupHeadroom(v2).has_value());

  const fs::path v1 = freshDir("v1");
  write(v1 / "memory" / "memory.limit_in_bytes", "2000000\n");
  write(v1 / "memory" / "memory.usage_in_bytes", "500000\n");
  CHECK(recdiff::detail::cgroupHeadroom(v1, &version) == std::uint64_t(1500000));
  CHECK(version == "v1");
  write(v1 / "memory" / "memory.limit_in_bytes", "9223372036854771712\n");  // v1's "unlimited"
  CHECK_FALSE(recdiff::detail::cgroupHeadroom(v1).has_value());
  write(v1 / "memory" / "memory.limit_in_bytes", "12abc\n");
  CHECK_FALSE(recdiff::detail::cgroupHeadroom(v1).has_value());
  CHECK_FALSE(recdiff::detail::cgroupHeadroom(freshDir("none")).has_value());
}

TEST_CASE("requireMemory refuses an estimate above the available memory in one line", "[memory]") {
  const recdiff::ScopedAvailableMemory fake(std::uint64_t(3) << 30);
  CHECK(recdiff::availableMemory().bytes == std::uint64_t(3) << 30);
  CHECK_NOTHROW(recdiff::requireMemory(std::uint64_t(3) << 30, "exactly what is there"));
  const std::string what = refusal([] { recdiff::requireMemory((std::uint64_t(3) << 30) + 1, "the thing", "try less"); });
  CHECK(what == "the thing needs 3.00 GiB, more than the 3.00 GiB available (injected); try less");
  CHECK(what.find('\n') == std::string::npos);
  try {
    recdiff::requireMemory(std::uint64_t(5) << 30, "x");
    FAIL("no MemoryError");
  } catch (const MemoryError& e) {
    CHECK(e.needed() == std::uint64_t(5) << 30);
    CHECK(e.available() == std::uint64_t(3) << 30);
  }
  CHECK(recdiff::denseBytes(std::uint64_t(1) << 40, std::uint64_t(1) << 40, 4) == ~std::uint64_t(0));  // saturates
}

TEST_CASE("the process budget is the resident set's headroom", "[memory]") {
  const std::uint64_t rss = recdiff::detail::residentBytes();
  REQUIRE(rss > 0);
  recdiff::setMemoryBudget(rss + (std::uint64_t(1) << 30));
  const recdiff::AvailableMemory a = recdiff::availableMemory();
  recdiff::setMemoryBudget(0);
  CHECK(a.bytes <= std::uint64_t(1) << 30);
  CHECK(a.bytes > std::uint64_t(900) << 20);  // the test's resident set does not grow by 100 MiB meanwhile
  CHECK(a.source.find("memory limit 1.") == 0);
  CHECK(recdiff::availableMemory().source.find("memory limit") == std::string::npos);
}

TEST_CASE("the item-item baselines refuse their dense matrices up front", "[memory][baselines]") {
  const auto x = dense(30, 20);
  // 20 × 20 floats = 1600 bytes (EASE: two of them).
  {
    const recdiff::ScopedAvailableMemory fake(1599);
    const std::string knn = refusal([&] { recdiff::baselines::ItemKNN<float>(recdiff::baselines::ItemKNNOptions{}).fit(x); });
    CHECK(knn.find("ItemKNN::fit(): the dense 20 x 20 item-item similarity needs") == 0);
    const std::string rp3 = refusal([&] { recdiff::baselines::RP3beta<float>(recdiff::baselines::RP3betaOptions{}).fit(x); });
    CHECK(rp3.find("RP3beta::fit(): the dense 20 x 20 item-item walk matrix needs") == 0);
    const std::string ease = refusal([&] { recdiff::baselines::EASE<float>({.lambda = 1.0}).fit(x); });
    CHECK(ease.find("EASE::fit(): 2 dense 20 x 20 float matrices (20 items) needs") == 0);
    CHECK(ease.find("EASE fits at most 14 items here") != std::string::npos);
  }
  {
    const recdiff::ScopedAvailableMemory fake(1600);
    CHECK(refusal([&] { recdiff::baselines::ItemKNN<float>(recdiff::baselines::ItemKNNOptions{}).fit(x); }).empty());
    CHECK(refusal([&] { recdiff::baselines::RP3beta<float>(recdiff::baselines::RP3betaOptions{}).fit(x); }).empty());
    CHECK(refusal([&] { recdiff::baselines::EASE<float>({.lambda = 1.0}).fit(x); }).find("EASE fits at most 14") !=
          std::string::npos);
  }
}

TEST_CASE("the dense [batch x items] buffers are refused up front", "[memory][data]") {
  const auto x = dense(10, 50);
  recdiff::data::UserBatcher batches(x, 4);  // 4 × 50 floats = 800 bytes
  recdiff::RowMatrix<float> rows;
  const std::vector<Index> users{0, 1, 2, 3};
  {
    const recdiff::ScopedAvailableMemory fake(799);
    CHECK(refusal([&] { batches.rows(0); }).find("UserBatcher: the dense 4 x 50 batch needs") == 0);
    CHECK(refusal([&] { recdiff::data::denseRows(x, users, rows); })
              .find("data::denseRows(): the dense 4 x 50 interaction rows needs") == 0);
  }
  const recdiff::ScopedAvailableMemory fake(800);
  CHECK(batches.rows(0).row(1).sum() == 49.0f);
  recdiff::data::denseRows(x, users, rows);
  CHECK(rows.row(2).sum() == 49.0f);
}

TEST_CASE("DiffuRec's activation estimate grows with batch, positions, hidden, blocks and items", "[memory][models]") {
  recdiff::DiffuRecOptions o;  // batch 512, 50 positions, hidden 128, 4 blocks, 4 heads
  const std::uint64_t base = recdiff::diffuRecActivationBytes(o, 3416, sizeof(float));
  CHECK(base == (512ull * 50 * 4 * (16 * 128 + 2 * 4 * 50) + 2ull * 512 * 3417) * 4);
  o.blocks = 8;
  CHECK(recdiff::diffuRecActivationBytes(o, 3416, sizeof(float)) > base);
  o.blocks = 4;
  CHECK(recdiff::diffuRecActivationBytes(o, 87585, sizeof(float)) - base == 2ull * 512 * (87585 - 3416) * 4);
}
