// .npy: round trips of every dtype, the exact bytes NumPy writes, files as other writers make them
// (big-endian, Fortran order, dtypes widened on read), and every kind of broken file.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "ag/io.hpp"

namespace {

using Bytes = std::vector<unsigned char>;

std::string tmp_path(const std::string& name) { return "io_test_" + name; }

Bytes read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// A .npy file as NumPy lays it out: version 1.0, header padded to a multiple of 64 bytes.
Bytes npy(const std::string& dict, const Bytes& data, unsigned major = 1) {
  std::string h = dict;
  const std::size_t prefix = major == 1 ? 10 : 12;
  h.append((64 - (prefix + h.size() + 1) % 64) % 64, ' ');
  h += '\n';
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(major), 0};
  const std::size_t n = h.size();
  b.push_back(static_cast<unsigned char>(n & 0xFF));
  b.push_back(static_cast<unsigned char>(n >> 8));
  if (major != 1) {
    b.push_back(static_cast<unsigned char>(n >> 16));
    b.push_back(static_cast<unsigned char>(n >> 24));
  }
  b.insert(b.end(), h.begin(), h.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

template <class T> Bytes le(const std::vector<T>& v) {
  Bytes b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}
template <class T> Bytes be(const std::vector<T>& v) {
  Bytes b = le(v);
  for (std::size_t i = 0; i < v.size(); ++i)
    for (std::size_t k = 0; k < sizeof(T) / 2; ++k) std::swap(b[i * sizeof(T) + k], b[i * sizeof(T) + sizeof(T) - 1 - k]);
  return b;
}

ag::Tensor parse(const Bytes& b) { return ag::io::parse_npy(b.data(), b.size(), "t.npy"); }

std::string error_of(const Bytes& b) {
  try {
    parse(b);
  } catch (const ag::IOError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("npy: every dtype round-trips exactly, with its shape (0-d, empty, 1-D, 3-D)") {
  const std::string path = tmp_path("roundtrip.npy");
  const std::vector<ag::Tensor> ts = {
      ag::tensor(std::vector<float>{1.5f, -2.25f, 3e-39f, 1e30f, -0.0f, 7.0f}, {2, 3}),
      ag::tensor(std::vector<double>{0.1, -1e300, 5e-324}, {3}),
      ag::tensor(std::vector<std::int64_t>{-9007199254740993LL, 4, 5, 6, 7, 8, 9, 10}, {2, 2, 2}),
      ag::tensor(std::vector<std::int32_t>{-7}, {}),
      ag::tensor(std::vector<std::uint8_t>{0, 255, 17}, {3, 1}),
      ag::tensor(std::vector<bool>{true, false, true}, {3}),
      ag::zeros({0, 4}),
  };
  for (const ag::Tensor& t : ts) {
    INFO(ag::dtype_name(t.dtype()) << " " << ag::shape_str(t.shape()));
    ag::io::save_npy(path, t);
    const ag::Tensor u = ag::io::load_npy(path);
    CHECK(u.dtype() == t.dtype());
    CHECK(u.shape() == t.shape());
    ag::dispatch_all(t.dtype(), [&](auto tag) {
      using T = decltype(tag);
      CHECK(u.to_vector<T>() == t.to_vector<T>());
    });
  }
  std::remove(path.c_str());
}

TEST_CASE("npy: the bytes are NumPy's (header dict, padding to 64, little-endian data)") {
  const std::string path = tmp_path("bytes.npy");
  ag::io::save_npy(path, ag::tensor(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}));
  const Bytes got = read_all(path);
  const Bytes want = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", le(std::vector<float>{1, 2, 3, 4, 5, 6}));
  CHECK(got == want);
  CHECK(got.size() == 128 + 24);  // what np.save writes for this array
  ag::io::save_npy(path, ag::tensor(std::vector<std::int64_t>{5}, {1}));
  const Bytes one = read_all(path);
  const std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }";
  CHECK(std::string(one.begin() + 10, one.begin() + 10 + static_cast<long>(dict.size())) == dict);
  std::remove(path.c_str());
}

TEST_CASE("npy: big-endian, Fortran order, version 2 and 3 headers, widened dtypes") {
  // big-endian float64
  const ag::Tensor a = parse(npy("{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }", be(std::vector<double>{1.5, -2, 1e-300})));
  CHECK(a.dtype() == ag::f64);
  CHECK(a.to_vector<double>() == std::vector<double>{1.5, -2, 1e-300});
  // Fortran order: [[1, 2, 3], [4, 5, 6]] stored column by column
  const ag::Tensor f = parse(npy("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", le(std::vector<std::int32_t>{1, 4, 2, 5, 3, 6})));
  CHECK(f.shape() == ag::Shape{2, 3});
  CHECK(f.to_vector<std::int32_t>() == std::vector<std::int32_t>{1, 2, 3, 4, 5, 6});
  const ag::Tensor f3 = parse(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2, 2), }", le(std::vector<float>{0, 4, 2, 6, 1, 5, 3, 7})));
  CHECK(f3.to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7});
  // versions 2.0 and 3.0 (4-byte header length); keys in another order, no trailing comma
  CHECK(parse(npy("{'shape': (2,), 'fortran_order': False, 'descr': '<f8'}", le(std::vector<double>{1, 2}), 2)).numel() == 2);
  CHECK(parse(npy("{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (1,)}", le(std::vector<double>{3}), 3)).item() == 3);
  // float16 -> float32 (normal, subnormal, inf), int16 -> int32, uint32 -> int64, uint64 -> int64
  const ag::Tensor h = parse(npy("{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }", le(std::vector<std::uint16_t>{0x3C00, 0xC100, 0x0001, 0x7C00})));
  CHECK(h.dtype() == ag::f32);
  const std::vector<float> hv = h.to_vector<float>();
  CHECK(hv[0] == 1.0f);
  CHECK(hv[1] == -2.5f);
  CHECK(hv[2] == std::ldexp(1.0f, -24));  // the smallest subnormal half
  CHECK(std::isinf(hv[3]));
  const ag::Tensor s = parse(npy("{'descr': '>i2', 'fortran_order': False, 'shape': (2,), }", be(std::vector<std::int16_t>{-300, 7})));
  CHECK(s.dtype() == ag::i32);
  CHECK(s.to_vector<std::int32_t>() == std::vector<std::int32_t>{-300, 7});
  const ag::Tensor u = parse(npy("{'descr': '<u4', 'fortran_order': False, 'shape': (1,), }", le(std::vector<std::uint32_t>{4000000000u})));
  CHECK(u.dtype() == ag::i64);
  CHECK(u.to_vector<std::int64_t>()[0] == 4000000000LL);
  CHECK(parse(npy("{'descr': '|i1', 'fortran_order': False, 'shape': (1,), }", {0xFF})).to_vector<std::int32_t>()[0] == -1);
}

TEST_CASE("npy: broken files are IOErrors naming the file and the problem") {
  const Bytes good = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", le(std::vector<float>{1, 2}));
  CHECK(error_of(good) == "no error");
  struct Case {
    const char* what;
    Bytes bytes;
    const char* message;
  };
  Bytes truncated(good.begin(), good.end() - 1), extra = good, magic = good, header_past(good.begin(), good.begin() + 20);
  extra.push_back(0);
  magic[1] = 'X';
  const std::vector<Case> cases = {
      {"empty", {}, "truncated"},
      {"bad magic", magic, "not a .npy file"},
      {"truncated data", truncated, "the data has 7 bytes but shape [2] of <f4 needs 8"},
      {"trailing data", extra, "the data has 9 bytes"},
      {"header past the end", header_past, "truncated: the header needs 118 bytes"},
      {"version 4", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", le(std::vector<float>{1, 2}), 4), "unsupported .npy version 4.0"},
      {"unknown key", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", le(std::vector<float>{1, 2})), "unexpected or repeated key 'x'"},
      {"repeated key", npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", le(std::vector<float>{1, 2})), "unexpected or repeated key 'descr'"},
      {"missing shape", npy("{'descr': '<f4', 'fortran_order': False}", {}), "are required"},
      {"structured", npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", le(std::vector<float>{1})), "structured dtypes"},
      {"object", npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,)}", Bytes(8)), "unsupported .npy dtype '|O'"},
      {"complex", npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", Bytes(8)), "unsupported .npy dtype '<c8'"},
      {"negative size", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", {}), "expected a non-negative integer"},
      {"huge shape", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", {}), "more elements than can exist"},
      // no elements, but extents whose product (xtensor's strides) overflows: found by fuzz_npy
      {"huge extents around a 0", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 0, 6666, 66, 66666667, 6666666, 666666, 6666000000009)}", {}), "more elements than can exist"},
      {"huge integer", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}", {}), "integer too large"},
      {"bool byte", npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,)}", {1, 2}), "byte 2 at element 1 is not a bool"},
      {"uint64 over int64", npy("{'descr': '<u8', 'fortran_order': False, 'shape': (1,)}", le(std::vector<std::uint64_t>{1ULL << 63})), "does not fit int64"},
      {"text after the dict", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0,)} x", {}), "text after the dict"},
      {"unterminated", npy("{'descr': '<f4", {}), "unterminated string"},
  };
  for (const Case& c : cases) {
    const std::string m = error_of(c.bytes);
    const std::string info = std::string(c.what) + ": " + m;
    INFO(info);
    CHECK(m.rfind("t.npy: ", 0) == 0);
    CHECK(m.find(c.message) != std::string::npos);
  }
  // a missing file and an undefined tensor
  CHECK_THROWS_AS(ag::io::load_npy(tmp_path("does-not-exist.npy")), ag::IOError);
  CHECK_THROWS_AS(ag::io::save_npy(tmp_path("x.npy"), ag::Tensor()), ag::ValueError);
}
