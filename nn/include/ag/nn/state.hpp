#pragma once
// Saving and loading a model's parameters and an optimizer's state, each as one tensor file: a
// container of named tensors (save_tensors / load_tensors, at the end of this header).
//
// File format, version 1. Integers are little-endian; floats IEEE-754 little-endian, row-major.
//   magic     8 bytes   "TAPEGRAD"
//   version   u32       1
//   kind      u32       1 = module parameters, 2 = optimizer state, 3 = training checkpoint
//   type      str       the model's / optimizer's type_name()   (str = u32 byte length + UTF-8 bytes)
//   count     u64       number of entries
//   count × entry:
//     name    str       "layers.0.weight" (parameters) or "0.3.exp_avg", "0.lr" (optimizer state)
//     dtype   u8        the DType code: 0 float32, 1 float64, 2 int64, 3 int32, 4 uint8, 5 bool
//     ndim    u32
//     dims    u64 × ndim
//     data    numel × the dtype's size (bool: bytes 0 or 1)
//   crc32     u32       CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) of every byte before it
//
// Writing is atomic: the bytes go to a temporary file in the same directory, which is fsync'ed and
// then renamed over `path` (a crash leaves either the old file or the new one, never half of one).
// The temporary file is created 0600 (nothing is readable while it is written) and removed if
// anything fails. Saving to a symbolic link writes the link's target (the link stays a link); an
// existing file keeps its permission bits (and owner and group where the process may set them), a
// new file gets 0666 & ~umask; an existing file that is not writable (no owner write bit, or
// access(W_OK) fails) is refused with an IOError and left untouched, also when running as root.
// Loading validates everything — magic, version, kind, checksum, every entry's bounds, and every
// name, shape and dtype against the target — before it changes anything; any problem throws
// ag::IOError naming the file and the problem, and leaves the model / optimizer unchanged.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ag/nn/module.hpp"
#include "ag/nn/optim/optimizer.hpp"

namespace ag::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

enum class FileKind : std::uint32_t { parameters = 1, optimizer = 2, checkpoint = 3 };
inline constexpr std::uint32_t kFormatVersion = 1;

// The model's named_parameters(). Loading requires exactly the same set of names (any order), and
// for each the same shape and dtype (convert the model with to() first if needed).
void save(const Module& model, const std::string& path);
void load(Module& model, const std::string& path);

// The optimizer's state() (moments, step counts, learning rates). Loading requires the same
// optimizer type and a state that fits its parameter groups (names, shapes, dtypes).
void save_optimizer(const Optimizer& opt, const std::string& path);
void load_optimizer(Optimizer& opt, const std::string& path);

// ---- files other programs read --------------------------------------------------------------------
// The model's state_dict() (parameters and persistent buffers) as a .safetensors file, the format
// PyTorch and Hugging Face load (safetensors.torch.load_file(path) gives a state dict for
// model.load_state_dict), or as a NumPy .npz archive (dict(np.load(path)); one "<name>.npy" member
// per tensor, stored uncompressed; needs a build with libzip). The format follows the extension:
// ".safetensors" or ".npz" (ValueError otherwise; nn::save is tapegrad's own format). .npz has no
// metadata: save_state with metadata to a .npz path is a ValueError.
//   StateLayout::pytorch (the default): names and shapes as the PyTorch modules have them, so a
//     PyTorch model of the same architecture loads the file and vice versa. Dense stores W as
//     [in, out] where torch.nn.Linear stores [out, in]: Dense weights are transposed on the way out
//     and back in. Every other layer already uses PyTorch's names and layouts (Conv*, the
//     recurrent layers, Embedding, the norms with their running statistics; Sequential children
//     are "0.", "1.", ...).
//   StateLayout::tapegrad: state_dict() as it is.
// load_state checks the file completely (ag::io) and then loads through load_state_dict: every
// shape, dtype and name mismatch is reported at once and nothing changes unless everything fits;
// strict = false loads the names both have and returns the others.
enum class StateLayout { pytorch, tapegrad };
void save_state(const Module& model, const std::string& path, StateLayout layout = StateLayout::pytorch,
                const std::map<std::string, std::string>& metadata = {});
LoadResult load_state(Module& model, const std::string& path, bool strict = true,
                      StateLayout layout = StateLayout::pytorch);

// The container itself: named tensors of a given kind, tagged with a type name.
void save_tensors(const std::string& path, const NamedTensors& entries, FileKind kind,
                  const std::string& type_name);
struct TensorFile {
  FileKind kind;
  std::string type_name;
  NamedTensors entries;
};
TensorFile load_tensors(const std::string& path);  // IOError on any problem

}  // namespace ag::nn
