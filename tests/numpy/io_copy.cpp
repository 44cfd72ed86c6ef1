// For the NumPy cross-check (cross_check.py): reads a .npy, .safetensors or .npz file with ag::io
// and writes it back with ag::io to another path, so Python can compare both directions.
//   io_copy IN OUT [compressed]     (compressed: an .npz is written deflated, as savez_compressed)
#include <cstdio>
#include <exception>
#include <string>

#include "ag/io.hpp"

int main(int argc, char** argv) {
  if (argc != 3 && !(argc == 4 && std::string(argv[3]) == "compressed")) {
    std::fprintf(stderr, "usage: io_copy IN OUT [compressed] (.npy, .safetensors or .npz)\n");
    return 2;
  }
  const std::string in = argv[1], out = argv[2];
  auto ends = [](const std::string& s, const std::string& e) {
    return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
  };
  try {
    if (ends(in, ".npy")) {
      ag::io::save_npy(out, ag::io::load_npy(in));
    } else if (ends(in, ".npz")) {
      ag::io::save_npz(out, ag::io::load_npz(in), argc == 4);
    } else {
      const ag::io::SafetensorsFile f = ag::io::load_safetensors(in);
      ag::io::save_safetensors(out, f.tensors, f.metadata);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "io_copy: %s\n", e.what());
    return 1;
  }
  return 0;
}
