#pragma once
// Tensor files the rest of the world reads: NumPy's .npy and .npz, and Hugging Face's .safetensors.
//
//   ag::io::save_npy("w.npy", w);                       // np.load("w.npy") gives the same array
//   ag::Tensor x = ag::io::load_npy("x.npy");           // written by np.save, C or Fortran order
//   ag::io::save_safetensors("model.safetensors", model.state_dict(), {{"format", "pt"}});
//   auto file = ag::io::load_safetensors("model.safetensors");   // file.tensors, file.metadata
//   ag::io::save_npz("arrays.npz", {{"w", w}, {"b", b}}, /*compressed=*/true);   // np.load(...)["w"]
//   ag::io::NamedTensors arrays = ag::io::load_npz("arrays.npz");  // from np.savez / savez_compressed
//
// dtypes. Written as themselves: float32, float64, int64, int32, uint8, bool (.npy '<f4' '<f8'
// '<i8' '<i4' '|u1' '|b1'; safetensors F32 F64 I64 I32 U8 BOOL). Read: those natively, and the
// ones tapegrad has no dtype for, widened exactly: float16 and bfloat16 -> float32; int8, int16,
// uint16 -> int32; uint32 -> int64; uint64 -> int64 when every value fits (IOError otherwise).
// .npy also reads big-endian data and Fortran-order arrays (returned in C order). Anything else
// (complex, strings, objects, structured arrays) is an IOError naming the dtype.
//
// Loading checks everything before returning anything: a truncated file, a header or offsets that
// point past the end, overlapping or non-contiguous safetensors offsets, element counts that do not
// match the bytes, shapes whose element count overflows, unknown dtypes, duplicate names, headers
// over 100 MB — an ag::IOError naming the file and the problem; no allocation beyond the file's
// own size. Saving is atomic (a temporary file renamed over the target, which keeps its owner and
// permission bits), as for tapegrad's own model files.
//
// .npz is a zip archive with one "<name>.npy" member per array (what numpy.savez writes, and
// numpy.savez_compressed with deflate), read and written with libzip. save_npz writes the members
// in the given order, stored or deflated; load_npz returns them in the archive's order with ".npy"
// removed from the names (NumPy's NpzFile keys). Reading accepts stored and deflated members only
// and refuses, before returning anything: a file that is not a zip archive or is truncated, a
// member not named "<name>.npy", a repeated name, an encrypted member, a CRC-32 or size mismatch,
// a bad .npy inside (the error names the archive and the member), and size claims that the data
// cannot hold: a stored member's size must equal its data's, a deflated one may claim at most
// 1032 times its compressed size (deflate's maximum ratio), and the members' data may not overlap,
// so a hostile archive cannot make load_npz allocate more than ~1032 times the file's size.
// Built without libzip (TAPEGRAD_WITH_LIBZIP=OFF, or libzip-dev missing), the three .npz
// functions throw ag::IOError saying so.
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ag/tensor.hpp"

namespace ag::io {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

Tensor load_npy(const std::string& path);
void save_npy(const std::string& path, const Tensor& t);  // ValueError for an undefined tensor

struct SafetensorsFile {
  NamedTensors tensors;                         // in the order of their data in the file
  std::map<std::string, std::string> metadata;  // the header's "__metadata__" (string values)
};
SafetensorsFile load_safetensors(const std::string& path);
// Names must be non-empty, unique and not "__metadata__" (ValueError); the tensors are stored in
// the given order.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// numpy.savez (compressed = false) or numpy.savez_compressed (true). Names must be non-empty,
// unique and free of NUL bytes (ValueError); each is stored as "<name>.npy".
void save_npz(const std::string& path, const NamedTensors& tensors, bool compressed = false);
NamedTensors load_npz(const std::string& path);  // the arrays in archive order, keys without ".npy"

// The parsers behind the loaders, on bytes in memory; `name` stands for the file in errors.
Tensor parse_npy(const unsigned char* data, std::size_t size, const std::string& name);
SafetensorsFile parse_safetensors(const unsigned char* data, std::size_t size, const std::string& name);
NamedTensors parse_npz(const unsigned char* data, std::size_t size, const std::string& name);

}  // namespace ag::io
