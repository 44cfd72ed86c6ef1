#pragma once
// Element types of foreign tensor files (.npy, .safetensors) and their decoding into tapegrad
// dtypes, widening the ones tapegrad has no dtype for (see ag/io.hpp).
#include <cstddef>
#include <string>

#include "ag/tensor.hpp"

namespace ag::io::detail {

enum class Elem { f16, bf16, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, b1 };

std::size_t elem_size(Elem e);
DType elem_dtype(Elem e);  // what it is read as
// count elements of type e at p (stored big- or little-endian) as a tensor of `shape`; `file`
// names the file in errors (a bool byte other than 0/1, a uint64 over int64's range).
Tensor decode(const unsigned char* p, std::size_t count, const Shape& shape, Elem e, bool big_endian,
              const std::string& file, const std::string& what);
// The element count of `shape`, or an IOError when it exceeds 2^60 (or overflows on the way).
std::size_t checked_count(const Shape& shape, const std::string& file, const std::string& what);

}  // namespace ag::io::detail
