#pragma once
// The .npy writer as bytes in memory, shared by save_npy and save_npz (one entry per tensor).
#include <vector>

#include "ag/tensor.hpp"

namespace ag::io::detail {

// The .npy file of `t` (defined): version 1.0 (2.0 for a header over 64 KiB), C order,
// little-endian, header padded to a multiple of 64 bytes, as np.save writes it.
std::vector<unsigned char> npy_bytes(const Tensor& t);

}  // namespace ag::io::detail
