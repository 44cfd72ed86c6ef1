// libFuzzer target: the .safetensors parser (ag/io.hpp). Every input must give tensors or
// ag::IOError; a file that loads must survive save_safetensors + load_safetensors exactly.
#include <cstdio>
#include <unistd.h>

#include "fuzz_tensor_formats.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ag::io::SafetensorsFile f;
  try {
    f = ag::io::parse_safetensors(data, size, "fuzz.safetensors");
  } catch (const ag::IOError&) {
    return 0;
  }
  const std::string path = "/tmp/fuzz_st_" + std::to_string(::getpid()) + ".safetensors";
  ag::io::save_safetensors(path, f.tensors, f.metadata);
  const ag::io::SafetensorsFile g = ag::io::load_safetensors(path);
  std::remove(path.c_str());
  if (g.metadata != f.metadata || g.tensors.size() != f.tensors.size())
    fuzz::violated("parse_safetensors", "save + load changed the names or the metadata");
  for (std::size_t i = 0; i < f.tensors.size(); ++i)
    if (g.tensors[i].first != f.tensors[i].first || !fuzz::same_bits(f.tensors[i].second, g.tensors[i].second))
      fuzz::violated("parse_safetensors", "save + load changed a tensor");
  return 0;
}
