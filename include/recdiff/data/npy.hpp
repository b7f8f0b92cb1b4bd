#ifndef RECDIFF_DATA_NPY_HPP
#define RECDIFF_DATA_NPY_HPP

/// \file npy.hpp
/// A strict reader of NumPy's `.npy` format (versions 1.0, 2.0 and 3.0), written from the format's
/// specification (numpy/lib/format.py docs): 6-byte magic "\x93NUMPY", major and minor version bytes, a
/// little-endian header length (uint16 in 1.0, uint32 in 2.0/3.0), a Python dict literal
/// `{'descr': '<i8', 'fortran_order': False, 'shape': (N, 2), }` padded with spaces and ending in '\n', then
/// the raw array bytes. Accepted dtypes: signed integers i1/i2/i4/i8 and floats f4/f8, either byte order
/// ('<', '>', '|' or '=' for little-endian hosts). Object arrays (pickles) are refused.
/// The data must have exactly prod(shape) · itemsize bytes: a truncated or over-long file is a DataError.
/// Fortran-order arrays are transposed into row-major order on reading.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "../types.hpp"
#include "text_parsing.hpp"

namespace recdiff::data {

/// Header of a .npy array.
struct NpyHeader {
  char kind = 'i';            ///< 'i' signed integer or 'f' float
  int itemSize = 8;           ///< bytes per element
  bool bigEndian = false;
  bool fortranOrder = false;
  std::vector<Index> shape;
  std::size_t dataOffset = 0;  ///< byte offset of the array data

  Index size() const {
    Index n = 1;
    for (Index d : shape) n *= d;
    return n;
  }
};

namespace detail {

/// The tiny Python-literal parser for the header dict.
class NpyDictParser {
 public:
  NpyDictParser(std::string_view text, const std::string& file) : s_(text), file_(file) {}

  NpyHeader parse() {
    NpyHeader h;
    bool haveDescr = false, haveOrder = false, haveShape = false;
    skip();
    expect('{');
    while (true) {
      skip();
      if (peek() == '}') {
        ++i_;
        break;
      }
      const std::string key = str();
      skip();
      expect(':');
      skip();
      if (key == "descr") {
        parseDescr(str(), h);
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (s_.substr(i_, 4) == "True") h.fortranOrder = true, i_ += 4;
        else if (s_.substr(i_, 5) == "False") h.fortranOrder = false, i_ += 5;
        else fail("fortran_order must be True or False");
        haveOrder = true;
      } else if (key == "shape") {
        h.shape = tuple();
        haveShape = true;
      } else {
        fail("unknown header key '" + excerpt(key) + "'");
      }
      skip();
      if (peek() == ',') ++i_;
      else if (peek() != '}') fail("expected ',' or '}' in the header");
    }
    skip();
    if (i_ != s_.size()) fail("text after the header dict");
    if (!haveDescr || !haveOrder || !haveShape) fail("header lacks 'descr', 'fortran_order' or 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(file_, 0, ".npy header: " + what + " in '" + excerpt(s_) + "'");
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t')) ++i_;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  std::string str() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    ++i_;
    const std::size_t end = s_.find(q, i_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string out(s_.substr(i_, end - i_));
    i_ = end + 1;
    return out;
  }
  std::vector<Index> tuple() {
    std::vector<Index> dims;
    expect('(');
    while (true) {
      skip();
      if (peek() == ')') {
        ++i_;
        return dims;
      }
      Index v = 0;
      const std::size_t start = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
        if (v > (static_cast<Index>(1) << 50)) fail("shape dimension too large");
        v = v * 10 + (s_[i_++] - '0');
      }
      if (i_ == start) fail("expected a non-negative integer in the shape");
      dims.push_back(v);
      skip();
      if (peek() == ',') ++i_;
      else if (peek() != ')') fail("expected ',' or ')' in the shape");
    }
  }
  void parseDescr(const std::string& d, NpyHeader& h) const {
    if (d.size() != 3) fail("unsupported dtype '" + excerpt(d) + "'");
    const char order = d[0], kind = d[1], size = d[2];
    if (order == '>') h.bigEndian = true;
    else if (order == '<' || order == '|') h.bigEndian = false;
    else if (order == '=') h.bigEndian = std::endian::native == std::endian::big;
    else fail("unsupported byte order in dtype '" + d + "'");
    if (kind != 'i' && kind != 'f') fail("unsupported dtype '" + excerpt(d) + "' (expected a signed integer or a float)");
    h.kind = kind;
    h.itemSize = size - '0';
    const bool ok = kind == 'i' ? (h.itemSize == 1 || h.itemSize == 2 || h.itemSize == 4 || h.itemSize == 8)
                                : (h.itemSize == 4 || h.itemSize == 8);
    if (!ok) fail("unsupported dtype '" + excerpt(d) + "'");
  }

  std::string_view s_;
  const std::string& file_;
  std::size_t i_ = 0;
};

template <class T>
T loadElement(const unsigned char* p, bool bigEndian) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, p, sizeof(T));
  if (bigEndian != (std::endian::native == std::endian::big))
    for (std::size_t k = 0; k < sizeof(T) / 2; ++k) std::swap(b[k], b[sizeof(T) - 1 - k]);
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

/// Element k (storage order) as double or int64.
template <class Out>
Out npyElement(const NpyHeader& h, const unsigned char* data, Index k) {
  const unsigned char* p = data + static_cast<std::size_t>(k) * static_cast<std::size_t>(h.itemSize);
  if (h.kind == 'f') {
    if (h.itemSize == 4) return static_cast<Out>(loadElement<float>(p, h.bigEndian));
    return static_cast<Out>(loadElement<double>(p, h.bigEndian));
  }
  switch (h.itemSize) {
    case 1: return static_cast<Out>(loadElement<std::int8_t>(p, h.bigEndian));
    case 2: return static_cast<Out>(loadElement<std::int16_t>(p, h.bigEndian));
    case 4: return static_cast<Out>(loadElement<std::int32_t>(p, h.bigEndian));
    default: return static_cast<Out>(loadElement<std::int64_t>(p, h.bigEndian));
  }
}

}  // namespace detail

/// Parses and validates the header of an in-memory .npy file (`file` names it in errors).
inline NpyHeader parseNpyHeader(std::string_view bytes, const std::string& file) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view("\x93NUMPY", 6))
    throw DataError(file, 0, "not a .npy file (bad magic)");
  const auto major = static_cast<unsigned char>(bytes[6]);
  std::size_t headerLen = 0, prefix = 0;
  if (major == 1) {
    headerLen = static_cast<unsigned char>(bytes[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw DataError(file, 0, ".npy file truncated in its header");
    for (int k = 3; k >= 0; --k) headerLen = (headerLen << 8) | static_cast<unsigned char>(bytes[8 + static_cast<std::size_t>(k)]);
    prefix = 12;
  } else {
    throw DataError(file, 0, detail::concat("unsupported .npy version ", int{major}, ".", int{static_cast<unsigned char>(bytes[7])}));
  }
  if (bytes.size() - prefix < headerLen) throw DataError(file, 0, ".npy file truncated in its header");
  std::string_view header = bytes.substr(prefix, headerLen);
  if (header.empty() || header.back() != '\n') throw DataError(file, 0, ".npy header does not end with a newline");
  NpyHeader h = detail::NpyDictParser(header, file).parse();
  h.dataOffset = prefix + headerLen;
  // size with overflow checks
  std::size_t count = 1;
  for (Index d : h.shape) {
    if (d != 0 && count > (std::size_t{1} << 50) / static_cast<std::size_t>(d)) throw DataError(file, 0, ".npy shape too large");
    count *= static_cast<std::size_t>(d);
  }
  const std::size_t need = count * static_cast<std::size_t>(h.itemSize);
  const std::size_t have = bytes.size() - h.dataOffset;
  if (have < need) throw DataError(file, 0, detail::concat(".npy data truncated: ", have, " bytes, expected ", need));
  if (have > need) throw DataError(file, 0, detail::concat(".npy data has ", have - need, " unexpected trailing bytes"));
  return h;
}

/// A 2-D .npy array (in memory) as a row-major matrix of `Out` (int64_t, int, float or double).
/// Integer targets need an integer dtype; float targets accept float dtypes (and integers, converted).
/// `expectedCols` > 0 requires that many columns. 1-D arrays are refused (use shape (N, 1)).
template <class Out>
Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> parseNpyMatrix(std::string_view bytes, const std::string& file,
                                                                                   Index expectedCols = 0) {
  const NpyHeader h = parseNpyHeader(bytes, file);
  if (h.shape.size() != 2)
    throw DataError(file, 0, detail::concat(".npy array has ", h.shape.size(), " dimensions, expected 2"));
  if (expectedCols > 0 && h.shape[1] != expectedCols)
    throw DataError(file, 0, detail::concat(".npy array has shape (", h.shape[0], ", ", h.shape[1], "), expected (N, ", expectedCols, ")"));
  if constexpr (std::is_integral_v<Out>) {
    if (h.kind != 'i') throw DataError(file, 0, "expected an integer .npy array, got a float dtype");
  }
  const Index rows = h.shape[0], cols = h.shape[1];
  Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> m(rows, cols);
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data() + h.dataOffset);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) {
      const Index k = h.fortranOrder ? c * rows + r : r * cols + c;
      if constexpr (std::is_integral_v<Out>) {
        const auto v = detail::npyElement<std::int64_t>(h, data, k);
        if (v < static_cast<std::int64_t>(std::numeric_limits<Out>::min()) ||
            v > static_cast<std::int64_t>(std::numeric_limits<Out>::max()))
          throw DataError(file, 0, detail::concat(".npy value ", v, " at (", r, ", ", c, ") does not fit the target type"));
        m(r, c) = static_cast<Out>(v);
      } else {
        m(r, c) = detail::npyElement<Out>(h, data, k);
      }
    }
  return m;
}

/// Reads a 2-D .npy file (see parseNpyMatrix).
template <class Out>
Eigen::Matrix<Out, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> readNpyMatrix(const std::string& path, Index expectedCols = 0) {
  const std::string bytes = detail::readFile(path);
  return parseNpyMatrix<Out>(bytes, path, expectedCols);
}

}  // namespace recdiff::data

#endif  // RECDIFF_DATA_NPY_HPP
