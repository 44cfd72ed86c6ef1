// .npz: round trips of every dtype (stored and deflated), the archive's layout (member names,
// order, methods, the .npy bytes inside), archives made by hand byte by byte (zip records written
// here from the format's definition, so nothing depends on the library under test), every kind
// of broken archive, and atomic writes. Built without libzip: the IOError that says so.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "ag/detail/file_io.hpp"
#include "ag/io.hpp"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

Bytes read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}
void write_all(const std::string& path, const Bytes& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// A fresh directory, removed with its contents at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string p = (fs::temp_directory_path() / "tapegrad-npz-XXXXXX").string();
    REQUIRE(::mkdtemp(p.data()) != nullptr);
    path = p;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::size_t entries() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(path)) ++n;
    return n;
  }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ag::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

#ifdef TAPEGRAD_HAVE_LIBZIP

namespace {

void put16(Bytes& b, unsigned v) {
  for (int i = 0; i < 2; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
}
void put32(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
}
std::uint32_t get32(const Bytes& b, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t(b[at + i]) << (8 * i);
  return v;
}
unsigned get16(const Bytes& b, std::size_t at) { return b[at] | unsigned(b[at + 1]) << 8; }

// One zip member as its records describe it: `data` as stored in the archive (compressed for
// method 8), and the directory's claims, which the tests falsify one at a time.
struct Member {
  std::string name;
  Bytes data;
  unsigned method = 0;  // 0 stored, 8 deflated
  std::uint32_t crc = 0;
  std::uint32_t size = 0;  // uncompressed
  unsigned flags = 0;      // general purpose bits (bit 0: encrypted)
};
Member stored(const std::string& name, const Bytes& content) {
  return {name, content, 0, ag::detail::crc32(content.data(), content.size()), std::uint32_t(content.size()), 0};
}
// Deflate with one final "stored" block (BFINAL=1, BTYPE=00, LEN, NLEN, the bytes): valid deflate
// data that needs no compressor.
Member deflated(const std::string& name, const Bytes& content) {
  Member m = stored(name, content);
  m.method = 8;
  const unsigned n = unsigned(content.size());
  m.data = {0x01};
  put16(m.data, n);
  put16(m.data, ~n & 0xFFFFu);
  m.data.insert(m.data.end(), content.begin(), content.end());
  return m;
}

// A zip archive (no zip64, no data descriptors): local header + data per member, the central
// directory, the end record. Every member's central record points at local header `at[i]`
// (default: its own).
Bytes zip(const std::vector<Member>& ms) {
  Bytes b, cd;
  for (const Member& m : ms) {
    const std::uint32_t offset = std::uint32_t(b.size());
    auto header = [&](Bytes& o, bool central) {
      put32(o, central ? 0x02014b50u : 0x04034b50u);
      if (central) put16(o, 20);  // version made by
      put16(o, 20);               // version needed
      put16(o, m.flags);
      put16(o, m.method);
      put16(o, 0);       // time
      put16(o, 0x21);    // date: 1980-01-01
      put32(o, m.crc);
      put32(o, std::uint32_t(m.data.size()));
      put32(o, m.size);
      put16(o, unsigned(m.name.size()));
      put16(o, 0);  // extra field length
      if (central) {
        put16(o, 0);  // comment length
        put16(o, 0);  // disk
        put16(o, 0);  // internal attributes
        put32(o, 0);  // external attributes
        put32(o, offset);
      }
      o.insert(o.end(), m.name.begin(), m.name.end());
    };
    header(b, false);
    b.insert(b.end(), m.data.begin(), m.data.end());
    header(cd, true);
  }
  const std::uint32_t cd_offset = std::uint32_t(b.size());
  b.insert(b.end(), cd.begin(), cd.end());
  put32(b, 0x06054b50u);
  put16(b, 0);
  put16(b, 0);
  put16(b, unsigned(ms.size()));
  put16(b, unsigned(ms.size()));
  put32(b, std::uint32_t(cd.size()));
  put32(b, cd_offset);
  put16(b, 0);
  return b;
}

// The central directory's (name, method) pairs, in order.
std::vector<std::pair<std::string, unsigned>> directory(const Bytes& b) {
  std::vector<std::pair<std::string, unsigned>> out;
  for (std::size_t i = 0; i + 46 <= b.size(); ++i)
    if (get32(b, i) == 0x02014b50u) {
      const unsigned n = get16(b, i + 28);
      out.emplace_back(std::string(b.begin() + long(i) + 46, b.begin() + long(i) + 46 + n), get16(b, i + 10));
    }
  return out;
}

bool contains(const Bytes& hay, const Bytes& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

Bytes npy_of(const ag::Tensor& t, const TempDir& dir) {
  ag::io::save_npy(dir.file("one.npy"), t);
  return read_all(dir.file("one.npy"));
}

ag::io::NamedTensors parse(const Bytes& b) { return ag::io::parse_npz(b.data(), b.size(), "t.npz"); }

void check_same(const ag::io::NamedTensors& got, const ag::io::NamedTensors& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO(want[i].first);
    CHECK(got[i].first == want[i].first);
    const ag::Tensor &u = got[i].second, &t = want[i].second;
    CHECK(u.dtype() == t.dtype());
    CHECK(u.shape() == t.shape());
    ag::dispatch_all(t.dtype(), [&](auto tag) {
      using T = decltype(tag);
      CHECK(u.to_vector<T>() == t.to_vector<T>());
    });
  }
}

const ag::io::NamedTensors& every_dtype() {
  static const ag::io::NamedTensors ts = {
      {"zeta", ag::tensor(std::vector<float>{1.5f, -2.25f, 3e-39f, 1e30f, -0.0f, 7.0f}, {2, 3})},
      {"alpha", ag::tensor(std::vector<double>{0.1, -1e300, 5e-324}, {3})},
      {"layers.0.weight", ag::tensor(std::vector<std::int64_t>{-9007199254740993LL, 4, 5, 6, 7, 8, 9, 10}, {2, 2, 2})},
      {"dir/scalar", ag::tensor(std::vector<std::int32_t>{-7}, {})},
      {"bytes", ag::tensor(std::vector<std::uint8_t>{0, 255, 17}, {3, 1})},
      {"mask", ag::tensor(std::vector<bool>{true, false, true}, {3})},
      {"empty", ag::zeros({0, 4})},
      {"zeros", ag::zeros({20000}, ag::f64)},  // 160 kB: more than the reader's first buffer
  };
  return ts;
}

}  // namespace

TEST_CASE("npz: every dtype round-trips exactly, stored and deflated, in the given order") {
  TempDir dir;
  const auto& ts = every_dtype();
  for (bool compressed : {false, true}) {
    INFO("compressed " << compressed);
    const std::string path = dir.file(compressed ? "c.npz" : "s.npz");
    ag::io::save_npz(path, ts, compressed);
    check_same(ag::io::load_npz(path), ts);
    // the members: "<name>.npy" in the given order, stored (0) or deflated (8)
    const auto members = directory(read_all(path));
    REQUIRE(members.size() == ts.size());
    for (std::size_t i = 0; i < ts.size(); ++i) {
      CHECK(members[i].first == ts[i].first + ".npy");
      CHECK(members[i].second == (compressed ? 8u : 0u));
    }
  }
  // stored members are save_npy's bytes verbatim; deflate shrinks the 160 kB of zeros
  const Bytes s = read_all(dir.file("s.npz")), c = read_all(dir.file("c.npz"));
  for (const auto& entry : ts) CHECK(contains(s, npy_of(entry.second, dir)));
  CHECK(s.size() > 160000);
  CHECK(c.size() < 2000);
  // no arrays: the 22-byte empty archive numpy.savez writes, which loads as nothing
  ag::io::save_npz(dir.file("none.npz"), {});
  CHECK(read_all(dir.file("none.npz")).size() == 22);
  CHECK(ag::io::load_npz(dir.file("none.npz")).empty());
}

TEST_CASE("npz: archives made byte by byte load in archive order, stored or deflated") {
  TempDir dir;
  const ag::Tensor a = ag::tensor(std::vector<float>{1, 2, 3}, {3});
  const ag::Tensor b = ag::tensor(std::vector<std::int64_t>{-4, 5}, {2, 1});
  const Bytes archive = zip({deflated("b.npy", npy_of(b, dir)), stored("a.npy", npy_of(a, dir)),
                             stored("sub/c.npy", npy_of(a, dir))});
  check_same(parse(archive), {{"b", b}, {"a", a}, {"sub/c", a}});
  // (the hand-made archive is what a file holds: load_npz reads it the same)
  write_all(dir.file("hand.npz"), archive);
  check_same(ag::io::load_npz(dir.file("hand.npz")), {{"b", b}, {"a", a}, {"sub/c", a}});
  // the empty archive: only an end record
  CHECK(parse(zip({})).empty());
}

TEST_CASE("npz: broken archives are IOErrors naming the file, the member and the problem") {
  TempDir dir;
  const Bytes good_npy = npy_of(ag::tensor(std::vector<float>{1, 2}, {2}), dir);
  const Bytes good = zip({stored("a.npy", good_npy), deflated("b.npy", good_npy)});
  CHECK(parse(good).size() == 2);

  Member bad_crc = stored("a.npy", good_npy), encrypted = stored("a.npy", good_npy),
         size_lie = stored("a.npy", good_npy), bomb = deflated("a.npy", good_npy),
         short_claim = deflated("a.npy", good_npy), long_claim = deflated("a.npy", good_npy),
         big_claim = deflated("a.npy", good_npy),
         bzip2 = stored("a.npy", good_npy), corrupt = deflated("a.npy", good_npy);
  bad_crc.crc ^= 1;
  encrypted.flags = 1;
  size_lie.size += 1;
  bomb.size = 0xFFFFFFF0u;  // 4 GB claimed from 45 bytes
  short_claim.size -= 1;
  long_claim.size += 1;
  big_claim.size = 141 * 1032;  // as much as 141 deflated bytes could hold
  bzip2.method = 12;
  corrupt.data[0] = 0x07;  // BTYPE 11: a reserved (invalid) block type
  Bytes truncated(good.begin(), good.end() - 5), cut_middle = good;
  cut_middle.erase(cut_middle.begin() + 40, cut_middle.begin() + 60);
  const Bytes not_npy = {'h', 'e', 'l', 'l', 'o'};
  const Bytes complex_npy = [&] {
    Bytes n = good_npy;  // '<f4' -> '<c8' (8 bytes of data make one complex64)
    const std::string d = "'<f4'";
    auto at = std::search(n.begin(), n.end(), d.begin(), d.end());
    at[2] = 'c';
    at[3] = '8';
    return n;
  }();
  struct Case {
    const char* what;
    Bytes bytes;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"empty", {}, "t.npz: not a zip archive (the file is empty)"},
      {"not a zip", Bytes(100, 'x'), "t.npz: not a zip archive"},
      {"a .npy file", good_npy, "t.npz: not a zip archive"},
      {"truncated end record", truncated, "t.npz: not a zip archive"},
      {"bytes cut from the middle", cut_middle, "t.npz: inconsistent zip archive"},
      {"member without .npy", zip({stored("a.txt", good_npy)}), "t.npz: entry 'a.txt': not a .npy member"},
      {"member named .npy", zip({stored(".npy", good_npy)}), "t.npz: entry '.npy': not a .npy member"},
      {"directory member", zip({stored("d/", {})}), "t.npz: entry 'd/': not a .npy member"},
      {"repeated name", zip({stored("a.npy", good_npy), stored("a.npy", good_npy)}), "t.npz: two entries of the zip archive have the same name"},
      {"CRC mismatch", zip({bad_crc}), "t.npz: entry 'a.npy': CRC-32 mismatch"},
      {"encrypted", zip({encrypted}), "t.npz: entry 'a.npy': encrypted entries are not supported"},
      {"stored size claim", zip({size_lie}), "t.npz: entry 'a.npy': stored, but claims 137 bytes uncompressed and 136 compressed"},
      {"deflate bomb claim", zip({bomb}), "t.npz: entry 'a.npy': claims 4294967280 bytes uncompressed from 141 deflated bytes"},
      {"claim shorter than the data", zip({short_claim}), "t.npz: entry 'a.npy': holds more than the 135 bytes"},
      {"claim longer than the data", zip({long_claim}), "t.npz: entry 'a.npy': holds 136 bytes but its directory record claims 137"},
      {"claim far longer than the data", zip({big_claim}), "t.npz: entry 'a.npy': holds 136 bytes but its directory record claims 145512"},
      {"bzip2", zip({bzip2}), "t.npz: entry 'a.npy': unsupported compression method 12"},
      {"corrupt deflate", zip({corrupt}), "t.npz: entry 'a.npy': the deflated data is corrupt"},
      {"not a .npy inside", zip({stored("x.npy", not_npy)}), "t.npz (entry 'x.npy'): truncated"},
      {"bad .npy inside", zip({stored("a.npy", good_npy), stored("x.npy", Bytes(good_npy.begin(), good_npy.end() - 1))}),
       "t.npz (entry 'x.npy'): the data has 7 bytes but shape [2] of <f4 needs 8"},
      {"unsupported dtype inside", zip({deflated("z.npy", complex_npy)}), "t.npz (entry 'z.npy'): unsupported .npy dtype '<c8'"},
  };
  for (const Case& c : cases) {
    const std::string m = error_of([&] { parse(c.bytes); });
    INFO(std::string(c.what) << ": " << m);
    CHECK(m.rfind(c.message, 0) == 0);
    CHECK_THROWS_AS(parse(c.bytes), ag::IOError);
  }
  // from a file: the path names it
  write_all(dir.file("bad.npz"), zip({bad_crc}));
  CHECK(error_of([&] { ag::io::load_npz(dir.file("bad.npz")); }) == dir.file("bad.npz") + ": entry 'a.npy': CRC-32 mismatch: the data is corrupt");
  CHECK_THROWS_AS(ag::io::load_npz(dir.file("missing.npz")), ag::IOError);
}

TEST_CASE("npz: names and tensors that cannot be saved are ValueErrors, and nothing is written") {
  TempDir dir;
  const std::string path = dir.file("keep.npz");
  const ag::Tensor x = ag::ones({2});
  ag::io::save_npz(path, {{"x", x}});
  const Bytes before = read_all(path);
  const std::vector<ag::io::NamedTensors> bad = {
      {{"x", x}, {"x", x}}, {{"", x}}, {{std::string("a\0b", 3), x}}, {{"x", x}, {"y", ag::Tensor()}}};
  for (const auto& ts : bad) {
    const std::string m = error_of([&] { ag::io::save_npz(path, ts); });
    INFO(m);
    CHECK_THROWS_AS(ag::io::save_npz(path, ts), ag::ValueError);
    CHECK(m.find("save_npz") != std::string::npos);
  }
  CHECK(read_all(path) == before);
  CHECK(dir.entries() == 1);
}

TEST_CASE("npz: saving is atomic and keeps the replaced file's mode, a refused save leaves it untouched") {
  TempDir dir;
  const std::string path = dir.file("w.npz");
  const ag::io::NamedTensors one = {{"w", ag::ones({3})}}, two = {{"w", ag::zeros({5})}, {"b", ag::ones({1})}};
  ag::io::save_npz(path, one);
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  ag::io::save_npz(path, two, true);
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  check_same(ag::io::load_npz(path), two);
  // a file without write permission is refused (also as root), and stays as it was
  const Bytes before = read_all(path);
  REQUIRE(::chmod(path.c_str(), 0444) == 0);
  const std::string m = error_of([&] { ag::io::save_npz(path, one); });
  CHECK(m.find("not writable") != std::string::npos);
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  CHECK(read_all(path) == before);
  CHECK(dir.entries() == 1);  // no temporary file left behind
  // a directory that does not exist
  CHECK_THROWS_AS(ag::io::save_npz(dir.file("no/such/dir/x.npz"), one), ag::IOError);
}

#else  // built without libzip

TEST_CASE("npz: without libzip the .npz functions throw IOError saying so") {
  TempDir dir;
  const std::string path = dir.file("x.npz");
  for (const std::string& m : {error_of([&] { ag::io::save_npz(path, {{"x", ag::ones({1})}}); }),
                               error_of([&] { ag::io::load_npz(path); }),
                               error_of([&] { ag::io::parse_npz(nullptr, 0, path); })}) {
    INFO(m);
    CHECK(m.rfind(path + ": ", 0) == 0);
    CHECK(m.find("built without") != std::string::npos);
  }
  CHECK_THROWS_AS(ag::io::load_npz(path), ag::IOError);
  CHECK(dir.entries() == 0);
}

#endif
