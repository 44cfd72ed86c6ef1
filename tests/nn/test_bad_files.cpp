// Bad-input catalogue (files): corrupt, truncated, hostile and mismatched model files, failed saves,
// and malformed CSV. Every case must raise ag::IOError naming the file (state.hpp, data/csv.hpp),
// with the problem in the message, and leave the user's state as it was: a failed load leaves the
// model's / optimizer's values bit-identical, a failed save leaves the existing file intact and no
// temporary file behind. test_state.cpp and data/test_csv.cpp have the worked single cases; this
// file covers the rest (every prefix, every byte, crafted headers with valid checksums).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <doctest/doctest.h>

#include "ag/nn/data/csv.hpp"
#include "fuzz/csv_options.hpp"
#include "support/module_util.hpp"
#include "support/temp_dir.hpp"

using namespace nn_test;
namespace nn = ag::nn;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<unsigned char>;

using test_support::TempDir;

using test_support::read_bytes;
using test_support::write_bytes;
void write_text(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// ---- a writer for crafted files in the documented format (ag/nn/state.hpp) --------------------
std::uint32_t crc32(const Bytes& b) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char x : b) {
    c ^= x;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}
struct Crafted {
  Bytes b;
  template <class U> Crafted& uint(U v) {
    for (std::size_t i = 0; i < sizeof(U); ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
    return *this;
  }
  Crafted& str(const std::string& s) {
    uint<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    return raw(s);
  }
  Crafted& raw(const std::string& s) {
    for (char ch : s) b.push_back(static_cast<unsigned char>(ch));  // (insert: a GCC 12 false warning)
    return *this;
  }
  // magic, version 1, kind, type name, entry count
  static Crafted header(std::uint64_t count, std::uint32_t kind = 1, const std::string& type = "Sequential") {
    Crafted c;
    c.raw("TAPEGRAD").uint<std::uint32_t>(1).uint<std::uint32_t>(kind).str(type).uint<std::uint64_t>(count);
    return c;
  }
  Bytes sealed() const {  // with a valid CRC-32 trailer
    Crafted c = *this;
    c.uint<std::uint32_t>(crc32(b));
    return c.b;
  }
};

// The model the files are loaded into: "0.weight" [3, 5], "0.bias" [5], "2.weight" [5, 2], "2.bias" [2].
std::shared_ptr<nn::Sequential> make_mlp(std::uint64_t seed, ag::DType d = ag::f32) {
  ag::Generator gen(seed);
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(3, 5, gen, true, nn::Init::glorot_uniform, d),
                                          std::make_shared<nn::ReLU>(),
                                          std::make_shared<nn::Dense>(5, 2, gen, true, nn::Init::glorot_uniform, d));
}

std::vector<std::vector<double>> snapshot(const nn::Module& m) {
  std::vector<std::vector<double>> s;
  for (auto& p : m.named_parameters()) s.push_back(values(p.second));
  return s;
}

// load(model, file) must throw IOError naming the file and containing `part`, and change nothing.
void expect_load_fails(nn::Module& model, const std::string& file, const std::string& part) {
  const auto before = snapshot(model);
  std::string msg;
  try {
    nn::load(model, file);
    FAIL_CHECK("load succeeded");
  } catch (const ag::IOError& e) {
    msg = e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("not an IOError: " << std::string(e.what()));
  }
  INFO("message: " << msg);
  CHECK(contains(msg, file));
  CHECK(contains(msg, part));
  CHECK(snapshot(model) == before);
}

}  // namespace

// ---- model files -------------------------------------------------------------------------------------
TEST_CASE("bad input: a model file truncated at every length is an IOError and leaves the model unchanged") {
  TempDir dir;
  nn::save(*make_mlp(1), dir.file("good.tgp"));
  const Bytes good = read_bytes(dir.file("good.tgp"));
  auto model = make_mlp(2);
  const std::string f = dir.file("cut.tgp");
  for (std::size_t keep = 0; keep < good.size(); ++keep) {
    INFO("first " << keep << " of " << good.size() << " bytes");
    write_bytes(f, Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(keep)));
    expect_load_fails(*model, f, keep < 16 ? "truncated" : "checksum mismatch");
  }
}

TEST_CASE("bad input: every single-byte corruption of a model file is an IOError and leaves the model unchanged") {
  TempDir dir;
  nn::save(*make_mlp(1), dir.file("good.tgp"));
  const Bytes good = read_bytes(dir.file("good.tgp"));
  auto model = make_mlp(2);
  const std::string f = dir.file("flip.tgp");
  for (std::size_t i = 0; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x10;
    write_bytes(f, bad);
    INFO("byte " << i << " of " << good.size());
    // the magic and the version are checked before the checksum, everything else by it
    expect_load_fails(*model, f, i < 8 ? "bad magic" : i < 12 ? "unsupported format version" : "checksum mismatch");
  }
}

TEST_CASE("bad input: hostile headers with valid checksums are rejected before allocating") {
  // Each file declares sizes far beyond its bytes; a reader that trusted them would allocate
  // gigabytes (ASan would abort) or read out of bounds. All must be IOErrors naming the problem.
  TempDir dir;
  auto model = make_mlp(2);
  struct Case {
    const char* what;
    Bytes bytes;
    const char* part;
  };
  auto entry = [](Crafted c, const std::string& name, std::uint8_t dtype, std::vector<std::uint64_t> dims) {
    c.str(name).uint<std::uint8_t>(dtype).uint<std::uint32_t>(static_cast<std::uint32_t>(dims.size()));
    for (auto d : dims) c.uint<std::uint64_t>(d);
    return c;
  };
  const std::vector<Case> cases = {
      {"2^63 entries", Crafted::header(std::uint64_t{1} << 63).sealed(), "truncated"},
      {"a 4 GiB type name", [] { Crafted c; c.raw("TAPEGRAD").uint<std::uint32_t>(1).uint<std::uint32_t>(1)
                                       .uint<std::uint32_t>(0xFFFFFFF0u); return c.sealed(); }(), "truncated"},
      {"a 4 GiB entry name", Crafted::header(1).uint<std::uint32_t>(0xFFFFFFF0u).raw("0.weight").sealed(), "truncated"},
      {"2^31 x 2^31 float64 elements", entry(Crafted::header(1), "0.weight", 1, {1u << 31, 1u << 31}).sealed(),
       "element count overflows 2^60"},  // 2^65 bytes: more than ag::numel allows
      {"2^30 x 2^30 float64 elements", entry(Crafted::header(1), "0.weight", 1, {1u << 30, 1u << 30}).sealed(),
       "needs 9223372036854775808 bytes"},  // 2^63 bytes: the largest count, and no wrap-around
      {"2^40 x 2^40 elements (overflows)", entry(Crafted::header(1), "0.weight", 0, {1ull << 40, 1ull << 40}).sealed(), "overflow"},
      {"2^64 - 1 elements", entry(Crafted::header(1), "0.weight", 0, {~0ull}).sealed(), "element count overflows"},
      {"an empty shape whose other axes overflow: [0, 2^40, 2^40]",
       entry(Crafted::header(1), "0.weight", 0, {0, 1ull << 40, 1ull << 40}).sealed(), "element count overflows"},
      {"an empty shape with an axis of 2^63", entry(Crafted::header(1), "0.weight", 1, {1ull << 63, 0}).sealed(), "element count overflows"},
      {"rank 4 billion", Crafted::header(1).str("0.weight").uint<std::uint8_t>(0).uint<std::uint32_t>(0xFFFFFFFFu).sealed(), "rank"},
      {"rank 65", entry(Crafted::header(1), "0.weight", 0, std::vector<std::uint64_t>(65, 1)).sealed(), "rank 65"},
      {"dtype code 7", entry(Crafted::header(1), "0.weight", 7, {3, 5}).sealed(), "dtype code 7"},
      {"file kind 4", Crafted::header(0, 4).sealed(), "kind 4"},
      {"a training checkpoint given to load", Crafted::header(0, 3).sealed(), "training checkpoint"},
      {"bytes after the last entry", Crafted::header(0).raw("xyz").sealed(), "3 unexpected bytes"},
      {"no entries at all", Crafted::header(0).sealed(), "missing from the file: '0.weight'"},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.what));
    const std::string f = dir.file("hostile.tgp");
    write_bytes(f, c.bytes);
    expect_load_fails(*model, f, c.part);
    // the container reader on its own: the same IOError (an empty container of a known kind is valid)
    const std::string what = c.what;
    if (what != "no entries at all" && what != "a training checkpoint given to load")
      CHECK_THROWS_AS(nn::load_tensors(f), ag::IOError);
  }
  // a zero-size axis next to a huge one is a valid (empty) entry, but not this model's parameter
  const std::string f = dir.file("empty_huge.tgp");
  write_bytes(f, entry(Crafted::header(1), "0.weight", 0, {0, 1ull << 60}).sealed());
  const auto tf = nn::load_tensors(f);
  REQUIRE(tf.entries.size() == 1);
  CHECK(tf.entries[0].second.numel() == 0);
  expect_load_fails(*model, f, "parameter '0.weight' has shape [0, 1152921504606846976] in the file but [3, 5]");
}

TEST_CASE("bad input: model files with wrong names, shapes, dtypes or duplicates leave the model unchanged") {
  TempDir dir;
  auto src = make_mlp(1);
  auto model = make_mlp(2);
  nn::NamedTensors entries = src->named_parameters();
  const std::string f = dir.file("m.tgp");

  // a renamed parameter (shapes all fit): both lists are named
  nn::NamedTensors renamed = entries;
  renamed[1].first = "0.bais";
  nn::save_tensors(f, renamed, nn::FileKind::parameters, "Sequential");
  expect_load_fails(*model, f, "missing from the file: '0.bias'; not in the model: '0.bais'");
  // a duplicate entry
  nn::NamedTensors dup = entries;
  dup.push_back(entries[0]);
  nn::save_tensors(f, dup, nn::FileKind::parameters, "Sequential");
  expect_load_fails(*model, f, "duplicate entry '0.weight'");
  // the right names, one transposed weight
  nn::NamedTensors transposed = entries;
  transposed[2].second = ag::transpose(entries[2].second).detach();
  nn::save_tensors(f, transposed, nn::FileKind::parameters, "Sequential");
  expect_load_fails(*model, f, "parameter '2.weight' has shape [2, 5] in the file but [5, 2] in the model");
  // one float64 entry among float32 ones
  nn::NamedTensors mixed = entries;
  mixed[3].second = entries[3].second.to(ag::f64).detach();
  nn::save_tensors(f, mixed, nn::FileKind::parameters, "Sequential");
  expect_load_fails(*model, f, "parameter '2.bias' is float64 in the file but float32 in the model");
  // a 0-d entry where a vector is expected
  nn::NamedTensors scalar = entries;
  scalar[3].second = ag::scalar(1.0);
  nn::save_tensors(f, scalar, nn::FileKind::parameters, "Sequential");
  expect_load_fails(*model, f, "has shape [] in the file but [2]");
  // an optimizer file, an empty file, a directory, a missing file
  nn::save_tensors(f, entries, nn::FileKind::optimizer, "Adam");
  expect_load_fails(*model, f, "not module parameters");
  write_bytes(f, {});
  expect_load_fails(*model, f, "truncated");
  expect_load_fails(*model, dir.path.string(), "read error");
  expect_load_fails(*model, dir.file("missing.tgp"), "cannot open");
  // and after all that, a good file loads
  nn::save(*src, f);
  nn::load(*model, f);
  CHECK(snapshot(*model) == snapshot(*src));
}

TEST_CASE("tensor files: every dtype round-trips exactly, a bool byte other than 0/1 is an IOError") {
  TempDir dir;
  const std::string f = dir.file("t.tgp");
  const std::int64_t big = (std::int64_t{1} << 62) + 3;
  nn::NamedTensors entries = {
      {"f32", ag::tensor({1.5, -2}, ag::f32)},
      {"f64", ag::tensor({{0.1}, {3}}, ag::f64)},
      {"i64", ag::from_vector(std::vector<std::int64_t>{big, -big, 0}, {3})},
      {"i32", ag::tensor({-7, 8}, ag::i32)},
      {"u8", ag::tensor({255, 0, 9}, ag::u8)},
      {"bool", ag::tensor({1, 0, 1, 1}, ag::bool_).reshape({2, 2})},
  };
  nn::save_tensors(f, entries, nn::FileKind::parameters, "Any");
  const nn::TensorFile back = nn::load_tensors(f);
  REQUIRE(back.entries.size() == entries.size());
  for (std::size_t k = 0; k < entries.size(); ++k) {
    const ag::Tensor& a = entries[k].second;
    const ag::Tensor& b = back.entries[k].second;
    CHECK(back.entries[k].first == entries[k].first);
    CHECK(b.dtype() == a.dtype());
    CHECK(b.shape() == a.shape());
    CHECK(a.to_vector<double>() == b.to_vector<double>());
  }
  CHECK(back.entries[2].second.to_vector<std::int64_t>()[0] == big);
  // corrupt the first bool byte to 2 and fix the checksum: still refused, naming the entry
  std::vector<unsigned char> bytes = read_bytes(f);
  const std::size_t first_bool = bytes.size() - 4 - 4;  // the last entry's 4 bytes, before the crc32
  CHECK(bytes[first_bool] == 1);
  bytes[first_bool] = 2;
  bytes.resize(bytes.size() - 4);  // a valid checksum for the corrupted body
  const std::uint32_t c = crc32(bytes);
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<unsigned char>(c >> (8 * i)));
  write_bytes(f, bytes);
  std::string msg;
  try {
    nn::load_tensors(f);
  } catch (const ag::IOError& e) {
    msg = e.what();
  }
  CHECK(msg.find("'bool'") != std::string::npos);
  CHECK(msg.find("not a bool") != std::string::npos);
}

TEST_CASE("bad input: a failed save leaves the existing file intact and no temporary file behind") {
  TempDir dir;
  auto model = make_mlp(1);
  const std::string f = dir.file("keep.tgp");
  nn::save(*model, f);
  const Bytes before = read_bytes(f);
  // an undefined tensor: refused before anything is written
  nn::NamedTensors bad = model->named_parameters();
  bad.emplace_back("ghost", ag::Tensor());
  std::string msg = error_of<ag::IOError>([&] { nn::save_tensors(f, bad, nn::FileKind::parameters, "X"); });
  CHECK(contains(msg, f));
  CHECK(contains(msg, "'ghost'"));
  CHECK(contains(msg, "undefined"));
  CHECK(read_bytes(f) == before);
  CHECK(dir.entries() == 1);
  // the target is a directory: the rename fails, the temporary file is removed
  const std::string sub = dir.file("sub");
  fs::create_directory(sub);
  write_text(sub + "/inside.txt", "x");
  msg = error_of<ag::IOError>([&] { nn::save(*model, sub); });
  CHECK(contains(msg, sub));
  CHECK(contains(msg, "rename"));
  CHECK(fs::is_directory(sub));
  CHECK(dir.entries() == 2);  // keep.tgp and sub/, no leftover temporary
  // a directory that does not exist
  msg = error_of<ag::IOError>([&] { nn::save_optimizer(nn::SGD(model->parameters(), 0.1), dir.file("no/such/dir/o.tgp")); });
  CHECK(contains(msg, "no/such/dir/o.tgp"));
  // the original file still loads
  auto other = make_mlp(5);
  nn::load(*other, f);
  CHECK(snapshot(*other) == snapshot(*model));
}

TEST_CASE("bad input: saving over a read-only file is refused and leaves it untouched (also as root)") {
  TempDir dir;
  auto model = make_mlp(1), other = make_mlp(2);
  const std::string f = dir.file("frozen.tgp");
  nn::save(*model, f);
  const Bytes before = read_bytes(f);
  // no write bit for the owner: read-only even for root, whom access(W_OK) would let through
  for (mode_t mode : {mode_t(0444), mode_t(0400), mode_t(0000), mode_t(0577)}) {
    REQUIRE(::chmod(f.c_str(), mode) == 0);
    std::string msg = error_of<ag::IOError>([&] { nn::save(*other, f); });
    INFO("mode " << mode << ": " << msg);
    CHECK(contains(msg, f));
    CHECK(contains(msg, "not writable"));
    msg = error_of<ag::IOError>([&] { nn::save_optimizer(nn::SGD(other->parameters(), 0.1), f); });
    CHECK(contains(msg, "not writable"));
    struct stat st;
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == mode);
    REQUIRE(::chmod(f.c_str(), 0600) == 0);  // to read it back whoever runs the test
    CHECK(read_bytes(f) == before);
    CHECK(dir.entries() == 1);  // no temporary file left behind
  }
  // through a symbolic link: the target is checked, and named
  REQUIRE(::chmod(f.c_str(), 0444) == 0);
  fs::create_symlink("frozen.tgp", dir.path / "link.tgp");
  const std::string msg = error_of<ag::IOError>([&] { nn::save(*other, dir.file("link.tgp")); });
  CHECK(contains(msg, dir.file("link.tgp")));
  CHECK(contains(msg, "frozen.tgp"));
  CHECK(contains(msg, "not writable"));
  CHECK(fs::is_symlink(dir.path / "link.tgp"));
  REQUIRE(::chmod(f.c_str(), 0600) == 0);
  CHECK(read_bytes(f) == before);
}

TEST_CASE("bad input: optimizer files that do not fit leave the optimizer state unchanged") {
  TempDir dir;
  auto model = make_mlp(1);
  nn::Adam adam(model->parameters(), 0.01);
  for (auto& p : model->parameters()) p.set_grad(ag::full(p.shape(), 0.5, p.dtype()));
  adam.step();
  const auto state = adam.state();
  auto unchanged = [&] {
    const auto now = adam.state();
    REQUIRE(now.size() == state.size());
    for (std::size_t i = 0; i < now.size(); ++i) {
      CHECK(now[i].first == state[i].first);
      CHECK(values(now[i].second) == values(state[i].second));
    }
    CHECK(adam.lr() == 0.01);
  };
  const std::string f = dir.file("o.tgp");
  struct Case {
    const char* what;
    nn::NamedTensors entries;
    const char* part;
  };
  const nn::NamedTensors good = adam.state();
  auto with = [&](std::size_t i, ag::Tensor t) {
    nn::NamedTensors e = good;
    e[i].second = t;
    return e;
  };
  auto renamed = [&](std::size_t i, const std::string& name) {
    nn::NamedTensors e = good;
    e[i].first = name;
    return e;
  };
  std::size_t buf = 0, lr = 0;  // an exp_avg entry and the lr entry
  for (std::size_t i = 0; i < good.size(); ++i) {
    if (contains(good[i].first, "exp_avg") && buf == 0) buf = i;
    if (contains(good[i].first, ".lr") || good[i].first == "0.lr") lr = i;
  }
  REQUIRE(contains(good[buf].first, "exp_avg"));
  REQUIRE(contains(good[lr].first, "lr"));
  const std::vector<Case> cases = {
      {"a buffer of the wrong shape", with(buf, ag::zeros({7})), "[7]"},
      {"a buffer of the wrong dtype", with(buf, good[buf].second.to(ag::f64).detach()), "float64"},
      {"a negative learning rate", with(lr, ag::scalar(-1.0)), "learning rate -1"},
      {"an unknown buffer name", renamed(buf, "0.0.velocity"), "velocity"},
      {"a parameter index out of range", renamed(buf, "0.9.exp_avg"), "parameter 9"},
      {"a group index out of range", renamed(buf, "3.0.exp_avg"), "group 3"},
      {"a malformed name", renamed(buf, "zero.0.exp_avg"), "malformed"},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.what));
    nn::save_tensors(f, c.entries, nn::FileKind::optimizer, "Adam");
    const std::string msg = error_of<ag::IOError>([&] { nn::load_optimizer(adam, f); });
    INFO("message: " << msg);
    CHECK(contains(msg, f));
    CHECK(contains(msg, c.part));
    unchanged();
  }
}

// ---- CSV -----------------------------------------------------------------------------------------------
TEST_CASE("bad input: malformed CSV files raise IOError naming the file, line and column") {
  TempDir dir;
  struct Case {
    const char* what;
    std::string text;
    std::vector<std::string> parts;  // the path is checked too; "@" stands for it
    nn::CsvOptions options;
  };
  nn::CsvOptions none, no_header, by_name, index5;
  no_header.header = false;
  by_name.label = "label";
  index5.label_index = 5;
  nn::CsvOptions skip_all = none;
  skip_all.skip_lines = 5;
  const std::vector<Case> cases = {
      {"a short row", "a,b,c\n1,2,3\n4,5\n", {"@:3", "column 3", "expected 3 columns, found 2", "ragged"}, none},
      {"a long row", "a,b\n1,2\n3,4,5\n", {"@:3", "expected 2 columns, found 3"}, none},
      {"a ragged row without a header", "1,2\n3\n", {"@:2", "expected 2 columns, found 1"}, no_header},
      {"a ragged row missing its label", "x,label\n1,a\n2\n", {"@:3", "expected 2 columns, found 1"}, by_name},
      {"a word in a feature column", "a,b\n1,two\n", {"@:2", "column 2 ('b')", "'two' is not a number"}, none},
      {"a number with trailing junk", "a\n1.5x\n", {"@:2", "'1.5x' is not a number"}, none},
      {"two numbers in one cell", "a\n1 2\n", {"@:2", "'1 2' is not a number"}, none},
      {"a hex number", "a\n0x10\n", {"@:2", "'0x10' is not a number"}, none},
      {"an empty feature cell", "a,b\n1,\n", {"@:2", "column 2 ('b')", "empty cell"}, none},
      // caught up front as a binary file (issue 14 item 16), before the cell is parsed
      {"a NUL byte in a cell", std::string("a\n1\0", 4) + "\n", {"@:2", "a NUL byte (at byte offset 3)", "looks binary"}, none},
      {"a very long cell", "a\n" + std::string(5000, '7') + "z\n", {"@:2", "'" + std::string(40, '7') + "'...", "is not a number"}, none},
      {"a number out of double range", "a,b\n1,1e400\n", {"@:2", "column 2 ('b')", "'1e400' is out of the range of a double"}, none},
      {"a negative number out of range", "a\n-1e400\n", {"@:2", "'-1e400' is out of the range"}, none},
      {"text after a closing quote", "a,b\n\"1\"x,2\n", {"@:2", "column 1", "text after a closing quote"}, none},
      {"an unterminated quote", "a,b\n1,\"2\n", {"@:2", "column 2", "unterminated"}, none},
      {"an unterminated quote in the header", "\"a,b\n1,2\n", {"@:1", "unterminated"}, none},
      {"an empty file", "", {"@", "empty file"}, none},
      {"only blank lines", "\n  \n\t\r\n", {"@", "empty file"}, none},
      {"skip_lines past the end", "a\n1\n", {"@", "empty file"}, skip_all},
      {"a header without rows", "a,b,label\n", {"@", "no data rows"}, by_name},
      {"an unknown label column", "a,b\n1,2\n", {"@:1", "no column named 'label'", "'a', 'b'"}, by_name},
      {"a label index out of range", "a,b\n1,2\n", {"@", "label_index 5 out of range for 2 columns"}, index5},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.what));
    const std::string path = dir.file("bad.csv");
    write_text(path, c.text);
    std::string msg;
    try {
      nn::read_csv(path, c.options);
      FAIL_CHECK("read_csv succeeded");
    } catch (const ag::IOError& e) {
      msg = e.what();
    } catch (const std::exception& e) {
      FAIL_CHECK("not an IOError: " << std::string(e.what()));
    }
    INFO("message: " << msg);
    for (std::string p : c.parts) {
      if (p[0] == '@') p = path + p.substr(1);
      CHECK_MESSAGE(contains(msg, p), "missing '" << p << "'");
    }
  }
  // not files: a missing path and a directory
  CHECK(contains(error_of<ag::IOError>([&] { nn::read_csv(dir.file("missing.csv")); }), "No such file"));
  const std::string dmsg = error_of<ag::IOError>([&] { nn::read_csv(dir.path.string()); });
  CHECK(contains(dmsg, dir.path.string()));
  CHECK(contains(dmsg, "cannot read"));
  // a non-numeric label asked for as a number: the cell is quoted and escaped the same way
  const std::string lpath = dir.file("labels.csv");
  write_text(lpath, std::string("x,label\n1,2\n3,\x01\n"));
  nn::CsvOptions o;
  o.label = "label";
  const nn::CsvTable t = nn::read_csv(lpath, o);
  const std::string lmsg = error_of<ag::IOError>([&] { t.numeric_labels(); });
  CHECK(contains(lmsg, lpath + ":3, column 2 ('label'): label '\\x01' is not a number"));
}

TEST_CASE("fuzz: the committed CSV seed corpus replays: valid seeds parse, err_ seeds raise IOError") {
  const fs::path corpus = fs::path(TAPEGRAD_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "csv";
  REQUIRE(fs::is_directory(corpus));
  TempDir dir;
  std::size_t valid = 0, invalid = 0;
  for (const auto& e : fs::directory_iterator(corpus)) {
    const Bytes raw = read_bytes(e.path().string());
    const std::uint8_t* data = raw.data();
    std::size_t size = raw.size();
    const nn::CsvOptions o = fuzz::csv_options(data, size);
    const std::string body = dir.file("body.csv");
    write_bytes(body, Bytes(data, data + size));
    const std::string name = e.path().filename().string();
    INFO(name);
    if (name.rfind("err_", 0) == 0) {
      CHECK_THROWS_AS(nn::read_csv(body, o), ag::IOError);
      ++invalid;
    } else {
      const nn::CsvTable t = nn::read_csv(body, o);
      CHECK(t.rows() >= 1);
      ++valid;
    }
  }
  CHECK(valid >= 5);
  CHECK(invalid >= 1);
}
