// NumPy's .npy format (numpy.lib.format, versions 1.0-3.0): the magic "\x93NUMPY", a version, a
// header length, a header that is a Python dict literal {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), } padded with spaces to a multiple of 64 bytes and ending in '\n', then the
// raw elements. The header is parsed strictly (those three keys, each once; nothing else).
#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "ag/detail/file_io.hpp"
#include "ag/extend.hpp"
#include "ag/io.hpp"
#include "ag/ops/shape.hpp"
#include "io/elements.hpp"
#include "io/npy.hpp"

namespace ag::io {

using ag::detail::io_fail;
using detail::Elem;

namespace {

constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

// A cursor over the header text; every failure names the file and what was expected.
struct HeaderParser {
  const std::string& s;
  const std::string& file;
  std::size_t i = 0;
  [[noreturn]] void fail(const std::string& what) const {
    io_fail(file, fmt::format("bad .npy header ({} at character {} of \"{}\")", what, i,
                              s.size() > 200 ? s.substr(0, 200) + "..." : s));
  }
  void skip_space() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  }
  bool take(char c) {
    skip_space();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!take(c)) fail(fmt::format("expected '{}'", c));
  }
  std::string quoted() {
    skip_space();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) fail("expected a quoted string");
    const char q = s[i++];
    const std::size_t start = i;
    while (i < s.size() && s[i] != q) {
      if (s[i] == '\\') fail("escapes are not supported");
      ++i;
    }
    if (i >= s.size()) fail("unterminated string");
    return s.substr(start, i++ - start);
  }
  std::size_t integer() {
    skip_space();
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) fail("expected a non-negative integer");
    std::size_t v = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      const std::size_t d = static_cast<std::size_t>(s[i++] - '0');
      if (v > (std::numeric_limits<std::size_t>::max() - d) / 10) fail("integer too large");
      v = v * 10 + d;
    }
    if (i < s.size() && (s[i] == 'L' || s[i] == 'l')) ++i;  // Python 2's long suffix
    return v;
  }
  bool boolean() {
    skip_space();
    if (s.compare(i, 4, "True") == 0) return i += 4, true;
    if (s.compare(i, 5, "False") == 0) return i += 5, false;
    fail("expected True or False");
  }
  Shape tuple() {
    expect('(');
    Shape shape;
    if (take(')')) return shape;
    for (;;) {
      if (shape.size() == 64) fail("more than 64 dimensions");
      shape.push_back(integer());
      if (take(')')) return shape;
      expect(',');
      if (take(')')) return shape;
    }
  }
};

struct Descr {
  Elem elem;
  bool big_endian;
};

Descr parse_descr(const std::string& d, const std::string& file) {
  auto bad = [&]() -> Descr {
    io_fail(file, fmt::format("unsupported .npy dtype '{}' (readable: float16/32/64, int8/16/32/64, "
                              "uint8/16/32/64, bool)", d));
  };
  if (d.size() < 3) return bad();
  const char order = d[0];
  const std::string kind = d.substr(1);
  static const std::pair<const char*, Elem> table[] = {
      {"f2", Elem::f16}, {"f4", Elem::f32}, {"f8", Elem::f64}, {"i1", Elem::i8},  {"i2", Elem::i16},
      {"i4", Elem::i32}, {"i8", Elem::i64}, {"u1", Elem::u8},  {"u2", Elem::u16}, {"u4", Elem::u32},
      {"u8", Elem::u64}, {"b1", Elem::b1}};
  for (const auto& [name, e] : table)
    if (kind == name) {
      const bool one_byte = detail::elem_size(e) == 1;
      if (order == '|' && one_byte) return {e, false};
      if (order == '<' || (order == '=' && ag::detail::kLittleEndian)) return {e, false};
      if (order == '>' || order == '=') return {e, true};
      return bad();
    }
  return bad();
}

}  // namespace

Tensor parse_npy(const unsigned char* p, std::size_t n, const std::string& file) {
  ag::detail::ByteReader r{file, p, n};
  r.need(sizeof(kMagic) + 2, "the magic string and version");
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) io_fail(file, "not a .npy file (bad magic; expected \\x93NUMPY)");
  r.pos = sizeof(kMagic);
  const unsigned major = r.uint<std::uint8_t>("the version"), minor = r.uint<std::uint8_t>("the version");
  if (major < 1 || major > 3 || minor != 0)
    io_fail(file, fmt::format("unsupported .npy version {}.{} (this build reads 1.0, 2.0 and 3.0)", major, minor));
  const std::size_t header_len =
      major == 1 ? r.uint<std::uint16_t>("the header length") : r.uint<std::uint32_t>("the header length");
  r.need(header_len, "the header");
  const std::string header(reinterpret_cast<const char*>(p + r.pos), header_len);
  r.pos += header_len;

  HeaderParser h{header, file};
  std::string descr;
  bool fortran = false, have_descr = false, have_order = false, have_shape = false;
  Shape shape;
  h.expect('{');
  while (!h.take('}')) {
    const std::string key = h.quoted();
    h.expect(':');
    if (key == "descr" && !have_descr) {
      h.skip_space();
      if (h.i < header.size() && header[h.i] == '[') h.fail("structured dtypes are not supported");
      descr = h.quoted();
      have_descr = true;
    } else if (key == "fortran_order" && !have_order) {
      fortran = h.boolean();
      have_order = true;
    } else if (key == "shape" && !have_shape) {
      shape = h.tuple();
      have_shape = true;
    } else {
      h.fail(fmt::format("unexpected or repeated key '{}'", key));
    }
    if (!h.take(',')) {
      h.expect('}');
      break;
    }
  }
  h.skip_space();
  if (h.i != header.size()) h.fail("text after the dict");
  if (!have_descr || !have_order || !have_shape) h.fail("the keys 'descr', 'fortran_order' and 'shape' are required");

  const Descr d = parse_descr(descr, file);
  const std::size_t count = detail::checked_count(shape, file, "the array");
  const std::size_t k = detail::elem_size(d.elem);
  const std::size_t remain = n - r.pos;
  if (count * k != remain)  // (count <= 2^60 and k <= 8: no overflow)
    io_fail(file, fmt::format("the data has {} bytes but shape {} of {} needs {}", remain, shape_str(shape), descr,
                              count * k));
  if (!fortran || shape.size() < 2) return detail::decode(p + r.pos, count, shape, d.elem, d.big_endian, file, "the array");
  // Fortran order: the data is the transpose's C order; read it as the reversed shape and permute.
  const Shape reversed(shape.rbegin(), shape.rend());
  const Tensor t = detail::decode(p + r.pos, count, reversed, d.elem, d.big_endian, file, "the array");
  NoGradGuard ng;
  return ag::transpose(t);  // (a new tensor in C order)
}

Tensor load_npy(const std::string& path) {
  const std::vector<unsigned char> bytes = ag::detail::read_file(path);
  return parse_npy(bytes.data(), bytes.size(), path);
}

std::vector<unsigned char> detail::npy_bytes(const Tensor& t) {
  const char* descr = nullptr;
  switch (t.dtype()) {
    case DType::f32: descr = "<f4"; break;
    case DType::f64: descr = "<f8"; break;
    case DType::i64: descr = "<i8"; break;
    case DType::i32: descr = "<i4"; break;
    case DType::u8: descr = "|u1"; break;
    default: descr = "|b1"; break;
  }
  const Shape s = t.shape();
  std::string shape = "(";
  for (std::size_t i = 0; i < s.size(); ++i) shape += std::to_string(s[i]) + (s.size() == 1 ? "," : i + 1 < s.size() ? ", " : "");
  shape += ")";
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, shape);
  // magic (6) + version (2) + length (2 or 4) + header + '\n', padded with spaces to 64 bytes
  const bool v2 = header.size() + 1 + 10 > 65535;
  const std::size_t prefix = v2 ? 12 : 10;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  ag::detail::ByteWriter w;
  w.buf.assign(std::begin(kMagic), std::end(kMagic));
  w.uint<std::uint8_t>(v2 ? 2 : 1);
  w.uint<std::uint8_t>(0);
  if (v2)
    w.uint<std::uint32_t>(static_cast<std::uint32_t>(header.size()));
  else
    w.uint<std::uint16_t>(static_cast<std::uint16_t>(header.size()));
  w.buf.insert(w.buf.end(), header.begin(), header.end());
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    w.values(data<T>(t), t.numel());  // (a bool is one byte, 0 or 1)
  });
  return std::move(w.buf);
}

void save_npy(const std::string& path, const Tensor& t) {
  OpScope mark("save_npy");
  require_defined("save_npy", t, "the tensor");
  ag::detail::write_atomically(path, detail::npy_bytes(t));
}

}  // namespace ag::io
