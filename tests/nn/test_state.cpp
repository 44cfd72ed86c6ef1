// save/load: round trips, the documented byte layout, and every error path leaving the model and
// the optimizer unchanged.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <sys/stat.h>

#include <doctest/doctest.h>

#include "support/module_util.hpp"
#include "support/temp_dir.hpp"

using namespace nn_test;
namespace nn = ag::nn;
namespace fs = std::filesystem;

namespace {

using test_support::TempDir;

using test_support::read_bytes;
using test_support::write_bytes;

std::shared_ptr<nn::Sequential> make_mlp(std::uint64_t seed, ag::DType d = ag::f32) {
  ag::Generator gen(seed);
  auto m = std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(3, 5, gen, true, nn::Init::glorot_uniform, d),
                                            std::make_shared<nn::ReLU>(),
                                            std::make_shared<nn::Dense>(5, 2, gen, true, nn::Init::glorot_uniform, d));
  return m;
}

std::vector<std::vector<double>> snapshot(const nn::Module& m) {
  std::vector<std::vector<double>> s;
  for (auto& p : m.named_parameters()) s.push_back(values(p.second));
  return s;
}

unsigned mode_of(const std::string& p) {  // permission bits, following symbolic links
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Sets the process umask for one scope.
struct UmaskGuard {
  mode_t old;
  explicit UmaskGuard(mode_t m) : old(::umask(m)) {}
  ~UmaskGuard() { ::umask(old); }
};

}  // namespace

TEST_CASE("save -> load gives identical parameters and predictions") {
  TempDir dir;
  for (ag::DType d : {ag::f32, ag::f64}) {
    auto a = make_mlp(1, d), b = make_mlp(2, d);
    // move the biases off zero so that they are compared too
    for (auto& p : a->named_parameters()) set_values(p.second, values(ag::uniform(p.second.shape(), -1, 1)));
    ag::Tensor x = ag::randn({4, 3}).to(d);
    const std::string f = dir.file("model.tgp");
    nn::save(*a, f);
    CHECK(values((*a)(x)) != values((*b)(x)));
    ag::Tensor w = b->parameters()[0];
    nn::load(*b, f);
    CHECK(snapshot(*a) == snapshot(*b));            // bit-identical
    CHECK(values((*a)(x)) == values((*b)(x)));      // identical predictions
    CHECK(w.id() == b->parameters()[0].id());       // loaded into the existing tensors
    CHECK(w.is_leaf());
    CHECK(w.requires_grad());
  }
  // no temporary files are left next to the target
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("file layout: magic, version, kind, type, entries, CRC-32") {
  TempDir dir;
  struct One : nn::Module {
    explicit One(ag::Tensor t) { register_parameter("w", t); }
    ag::Tensor forward(const ag::Tensor& x) override { return x; }
    std::string type_name() const override { return "One"; }
  } m(ag::Tensor({1.0, -2.0}, ag::f64));
  const std::string f = dir.file("one.tgp");
  nn::save(m, f);
  const auto b = read_bytes(f);
  // 8 magic + 4 version + 4 kind + (4 + 3) type + 8 count
  // + (4 + 1) name + 1 dtype + 4 ndim + 8 dim + 16 data + 4 crc
  REQUIRE(b.size() == 8 + 4 + 4 + 7 + 8 + 5 + 1 + 4 + 8 + 16 + 4);
  CHECK(std::string(b.begin(), b.begin() + 8) == "TAPEGRAD");
  CHECK(b[8] == 1);   // version 1, little-endian u32
  CHECK(b[12] == 1);  // kind: parameters
  CHECK(b[16] == 3);  // type name length
  CHECK(std::string(b.begin() + 20, b.begin() + 23) == "One");
  CHECK(b[23] == 1);  // one entry
  CHECK(b[31] == 1);  // name length
  CHECK(b[35] == 'w');
  CHECK(b[36] == 1);  // float64
  CHECK(b[37] == 1);  // rank 1
  CHECK(b[41] == 2);  // dim 2
  double v0 = 0;
  std::memcpy(&v0, b.data() + 49, 8);
  CHECK(v0 == 1.0);
  // the trailer is the standard CRC-32 of everything before it; "123456789" -> cbf43926 is the
  // standard check value, verified through a file of that body
  auto crc = [](const unsigned char* p, std::size_t n) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < n; ++i) {
      c ^= p[i];
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
  };
  const unsigned char check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  REQUIRE(crc(check, 9) == 0xCBF43926u);
  std::uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) stored |= static_cast<std::uint32_t>(b[b.size() - 4 + i]) << (8 * i);
  CHECK(stored == crc(b.data(), b.size() - 4));
  auto tf = nn::load_tensors(f);
  CHECK(tf.kind == nn::FileKind::parameters);
  CHECK(tf.type_name == "One");
  REQUIRE(tf.entries.size() == 1);
  check_values(tf.entries[0].second, {2}, {1.0, -2.0});
}

TEST_CASE("load errors name the file and the problem and leave the model unchanged") {
  TempDir dir;
  auto src = make_mlp(3);
  const std::string good = dir.file("good.tgp");
  nn::save(*src, good);
  const auto bytes = read_bytes(good);
  auto model = make_mlp(4);
  const auto before = snapshot(*model);

  auto expect = [&](const std::string& file, const std::string& part) {
    const std::string msg = error_of<ag::IOError>([&] { nn::load(*model, file); });
    INFO(msg);
    CHECK(contains(msg, file));
    CHECK(contains(msg, part));
    CHECK(snapshot(*model) == before);
  };

  expect(dir.file("missing.tgp"), "cannot open");
  auto corrupt = bytes;
  corrupt[corrupt.size() / 2] ^= 0x40;  // one flipped bit in the data
  write_bytes(dir.file("corrupt.tgp"), corrupt);
  expect(dir.file("corrupt.tgp"), "checksum mismatch");
  for (std::size_t keep : {bytes.size() - 1, bytes.size() / 2, std::size_t{20}, std::size_t{5}, std::size_t{0}}) {
    write_bytes(dir.file("trunc.tgp"), std::vector<unsigned char>(bytes.begin(), bytes.begin() + keep));
    expect(dir.file("trunc.tgp"), keep >= 12 ? "checksum mismatch" : "truncated");
  }
  auto magic = bytes;
  magic[0] = 'X';
  write_bytes(dir.file("magic.tgp"), magic);
  expect(dir.file("magic.tgp"), "bad magic");
  auto version = bytes;
  version[8] = 7;
  write_bytes(dir.file("version.tgp"), version);
  expect(dir.file("version.tgp"), "unsupported format version 7");

  // valid files that do not fit the model
  ag::Generator gen(5);
  nn::Sequential wide(std::make_shared<nn::Dense>(3, 6, gen), std::make_shared<nn::ReLU>(),
                      std::make_shared<nn::Dense>(6, 2, gen));
  nn::save(wide, dir.file("wide.tgp"));
  expect(dir.file("wide.tgp"), "parameter '0.weight' has shape [3, 6] in the file but [3, 5] in the model");
  nn::Sequential other(std::make_shared<nn::Dense>(3, 5, gen));
  nn::save(other, dir.file("other.tgp"));
  expect(dir.file("other.tgp"), "missing from the file: '2.weight', '2.bias'");
  auto f64 = make_mlp(6, ag::f64);
  nn::save(*f64, dir.file("f64.tgp"));
  expect(dir.file("f64.tgp"), "is float64 in the file but float32 in the model");
  nn::Sequential bigger(std::make_shared<nn::Dense>(3, 5, gen), std::make_shared<nn::ReLU>(),
                        std::make_shared<nn::Dense>(5, 2, gen), std::make_shared<nn::Dense>(2, 2, gen));
  nn::save(bigger, dir.file("bigger.tgp"));
  expect(dir.file("bigger.tgp"), "not in the model: '3.weight', '3.bias'");
  ag::Tensor p({1.0}, ag::f64, true);
  nn::SGD sgd({p}, 0.1);
  nn::save_optimizer(sgd, dir.file("opt.tgp"));
  expect(dir.file("opt.tgp"), "not module parameters");

  // the good file still loads
  nn::load(*model, good);
  CHECK(snapshot(*model) == snapshot(*src));
}

TEST_CASE("save errors: unwritable location") {
  auto m = make_mlp(1);
  const std::string msg = error_of<ag::IOError>([&] { nn::save(*m, "/nonexistent-dir-tapegrad/x.tgp"); });
  CHECK(contains(msg, "/nonexistent-dir-tapegrad/x.tgp"));
  CHECK(contains(msg, "temporary file"));
}

TEST_CASE("save through a symbolic link writes its target and keeps the link") {
  TempDir dir;
  auto a = make_mlp(1), b = make_mlp(2), c = make_mlp(3);
  fs::create_directory(dir.path / "runs");
  const std::string real = dir.file("runs/best.tgp");
  nn::save(*a, real);
  fs::create_symlink("runs/best.tgp", dir.path / "latest.tgp");  // relative, into another directory
  fs::create_symlink(dir.path / "latest.tgp", dir.path / "chain.tgp");  // absolute, to a link
  nn::save(*b, dir.file("latest.tgp"));
  CHECK(fs::is_symlink(dir.path / "latest.tgp"));
  CHECK(fs::read_symlink(dir.path / "latest.tgp") == "runs/best.tgp");
  auto got = make_mlp(9);
  nn::load(*got, real);
  CHECK(snapshot(*got) == snapshot(*b));  // the target has the new weights, not the old ones
  nn::save(*c, dir.file("chain.tgp"));
  CHECK(fs::is_symlink(dir.path / "chain.tgp"));
  CHECK(fs::is_symlink(dir.path / "latest.tgp"));
  nn::load(*got, real);
  CHECK(snapshot(*got) == snapshot(*c));
  // the temporary file was made (and renamed) in the target's directory: nothing else is left
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 3);
  CHECK(std::distance(fs::directory_iterator(dir.path / "runs"), fs::directory_iterator()) == 1);
  // a dangling link: the save creates its target
  fs::create_symlink("fresh.tgp", dir.path / "to-fresh.tgp");
  nn::save_optimizer(nn::SGD(a->parameters(), 0.1), dir.file("to-fresh.tgp"));
  CHECK(fs::is_symlink(dir.path / "to-fresh.tgp"));
  CHECK(fs::is_regular_file(dir.path / "fresh.tgp"));
  CHECK(nn::load_tensors(dir.file("fresh.tgp")).type_name == "SGD");
}

TEST_CASE("save keeps the mode of the file it replaces and gives a new file 0666 minus the umask") {
  TempDir dir;
  auto a = make_mlp(1), b = make_mlp(2);
  const std::string f = dir.file("m.tgp");
  for (unsigned mode : {0600u, 0640u, 0664u}) {
    nn::save(*a, f);
    REQUIRE(::chmod(f.c_str(), mode) == 0);
    nn::save(*b, f);
    CHECK(mode_of(f) == mode);  // not widened to 0644 (nor narrowed)
    nn::save_optimizer(nn::SGD(b->parameters(), 0.1), f);
    CHECK(mode_of(f) == mode);
  }
  auto got = make_mlp(9);
  nn::save(*b, f);
  nn::load(*got, f);
  CHECK(snapshot(*got) == snapshot(*b));
  // through a link: the target's mode is kept
  REQUIRE(::chmod(f.c_str(), 0600) == 0);
  fs::create_symlink("m.tgp", dir.path / "link.tgp");
  nn::save(*a, dir.file("link.tgp"));
  CHECK(mode_of(f) == 0600);
  // new files: what open(path, O_CREAT, 0666) would give
  for (mode_t mask : {mode_t(022), mode_t(077), mode_t(027), mode_t(0)}) {
    UmaskGuard um(mask);
    const std::string n = dir.file("new-" + std::to_string(mask) + ".tgp");
    nn::save(*a, n);
    CHECK(mode_of(n) == (0666u & ~unsigned(mask)));
  }
}

TEST_CASE("optimizer state: save -> load resumes training identically") {
  TempDir dir;
  ag::Tensor x = ag::randn({8, 3}), y = ag::randn({8, 2});
  auto train = [&](nn::Module& m, nn::Optimizer& opt, int steps) {
    for (int i = 0; i < steps; ++i) {
      opt.zero_grad();
      nn::mse_loss(m(x), y).backward();
      opt.step();
    }
  };
  auto a = make_mlp(7);
  nn::Adam opt_a(a->parameters(), 0.01, nn::Betas{}, 1e-8, 0.0, true);
  train(*a, opt_a, 3);
  nn::save(*a, dir.file("m.tgp"));
  nn::save_optimizer(opt_a, dir.file("o.tgp"));
  train(*a, opt_a, 4);

  auto b = make_mlp(8);
  nn::Adam opt_b(b->parameters(), 0.5, nn::Betas{}, 1e-8, 0.0, true);
  nn::load(*b, dir.file("m.tgp"));
  nn::load_optimizer(opt_b, dir.file("o.tgp"));
  CHECK(opt_b.lr() == doctest::Approx(0.01));
  CHECK(opt_b.step_count(0, 0) == 3);
  train(*b, opt_b, 4);
  CHECK(snapshot(*a) == snapshot(*b));  // same arithmetic, bit for bit

  // errors leave the optimizer unchanged
  const auto st = opt_b.state();
  auto same_state = [&] {
    auto now = opt_b.state();
    REQUIRE(now.size() == st.size());
    for (std::size_t i = 0; i < st.size(); ++i) {
      CHECK(now[i].first == st[i].first);
      CHECK(values(now[i].second) == values(st[i].second));
    }
  };
  nn::SGD sgd(b->parameters(), 0.1, 0.9);
  nn::save_optimizer(sgd, dir.file("sgd.tgp"));
  std::string msg = error_of<ag::IOError>([&] { nn::load_optimizer(opt_b, dir.file("sgd.tgp")); });
  CHECK(contains(msg, "SGD optimizer, not Adam"));
  same_state();
  msg = error_of<ag::IOError>([&] { nn::load_optimizer(opt_b, dir.file("m.tgp")); });
  CHECK(contains(msg, "not an optimizer state"));
  same_state();
  // a state saved for a differently shaped model
  auto c = std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(3, 4));
  nn::Adam opt_c(c->parameters(), 0.1);
  c->parameters()[0].set_grad(ag::ones({3, 4}));
  opt_c.step();
  nn::save_optimizer(opt_c, dir.file("c.tgp"));
  msg = error_of<ag::IOError>([&] { nn::load_optimizer(opt_b, dir.file("c.tgp")); });
  CHECK(contains(msg, dir.file("c.tgp")));
  CHECK(contains(msg, "0.0.exp_avg"));
  CHECK(contains(msg, "[3, 4]"));
  CHECK(contains(msg, "[3, 5]"));
  same_state();
  auto bytes = read_bytes(dir.file("o.tgp"));
  bytes[bytes.size() - 10] ^= 1;
  write_bytes(dir.file("o_bad.tgp"), bytes);
  CHECK(contains(error_of<ag::IOError>([&] { nn::load_optimizer(opt_b, dir.file("o_bad.tgp")); }),
                 "checksum mismatch"));
  same_state();
}
