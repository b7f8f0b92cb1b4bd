// The .npy reader and DiffRec's split loader: every dtype and byte order it accepts, and every malformed file
// it must refuse (truncated, wrong dtype, wrong shape, bad header).
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <recdiff/data/diffrec_splits.hpp>

#include "support/catch.hpp"
#include "temp_files.hpp"

namespace rd = recdiff::data;
using recdiff::DataError;
using recdiff::Index;

namespace {

/// A version-1.0 .npy file: header dict padded to a multiple of 64 bytes, then `data`.
std::string npy(const std::string& descr, const std::string& shape, const std::string& data, bool fortran = false, int major = 1) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
  const std::size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t len = dict.size();
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>((len >> 8) & 0xff);
  if (major != 1) out += std::string(2, '\0');
  return out + dict + data;
}

template <class T>
std::string bytesOf(const std::vector<T>& v, bool bigEndian = false) {
  std::string out;
  for (T x : v) {
    char b[sizeof(T)];
    std::memcpy(b, &x, sizeof(T));
    if (bigEndian)
      for (std::size_t k = 0; k < sizeof(T) / 2; ++k) std::swap(b[k], b[sizeof(T) - 1 - k]);
    out.append(b, sizeof(T));
  }
  return out;
}

void requireNpyError(const std::string& bytes, const std::string& text) {
  try {
    rd::parseNpyMatrix<std::int64_t>(bytes, "x.npy", 2);
  } catch (const DataError& e) {
    INFO("message: " << e.what());
    CHECK(e.file() == "x.npy");
    CHECK(std::string(e.what()).find(text) != std::string::npos);
    return;
  }
  FAIL("expected a DataError containing '" << text << "'");
}

}  // namespace

TEST_CASE("npy int32 and int64 in both byte orders and Fortran order read as the same matrix", "[data][npy]") {
  const std::vector<std::int64_t> v{0, 5, 1, 7, 2, 9};
  Eigen::Matrix<std::int64_t, 3, 2, Eigen::RowMajor> expected;
  expected << 0, 5, 1, 7, 2, 9;
  const std::vector<std::int32_t> v32(v.begin(), v.end());
  for (const auto& bytes : {npy("<i8", "(3, 2)", bytesOf(v)), npy(">i8", "(3, 2)", bytesOf(v, true)), npy("<i4", "(3, 2)", bytesOf(v32)),
                            npy(">i4", "(3, 2)", bytesOf(v32, true)), npy("<i8", "(3, 2)", bytesOf(v), false, 2),
                            npy("<i8", "(3, 2)", bytesOf(std::vector<std::int64_t>{0, 1, 2, 5, 7, 9}), true)}) {
    const auto m = rd::parseNpyMatrix<std::int64_t>(bytes, "x.npy", 2);
    CHECK(m == expected);
  }
  const std::vector<float> f{1.5f, -2.0f, 3.25f, 0.0f};
  const auto fm = rd::parseNpyMatrix<float>(npy("<f4", "(2, 2)", bytesOf(f)), "e.npy");
  CHECK(fm(0, 0) == 1.5f);
  CHECK(fm(1, 0) == 3.25f);
  const auto dm = rd::parseNpyMatrix<float>(npy(">f8", "(1, 2)", bytesOf(std::vector<double>{0.5, 4.0}, true)), "e.npy");
  CHECK(dm(0, 1) == 4.0f);
}

TEST_CASE("A truncated npy file is refused", "[data][npy][malformed]") {
  const std::string good = npy("<i8", "(3, 2)", bytesOf(std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
  requireNpyError(good.substr(0, good.size() - 1), "truncated");
  requireNpyError(good.substr(0, 40), "truncated in its header");
  requireNpyError(good.substr(0, 8), "bad magic");
  requireNpyError(good + "x", "unexpected trailing bytes");
  requireNpyError("", "bad magic");
}

TEST_CASE("An npy file of the wrong dtype or shape is refused", "[data][npy][malformed]") {
  const std::string d8(48, '\0');
  requireNpyError(npy("<f8", "(3, 2)", d8), "expected an integer .npy array");
  requireNpyError(npy("<u8", "(3, 2)", d8), "unsupported dtype '<u8'");
  requireNpyError(npy("|b1", "(6, 1)", std::string(6, '\0')), "unsupported dtype '|b1'");
  requireNpyError(npy("|O", "(3, 2)", d8), "unsupported dtype");
  requireNpyError(npy("<i8", "(2, 3)", d8), "expected (N, 2)");
  requireNpyError(npy("<i8", "(6,)", d8), "has 1 dimensions, expected 2");
  requireNpyError(npy("<i8", "(1, 3, 2)", d8), "has 3 dimensions");
  requireNpyError(npy("<i8", "(3, 2)", std::string(24, '\0')), "truncated");
  // Values that do not fit the target type.
  const auto big = npy("<i8", "(1, 2)", bytesOf(std::vector<std::int64_t>{1, std::int64_t{1} << 40}));
  CHECK_THROWS_AS(rd::parseNpyMatrix<int>(big, "x.npy"), DataError);
}

TEST_CASE("A malformed npy header is refused", "[data][npy][malformed]") {
  auto withDict = [](const std::string& dict) {
    std::string d = dict;
    while ((10 + d.size() + 1) % 64 != 0) d += ' ';
    d += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(d.size());
    out += '\0';
    return out + d;
  };
  requireNpyError(withDict("{'descr': '<i8', 'shape': (0, 2), }"), "lacks");
  requireNpyError(withDict("{'descr': '<i8', 'fortran_order': Maybe, 'shape': (0, 2), }"), "fortran_order must be True or False");
  requireNpyError(withDict("{'descr': '<i8', 'fortran_order': False, 'shape': (0, -2), }"), "non-negative integer");
  requireNpyError(withDict("{'descr': '<i8', 'fortran_order': False, 'shape': (0, 2), 'extra': 1}"), "unknown header key");
  requireNpyError(withDict("{'descr': '<i8, 'fortran_order': False, 'shape': (0, 2)}"), "npy header");
  requireNpyError(withDict("{'descr': '<i8', 'fortran_order': False, 'shape': (99999999999999999999, 2)}"), "too large");
  std::string v9 = npy("<i8", "(0, 2)", "");
  v9[6] = 9;
  requireNpyError(v9, "unsupported .npy version 9");
  std::string noNewline = npy("<i8", "(0, 2)", "");
  noNewline[noNewline.size() - 1] = ' ';
  requireNpyError(noNewline, "does not end with a newline");
  // An empty (0, 2) array is valid.
  CHECK(rd::parseNpyMatrix<std::int64_t>(npy("<i8", "(0, 2)", ""), "x.npy", 2).rows() == 0);
}

TEST_CASE("DiffRec splits take n_user and n_item from train and refuse ids beyond them", "[data][npy][diffrec]") {
  recdiff::test::TempDir dir;
  const auto pairs = [](const std::vector<std::int64_t>& v) {
    std::string shape = "(";
    shape.append(std::to_string(v.size() / 2)).append(", 2)");
    return npy("<i8", shape, bytesOf(v));
  };
  dir.write("train_list.npy", pairs({0, 3, 0, 1, 1, 2, 2, 0}));  // user 0 rows in file order 3, 1
  dir.write("valid_list.npy", pairs({0, 2, 2, 3}));
  dir.write("test_list.npy", pairs({1, 0}));
  const auto s = rd::loadDiffRecSplits(dir.path());
  CHECK(s.train.users() == 3);
  CHECK(s.train.items() == 4);
  CHECK(s.test.users() == 3);
  CHECK(s.test.items() == 4);
  CHECK(s.valid.nnz() == 2);
  CHECK(s.train.rowItems(0)[0] == 3);  // file order kept
  CHECK(s.train.rowItems(0)[1] == 1);
  const auto testPath = dir.write("test_list.npy", pairs({1, 4}));
  try {
    rd::loadDiffRecSplits(dir.path());
    FAIL("expected a DataError");
  } catch (const DataError& e) {
    CHECK(e.file() == testPath);
    CHECK(std::string(e.what()).find("row 0: (user 1, item 4) outside") != std::string::npos);
  }
  dir.write("test_list.npy", pairs({1, 0, 1, 0}));
  CHECK_THROWS_WITH(rd::loadDiffRecSplits(dir.path()), Catch::Contains("row 1: duplicate (user 1, item 0)"));
  dir.write("test_list.npy", npy("<f4", "(1, 2)", bytesOf(std::vector<float>{1, 0})));
  CHECK_THROWS_WITH(rd::loadDiffRecSplits(dir.path()), Catch::Contains("expected an integer"));
  const auto embPath = dir.write("item_emb.npy", npy("<f4", "(2, 3)", bytesOf(std::vector<float>{1, 2, 3, 4, 5, 6})));
  const auto emb = rd::loadItemEmbeddings(embPath);
  CHECK(emb.rows() == 2);
  CHECK(emb(1, 2) == 6.0f);
  const auto intEmb = dir.write("int_emb.npy", npy("<i4", "(1, 1)", bytesOf(std::vector<std::int32_t>{1})));
  CHECK_THROWS_WITH(rd::loadItemEmbeddings(intEmb), Catch::Contains("must be a float array"));
}
