#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

#include <recdiff/denoisers/diffrec_mlp.hpp>
#include <recdiff/io/checkpoint.hpp>

#include "support/catch.hpp"
#include "support/test_env.hpp"

namespace fs = std::filesystem;
using recdiff::DiffRecMlp;
using recdiff::RowMatrix;
namespace io = recdiff::io;

namespace {
// A fresh folder per test case, removed at the end.
struct TempDir {
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("recdiff_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

std::string readBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
void writeBytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <class Model>
io::CheckpointMetadata metadataOf(const Model& m) {
  return {Model::kModelType, m.parameterShapes(), m.hyperparameters()};
}

template <class Model>
void load(const fs::path& file, Model& m) {
  io::loadCheckpoint(file, m.parameters(), Model::kModelType, m.parameterShapes());
}

const recdiff::DiffRecMlpOptions kOptions{.items = 30, .dims = {8, 12}, .timeEmbeddingSize = 4};

// The message of the DataError thrown by f (fails the test when nothing or something else is thrown).
template <class F>
std::string dataErrorMessage(F&& f) {
  try {
    f();
  } catch (const recdiff::DataError& e) {
    return e.what();
  }
  FAIL("expected a recdiff::DataError");
  return {};
}
}  // namespace

TEMPLATE_TEST_CASE("A checkpoint round trip reproduces model outputs bit for bit", "[io][checkpoint]", float, double) {
  using S = TestType;
  TempDir dir;
  const fs::path file = dir.path / "model.rdc";
  recdiff::Rng rngA(recdiff::test::seed()), rngB(recdiff::test::seed() + 1);
  DiffRecMlp<S> a(kOptions, rngA), b(kOptions, rngB);
  REQUIRE(a.parameters().values() != b.parameters().values());
  io::saveCheckpoint(file, a.parameters(), metadataOf(a));
  const auto info = io::loadCheckpoint(file, b.parameters(), "DiffRecMlp", b.parameterShapes());
  CHECK(b.parameters().values() == a.parameters().values());
  CHECK(info.version == io::kCheckpointVersion);
  CHECK(info.scalarBytes == sizeof(S));
  CHECK(info.modelType == "DiffRecMlp");
  CHECK(info.hyperparameters == a.hyperparameters());

  RowMatrix<S> x(5, kOptions.items);
  rngA.fillUniform(x);
  Eigen::ArrayXi t(5);
  t << 0, 1, 2, 3, 4;
  RowMatrix<S> ya, yb;
  a.predict(x, t, ya);
  b.predict(x, t, yb);
  CHECK(ya == yb);

  // The header alone is enough to rebuild the same architecture.
  const auto header = io::readCheckpointInfo(file);
  recdiff::Rng rngC(99);
  DiffRecMlp<S> c(DiffRecMlp<S>::optionsFromHyperparameters(header.hyperparameters), rngC);
  CHECK(c.parameterShapes() == a.parameterShapes());
  load(file, c);
  RowMatrix<S> yc;
  c.predict(x, t, yc);
  CHECK(yc == ya);
}

TEST_CASE("Loading a truncated checkpoint throws and leaves the model untouched", "[io][checkpoint]") {
  TempDir dir;
  const fs::path file = dir.path / "model.rdc", cut = dir.path / "cut.rdc";
  recdiff::Rng rng(recdiff::test::seed());
  DiffRecMlp<float> a(kOptions, rng), b(kOptions, rng);
  io::saveCheckpoint(file, a.parameters(), metadataOf(a));
  const std::string bytes = readBytes(file);
  const recdiff::ColVector<float> before = b.parameters().values();
  for (const std::size_t keep : {std::size_t{0}, std::size_t{4}, std::size_t{10}, std::size_t{20}, bytes.size() / 2,
                                 bytes.size() - 9, bytes.size() - 1}) {
    INFO("kept " << keep << " of " << bytes.size() << " bytes");
    writeBytes(cut, bytes.substr(0, keep));
    const std::string message = dataErrorMessage([&] { load(cut, b); });
    if (keep >= sizeof(io::kCheckpointMagic)) CHECK(message.find("truncated") != std::string::npos);
    else CHECK(message.find("magic") != std::string::npos);
    CHECK(message.find("cut.rdc") != std::string::npos);
    CHECK(b.parameters().values() == before);
  }
}

TEST_CASE("Loading a corrupted checkpoint throws a checksum error and leaves the model untouched", "[io][checkpoint]") {
  TempDir dir;
  const fs::path file = dir.path / "model.rdc", bad = dir.path / "bad.rdc";
  recdiff::Rng rng(recdiff::test::seed());
  DiffRecMlp<double> a(kOptions, rng), b(kOptions, rng);
  io::saveCheckpoint(file, a.parameters(), metadataOf(a));
  const std::string bytes = readBytes(file);
  const recdiff::ColVector<double> before = b.parameters().values();
  // One bit flipped in the payload, in a hyperparameter value, and in the stored checksum.
  const std::size_t hyper = bytes.find("8,12");
  REQUIRE(hyper != std::string::npos);
  for (const std::size_t at : {bytes.size() - 100, hyper + 2, bytes.size() - 3}) {
    INFO("byte " << at);
    std::string corrupted = bytes;
    corrupted[at] = static_cast<char>(corrupted[at] ^ 0x10);
    writeBytes(bad, corrupted);
    const std::string message = dataErrorMessage([&] { load(bad, b); });
    CHECK(message.find("checksum") != std::string::npos);
    CHECK(b.parameters().values() == before);
  }
  writeBytes(bad, bytes + "x");
  CHECK(dataErrorMessage([&] { load(bad, b); }).find("trailing") != std::string::npos);
  CHECK(b.parameters().values() == before);
}

TEST_CASE("Loading a checkpoint of another format version throws and leaves the model untouched", "[io][checkpoint]") {
  TempDir dir;
  const fs::path file = dir.path / "model.rdc";
  recdiff::Rng rng(recdiff::test::seed());
  DiffRecMlp<float> a(kOptions, rng), b(kOptions, rng);
  io::saveCheckpoint(file, a.parameters(), metadataOf(a));
  std::string bytes = readBytes(file);
  bytes[8] = static_cast<char>(io::kCheckpointVersion + 1);  // version: u32 little-endian after the magic
  writeBytes(file, bytes);
  const recdiff::ColVector<float> before = b.parameters().values();
  const std::string message = dataErrorMessage([&] { load(file, b); });
  CHECK(message.find("version 2 is not supported") != std::string::npos);
  CHECK(b.parameters().values() == before);
}

TEST_CASE("Loading a checkpoint of another shape or model type throws and leaves the model untouched",
          "[io][checkpoint]") {
  TempDir dir;
  const fs::path file = dir.path / "model.rdc";
  recdiff::Rng rng(recdiff::test::seed());
  DiffRecMlp<float> a(kOptions, rng);
  io::saveCheckpoint(file, a.parameters(), metadataOf(a));
  recdiff::DiffRecMlpOptions other = kOptions;
  other.dims = {8, 13};
  DiffRecMlp<float> b(other, rng);
  const recdiff::ColVector<float> before = b.parameters().values();
  const std::string message = dataErrorMessage([&] { load(file, b); });
  CHECK(message.find("shapes do not match") != std::string::npos);
  CHECK(message.find("in_layers.0.weight[12x34]") != std::string::npos);
  CHECK(b.parameters().values() == before);
  DiffRecMlp<float> same(kOptions, rng);
  const std::string typeMessage = dataErrorMessage(
      [&] { io::loadCheckpoint(file, same.parameters(), "DreamRec", same.parameterShapes()); });
  CHECK(typeMessage.find("'DiffRecMlp' model, expected 'DreamRec'") != std::string::npos);
}

TEST_CASE("Saving a checkpoint is atomic and replaces the old file", "[io][checkpoint]") {
  TempDir dir;
  const fs::path file = dir.path / "model.rdc";
  recdiff::Rng rng(recdiff::test::seed());
  DiffRecMlp<float> a(kOptions, rng), b(kOptions, rng);
  io::saveCheckpoint(file, a.parameters(), metadataOf(a));
  io::saveCheckpoint(file, b.parameters(), metadataOf(b));
  DiffRecMlp<float> c(kOptions, rng);
  load(file, c);
  CHECK(c.parameters().values() == b.parameters().values());
  // Only the checkpoint is left in the folder (no temporary files).
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
  // A destination folder that does not exist fails cleanly.
  CHECK_THROWS_AS(io::saveCheckpoint(dir.path / "missing" / "m.rdc", a.parameters(), metadataOf(a)),
                  std::runtime_error);
  // Metadata that does not describe the buffer is rejected before anything is written.
  io::CheckpointMetadata wrong = metadataOf(a);
  wrong.shapes.pop_back();
  CHECK_THROWS_AS(io::saveCheckpoint(dir.path / "w.rdc", a.parameters(), wrong), std::invalid_argument);
  CHECK_FALSE(fs::exists(dir.path / "w.rdc"));
  CHECK_THROWS_AS(io::readCheckpointInfo(dir.path / "nothing.rdc"), recdiff::DataError);
}
