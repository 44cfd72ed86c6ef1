// Decoding foreign element types: byte order, and the exact widenings of ag/io.hpp.
#include "io/elements.hpp"

#include <cstdint>
#include <cstring>
#include <limits>

#include "ag/detail/file_io.hpp"
#include "ag/extend.hpp"

namespace ag::io::detail {

using ag::detail::io_fail;

std::size_t elem_size(Elem e) {
  switch (e) {
    case Elem::i8: case Elem::u8: case Elem::b1: return 1;
    case Elem::f16: case Elem::bf16: case Elem::i16: case Elem::u16: return 2;
    case Elem::f32: case Elem::i32: case Elem::u32: return 4;
    default: return 8;
  }
}

DType elem_dtype(Elem e) {
  switch (e) {
    case Elem::f16: case Elem::bf16: case Elem::f32: return f32;
    case Elem::f64: return f64;
    case Elem::i8: case Elem::i16: case Elem::u16: case Elem::i32: return i32;
    case Elem::u32: case Elem::u64: case Elem::i64: return i64;
    case Elem::u8: return u8;
    default: return bool_;
  }
}

namespace {

// The k-byte unsigned value at p in the stored byte order.
std::uint64_t load_bits(const unsigned char* p, std::size_t k, bool big_endian) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < k; ++i) v |= std::uint64_t(p[big_endian ? k - 1 - i : i]) << (8 * i);
  return v;
}

// IEEE half -> float: exact (every half is a float). Subnormal halves are normalised.
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);  // inf / nan
  } else if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: shift the mantissa up until its leading 1 is the implicit bit
      int e = -1;
      do {
        man <<= 1;
        ++e;
      } while ((man & 0x400u) == 0);
      bits = sign | std::uint32_t(127 - 15 - e) << 23 | ((man & 0x3FFu) << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <class T> T as(std::uint64_t bits) {  // reinterpret the low sizeof(T) bytes
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  const U u = static_cast<U>(bits);
  T v;
  std::memcpy(&v, &u, sizeof(T));
  return v;
}

}  // namespace

Tensor decode(const unsigned char* p, std::size_t count, const Shape& shape, Elem e, bool big_endian,
              const std::string& file, const std::string& what) {
  const std::size_t k = elem_size(e);
  return dispatch_all(elem_dtype(e), [&](auto tag) {
    using T = decltype(tag);
    Tensor t = empty_tensor<T>(shape);
    T* out = data<T>(t);
    // Stored as tapegrad stores it (f32, f64, i64, i32, u8 in this machine's byte order): one copy.
    // Same width otherwise means uint64 (range-checked below) or bool (validated below).
    if (!std::is_same_v<T, bool> && k == sizeof(T) && e != Elem::u64 && big_endian != ag::detail::kLittleEndian) {
      if (count) std::memcpy(out, p, count * k);
      return t;
    }
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint64_t b = load_bits(p + i * k, k, big_endian);
      T v{};
      switch (e) {
        case Elem::f16: v = static_cast<T>(half_to_float(static_cast<std::uint16_t>(b))); break;
        case Elem::bf16: v = static_cast<T>(as<float>(b << 16)); break;  // bfloat16 = a float's top half
        case Elem::f32: v = static_cast<T>(as<float>(b)); break;
        case Elem::f64: v = static_cast<T>(as<double>(b)); break;
        case Elem::i8: v = static_cast<T>(static_cast<std::int8_t>(b)); break;
        case Elem::i16: v = static_cast<T>(static_cast<std::int16_t>(b)); break;
        case Elem::i32: v = static_cast<T>(static_cast<std::int32_t>(b)); break;
        case Elem::i64: v = static_cast<T>(static_cast<std::int64_t>(b)); break;
        case Elem::u8: case Elem::u16: case Elem::u32: v = static_cast<T>(b); break;
        case Elem::u64:
          if (b > std::uint64_t(std::numeric_limits<std::int64_t>::max()))
            io_fail(file, fmt::format("{}: uint64 value {} at element {} does not fit int64 (what uint64 is read as)",
                                      what, b, i));
          v = static_cast<T>(b);
          break;
        case Elem::b1:
          if (b > 1) io_fail(file, fmt::format("{}: byte {} at element {} is not a bool (0 or 1)", what, b, i));
          v = static_cast<T>(b != 0);
          break;
      }
      out[i] = v;
    }
    return t;
  });
}

// ag::numel's check (the one shape product): it bounds the product of the non-zero extents too,
// which xtensor's strides hold even when another extent is 0 — a hand-rolled product that stopped
// at the 0 once let (2, 0, 6666, ..., 6666000000009) through to overflowing strides (fuzz_npy).
std::size_t checked_count(const Shape& shape, const std::string& file, const std::string& what) {
  try {
    return ag::numel(shape, "load");
  } catch (const ShapeError&) {
    io_fail(file, fmt::format("{}: shape {} has more elements than can exist (over 2^60)", what, shape_str(shape)));
  }
}

}  // namespace ag::io::detail
