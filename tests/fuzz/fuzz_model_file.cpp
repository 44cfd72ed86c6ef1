// libFuzzer target: the model-file loader (ag/nn/serialize.hpp). Every input must give either a
// valid result or ag::IOError (the documented error), and a failed load must leave the model /
// optimizer exactly as it was. Anything else (another exception, a crash, a sanitizer report, an
// allocation beyond -malloc_limit_mb) is a finding.
#include <cstdint>
#include <cstring>
#include <exception>

#include "fuzz_util.hpp"

namespace nn = ag::nn;

namespace {

std::vector<std::uint64_t> bits(const std::vector<std::vector<double>>& s) {
  std::vector<std::uint64_t> out;
  for (const auto& v : s)
    for (double d : v) {
      std::uint64_t b;
      std::memcpy(&b, &d, sizeof b);
      out.push_back(b);
    }
  return out;
}

std::vector<std::uint64_t> state_bits(const nn::Optimizer& opt, std::vector<std::string>& names) {
  std::vector<ag::Tensor> ts;
  names.clear();
  for (const auto& [name, t] : opt.state()) {
    names.push_back(name);
    ts.push_back(t);
  }
  return bits(fuzz::snapshot(ts));
}

void check_container(const std::string& path) {
  try {
    const nn::TensorFile f = nn::load_tensors(path);
    if (f.kind != nn::FileKind::parameters && f.kind != nn::FileKind::optimizer)
      fuzz::violated("load_tensors", "unknown kind accepted");
    for (const auto& [name, t] : f.entries) {
      if (!t.defined()) fuzz::violated("load_tensors", "undefined entry");
      std::size_t n = 1;
      for (std::size_t d : t.shape()) n *= d;
      if (n != t.numel()) fuzz::violated("load_tensors", "numel does not match the shape");
      (void)t.to_xarray<double>();  // every element readable
    }
  } catch (const ag::IOError&) {
  } catch (const std::exception& e) {
    fuzz::unexpected("load_tensors", e.what());
  }
}

void check_model(const std::string& path) {
  for (ag::DType dtype : {ag::f32, ag::f64}) {
    auto model = fuzz::make_model(dtype);
    const auto before = bits(fuzz::snapshot(model->parameters()));
    try {
      nn::load(*model, path);
      // loaded: the model still has its shapes and runs
      const ag::Tensor y = (*model)(ag::ones({5, 3}, dtype));
      if (y.shape() != ag::Shape{5, 2}) fuzz::violated("load", "forward shape changed");
    } catch (const ag::IOError&) {
      if (bits(fuzz::snapshot(model->parameters())) != before)
        fuzz::violated("load", "a failed load changed the model");
    } catch (const std::exception& e) {
      fuzz::unexpected("load", e.what());
    }
  }
}

void check_optimizer(const std::string& path) {
  auto model = fuzz::make_model();
  for (int which = 0; which < 2; ++which) {
    std::unique_ptr<nn::Optimizer> opt;
    if (which == 0) opt = std::make_unique<nn::Adam>(model->parameters(), 1e-3, nn::Betas{}, 1e-8, 0.0, true);
    else opt = std::make_unique<nn::SGD>(model->parameters(), 0.1, 0.9);
    // one step, so that there is state to overwrite
    for (auto& p : model->parameters()) p.set_grad(ag::full(p.shape(), 0.5, p.dtype()));
    opt->step();
    std::vector<std::string> names_before, names_after;
    const auto before = state_bits(*opt, names_before);
    try {
      nn::load_optimizer(*opt, path);
      opt->step();  // a loaded state must be usable
    } catch (const ag::IOError&) {
      if (state_bits(*opt, names_after) != before || names_after != names_before)
        fuzz::violated("load_optimizer", "a failed load changed the optimizer state");
    } catch (const std::exception& e) {
      fuzz::unexpected("load_optimizer", e.what());
    }
  }
}

// CRC-32 (IEEE, reflected 0xEDB88320) as the format specifies.
std::uint32_t crc32(const std::uint8_t* p, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

void check_all(fuzz::MemFile& file, const std::uint8_t* data, std::size_t size) {
  file.assign(data, size);
  check_container(file.path());
  check_model(file.path());
  check_optimizer(file.path());
}

}  // namespace

// Each input is tried as it is, and once more with its last 4 bytes replaced by the right CRC-32:
// almost every mutation breaks the checksum, and without the fix-up the fuzzer would hardly get
// past it into the entry parser and the model / optimizer validation.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::MemFile file;
  check_all(file, data, size);
  if (size >= 16) {
    std::vector<std::uint8_t> fixed(data, data + size);
    const std::uint32_t c = crc32(fixed.data(), size - 4);
    for (int i = 0; i < 4; ++i) fixed[size - 4 + i] = static_cast<std::uint8_t>(c >> (8 * i));
    check_all(file, fixed.data(), fixed.size());
  }
  return 0;
}
