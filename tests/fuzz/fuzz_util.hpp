#pragma once
// Shared by the fuzz targets and the corpus generator: an in-memory file that the path-based
// readers can open, and the fixed model and optimizer the model-file target loads into.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "ag/nn.hpp"

namespace fuzz {

// A memfd reached through /proc/self/fd/N: no disk I/O per input, nothing left behind.
class MemFile {
 public:
  MemFile() : fd_(::memfd_create("tapegrad-fuzz", 0)) {
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  // Replaces the contents with bytes [data, data + n).
  void assign(const void* data, std::size_t n) {
    if (::ftruncate(fd_, 0) != 0) std::abort();
    const auto* p = static_cast<const unsigned char*>(data);
    std::size_t off = 0;
    while (off < n) {
      const ssize_t w = ::pwrite(fd_, p + off, n - off, static_cast<off_t>(off));
      if (w <= 0) std::abort();
      off += static_cast<std::size_t>(w);
    }
  }
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

// Any exception other than the documented ones is a finding: report it and abort, so that
// libFuzzer saves the input.
[[noreturn]] inline void unexpected(const char* where, const char* what) {
  std::fprintf(stderr, "fuzz: %s: undocumented exception: %s\n", where, what);
  std::abort();
}
[[noreturn]] inline void violated(const char* where, const char* what) {
  std::fprintf(stderr, "fuzz: %s: property violated: %s\n", where, what);
  std::abort();
}

// The model the model-file target loads into: Dense(3 -> 4), ReLU, Dense(4 -> 2); parameters
// "0.weight" [3, 4], "0.bias" [4], "2.weight" [4, 2], "2.bias" [2].
inline std::shared_ptr<ag::nn::Sequential> make_model(ag::DType dtype = ag::f32, std::uint64_t seed = 7) {
  ag::Generator gen(seed);
  return std::make_shared<ag::nn::Sequential>(
      std::make_shared<ag::nn::Dense>(3, 4, gen, true, ag::nn::Init::glorot_uniform, dtype),
      std::make_shared<ag::nn::ReLU>(),
      std::make_shared<ag::nn::Dense>(4, 2, gen, true, ag::nn::Init::glorot_uniform, dtype));
}

inline std::vector<std::vector<double>> snapshot(const std::vector<ag::Tensor>& ts) {
  std::vector<std::vector<double>> s;
  for (const auto& t : ts) {
    const xt::xarray<double> a = t.to_xarray<double>();
    s.emplace_back(a.begin(), a.end());
  }
  return s;
}

}  // namespace fuzz
