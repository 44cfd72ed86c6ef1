// libFuzzer target: the .npz parser (ag/io.hpp, libzip underneath). Every input must give named
// tensors or ag::IOError, without allocating from unchecked size claims; an archive that loads
// must survive save_npz (stored or deflated, chosen by the input's length) + load_npz exactly:
// same names in the same order, dtypes, shapes and bits.
#include <cstdio>
#include <unistd.h>

#include "fuzz_tensor_formats.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ag::io::NamedTensors f;
  try {
    f = ag::io::parse_npz(data, size, "fuzz.npz");
  } catch (const ag::IOError&) {
    return 0;
  }
  const std::string path = "/tmp/fuzz_npz_" + std::to_string(::getpid()) + ".npz";
  ag::io::save_npz(path, f, size % 2 == 1);
  const ag::io::NamedTensors g = ag::io::load_npz(path);
  std::remove(path.c_str());
  if (g.size() != f.size()) fuzz::violated("parse_npz", "save_npz + load_npz changed the number of arrays");
  for (std::size_t i = 0; i < f.size(); ++i)
    if (g[i].first != f[i].first || !fuzz::same_bits(f[i].second, g[i].second))
      fuzz::violated("parse_npz", "save_npz + load_npz changed a name or an array");
  return 0;
}
