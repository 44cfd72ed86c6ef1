#pragma once
// Element types (dtypes) and the one rule for mixing them.
//
//   floating  float32 (f32), float64 (f64)      values that carry gradients
//   integer   int64 (i64), int32 (i32), uint8 (u8)  indices, labels, token ids, counts, pixels
//   bool      bool_                             masks (comparison results)
//
// Rules (enforced in src/core/dtype.cpp; README "Tensors" lists which op takes what):
// - requires_grad only on floating tensors (DtypeError otherwise); ops with an integer or bool
//   result are never recorded (argmax, comparisons, to(i64)...).
// - Arithmetic (+ - * /, maximum, minimum, where) on two dtypes computes in
//   result_type(a, b): the higher of bool < uint8 < int32 < int64 < float32 < float64, except
//   that float32 and float64 never mix implicitly (DtypeError: convert with .to()). Division of
//   integers is true division in float32. Integer + - * wrap around (two's complement).
// - A C++ integer scalar keeps an integer tensor's dtype (labels + 1 is int64); a double scalar
//   with an integer tensor gives float32 (PyTorch's rule for Python scalars).
// - The other math (exp, matmul, softmax, ...) takes floating tensors only: DtypeError naming
//   the op and the dtype.
#include <cstddef>
#include <cstdint>

namespace ag {

// The enum order is the storage order of the tensor's value (detail::Storage).
enum class DType : std::uint8_t { f32, f64, i64, i32, u8, b8 };
inline constexpr DType f32 = DType::f32;
inline constexpr DType f64 = DType::f64;
inline constexpr DType i64 = DType::i64;
inline constexpr DType i32 = DType::i32;
inline constexpr DType u8 = DType::u8;
inline constexpr DType bool_ = DType::b8;  // numpy's spelling (`bool` is a keyword)
inline constexpr std::size_t kNumDTypes = 6;

const char* dtype_name(DType d);  // "float32", "float64", "int64", "int32", "uint8", "bool"
constexpr bool is_floating(DType d) { return d == DType::f32 || d == DType::f64; }
constexpr bool is_integer(DType d) { return d == DType::i64 || d == DType::i32 || d == DType::u8; }
constexpr std::size_t dtype_size(DType d) {  // bytes per element
  return d == DType::f64 || d == DType::i64 ? 8 : d == DType::f32 || d == DType::i32 ? 4 : 1;
}
// The dtype arithmetic on a and b computes in (rules above); DtypeError for float32 with float64.
DType result_type(DType a, DType b);

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<std::int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<std::int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<std::uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::b8; };

}  // namespace ag
