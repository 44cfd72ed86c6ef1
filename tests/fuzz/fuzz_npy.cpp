// libFuzzer target: the .npy parser (ag/io.hpp). Every input must give a tensor or ag::IOError;
// a tensor that loads must survive save_npy + load_npy bit for bit. Anything else is a finding.
#include <cstdio>
#include <unistd.h>

#include "fuzz_tensor_formats.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ag::Tensor t;
  try {
    t = ag::io::parse_npy(data, size, "fuzz.npy");
  } catch (const ag::IOError&) {
    return 0;
  }
  const std::string path = "/tmp/fuzz_npy_" + std::to_string(::getpid()) + ".npy";
  ag::io::save_npy(path, t);
  const ag::Tensor u = ag::io::load_npy(path);
  std::remove(path.c_str());
  if (!fuzz::same_bits(t, u)) fuzz::violated("parse_npy", "save_npy + load_npy changed the tensor");
  return 0;
}
