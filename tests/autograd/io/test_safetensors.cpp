// .safetensors: round trips with metadata, the exact layout, files as other writers make them
// (F16/BF16, offsets in another order), and every kind of broken file.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "ag/io.hpp"

namespace {

using Bytes = std::vector<unsigned char>;

Bytes file(const std::string& header, const Bytes& data) {
  Bytes b(8);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(n >> (8 * i));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}
template <class T> Bytes le(const std::vector<T>& v) {
  Bytes b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}
ag::io::SafetensorsFile parse(const Bytes& b) { return ag::io::parse_safetensors(b.data(), b.size(), "m.safetensors"); }
std::string error_of(const Bytes& b) {
  try {
    parse(b);
  } catch (const ag::IOError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("safetensors: tensors of every dtype and the metadata round-trip, in order") {
  const std::string path = "io_test_rt.safetensors";
  ag::io::NamedTensors ts = {
      {"layer.weight", ag::tensor(std::vector<float>{1.5f, -2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3})},
      {"layer.bias", ag::tensor(std::vector<double>{0.25, -1e-300}, {2})},
      {"steps", ag::tensor(std::vector<std::int64_t>{123456789012345LL}, {})},
      {"ids", ag::tensor(std::vector<std::int32_t>{-1, 2}, {2, 1})},
      {"bytes", ag::tensor(std::vector<std::uint8_t>{0, 200}, {2})},
      {"mask", ag::tensor(std::vector<bool>{true, false, false}, {3})},
      {"empty", ag::zeros({0, 3})},
  };
  ag::io::save_safetensors(path, ts, {{"format", "pt"}, {"note", "tapegrad"}});
  const ag::io::SafetensorsFile f = ag::io::load_safetensors(path);
  REQUIRE(f.tensors.size() == ts.size());
  CHECK(f.metadata == std::map<std::string, std::string>{{"format", "pt"}, {"note", "tapegrad"}});
  for (std::size_t i = 0; i < ts.size(); ++i) {
    INFO(ts[i].first);
    CHECK(f.tensors[i].first == ts[i].first);
    CHECK(f.tensors[i].second.dtype() == ts[i].second.dtype());
    CHECK(f.tensors[i].second.shape() == ts[i].second.shape());
    ag::dispatch_all(ts[i].second.dtype(), [&](auto tag) {
      using T = decltype(tag);
      CHECK(f.tensors[i].second.to_vector<T>() == ts[i].second.to_vector<T>());
    });
  }
  std::remove(path.c_str());
  CHECK_THROWS_AS(ag::io::save_safetensors(path, {{"a", ag::zeros({1})}, {"a", ag::zeros({1})}}), ag::ValueError);
  CHECK_THROWS_AS(ag::io::save_safetensors(path, {{"__metadata__", ag::zeros({1})}}), ag::ValueError);
}

TEST_CASE("safetensors: the layout (length, JSON header padded to 8, raw little-endian data)") {
  const std::string path = "io_test_layout.safetensors";
  ag::io::save_safetensors(path, {{"w", ag::tensor(std::vector<float>{1, 2}, {2})}});
  std::FILE* fp = std::fopen(path.c_str(), "rb");
  REQUIRE(fp);
  Bytes b(1024);
  b.resize(std::fread(b.data(), 1, b.size(), fp));
  std::fclose(fp);
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= std::uint64_t(b[i]) << (8 * i);
  CHECK(n % 8 == 0);
  const std::string header(b.begin() + 8, b.begin() + 8 + static_cast<long>(n));
  CHECK(header.rfind(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 0) == 0);
  CHECK(b.size() == 8 + n + 8);
  CHECK(Bytes(b.end() - 8, b.end()) == le(std::vector<float>{1, 2}));
  std::remove(path.c_str());
}

TEST_CASE("safetensors: F16 and BF16 widen to float32, offsets listed in any order") {
  const Bytes data = [] {
    Bytes d = le(std::vector<std::uint16_t>{0x3C00, 0xC000});  // half 1, -2
    Bytes b = le(std::vector<std::uint16_t>{0x3FC0, 0x4049});  // bfloat16 1.5, 3.140625
    d.insert(d.end(), b.begin(), b.end());
    return d;
  }();
  const auto f = parse(file(R"({"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", data));
  REQUIRE(f.tensors.size() == 2);
  CHECK(f.tensors[0].first == "h");  // in data order
  CHECK(f.tensors[0].second.to_vector<float>() == std::vector<float>{1.0f, -2.0f});
  CHECK(f.tensors[1].second.dtype() == ag::f32);
  CHECK(f.tensors[1].second.to_vector<float>() == std::vector<float>{1.5f, 3.140625f});
}

TEST_CASE("safetensors: broken files are IOErrors naming the file and the problem") {
  const Bytes d8 = le(std::vector<float>{1, 2});
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  CHECK(error_of(file(ok, d8)) == "no error");
  Bytes huge(8, 0);
  huge[4] = 1;  // 2^32 bytes of header claimed
  Bytes past = file(ok, d8);
  past[0] = 200;  // header longer than the file
  struct Case {
    const char* what;
    Bytes bytes;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"empty", {}, "truncated"},
      {"4 GiB header", huge, "the header claims 4294967296 bytes, over the limit"},
      {"header past the end", past, "truncated: the header needs 200 bytes"},
      {"not JSON", file("{nope", d8), "not valid JSON"},
      {"not an object", file("[1]", {}), "not a JSON object"},
      {"duplicate", file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8), "names 'a' twice"},
      {"unknown dtype", file(R"({"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}})", d8), "unsupported dtype 'C64'"},
      {"offsets do not match", file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d8), "do not hold the 12 bytes"},
      {"end before begin", file(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", d8), "do not hold"},
      {"past the data", file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", d8), "cover 16 bytes of data but the file has 8"},
      {"overlap", file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8), "overlap"},
      {"gap", file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", d8), "gap"},
      {"unused bytes", file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", d8), "cover 4 bytes of data but the file has 8"},
      {"overflowing shape", file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", d8), "more elements than can exist"},
      {"0 elements, overflowing extents", file(R"({"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", d8), "more elements than can exist"},
      {"negative size", file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d8), "non-negative integers"},
      {"bad metadata", file(R"({"__metadata__":{"k":1}})", {}), "'k' is not a string"},
      {"missing fields", file(R"({"a":{"dtype":"F32"}})", {}), "expected an object with dtype, shape and data_offsets"},
      {"bool byte", file(R"({"a":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}})", {7}), "byte 7 at element 0 is not a bool"},
  };
  for (const Case& c : cases) {
    const std::string m = error_of(c.bytes);
    const std::string info = std::string(c.what) + ": " + m;
    INFO(info);
    CHECK(m.rfind("m.safetensors: ", 0) == 0);
    CHECK(m.find(c.message) != std::string::npos);
  }
}
