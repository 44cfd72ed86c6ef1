#pragma once
// Byte-level helpers shared by the file formats (tapegrad's tensor files, .npy, .safetensors):
// atomic writes, whole-file reads, little-endian encoding, CRC-32. Errors are ag::IOError naming
// the file. An implementation detail of the libraries, not a stable API.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/core.h>

namespace ag::detail {

inline constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

[[noreturn]] void io_fail(const std::string& path, const std::string& what);  // IOError "<path>: <what>"
[[noreturn]] void sys_fail(const std::string& path, const char* what);        // ... with strerror(errno)

// Writes `bytes` to `path` atomically: a temporary file (created 0600, so nothing is readable while
// it is written) in the directory of the final target, write, give it the replaced file's owner and
// mode (or 0666 & ~umask for a new file, never wider), fsync, rename over the target, fsync the
// directory. A symbolic link is written through; a file without write permission is refused.
void write_atomically(const std::string& path, const std::vector<unsigned char>& bytes);
// The whole file (IOError when it cannot be opened or read, e.g. a directory).
std::vector<unsigned char> read_file(const std::string& path);
std::uint32_t crc32(const unsigned char* p, std::size_t n);

// Little-endian encoding into a byte buffer.
struct ByteWriter {
  std::vector<unsigned char> buf;
  template <class U> void uint(U v) {  // little-endian
    for (std::size_t i = 0; i < sizeof(U); ++i) buf.push_back(static_cast<unsigned char>(v >> (8 * i)));
  }
  void str(const std::string& s) {
    uint<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    buf.insert(buf.end(), s.begin(), s.end());
  }
  template <class T> void values(const T* p, std::size_t n) {
    using U = std::conditional_t<sizeof(T) == 1, std::uint8_t,
                                 std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;
    if constexpr (kLittleEndian || sizeof(T) == 1) {
      const auto* b = reinterpret_cast<const unsigned char*>(p);
      buf.insert(buf.end(), b, b + n * sizeof(T));
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        U u;
        std::memcpy(&u, p + i, sizeof(T));
        uint<U>(u);
      }
    }
  }
};

// Little-endian decoding with bounds checks: reading past the end is an IOError naming the file,
// what was read and the offset.
struct ByteReader {
  const std::string& path;
  const unsigned char* p;
  std::size_t n, pos = 0;
  void need(std::size_t k, const char* what) {
    if (k > n - pos)
      io_fail(path, fmt::format("truncated: {} needs {} bytes at offset {} but only {} remain", what, k,
                                pos, n - pos));
  }
  template <class U> U uint(const char* what) {
    need(sizeof(U), what);
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) v |= static_cast<U>(static_cast<U>(p[pos + i]) << (8 * i));
    pos += sizeof(U);
    return v;
  }
  std::string str(const char* what) {
    const auto len = uint<std::uint32_t>(what);
    need(len, what);
    std::string s(reinterpret_cast<const char*>(p + pos), len);
    pos += len;
    return s;
  }
  template <class T> void values(T* out, std::size_t count, const char* what) {
    using U = std::conditional_t<sizeof(T) == 1, std::uint8_t,
                                 std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;
    need(count * sizeof(T), what);  // count is bounded by the caller: no overflow
    if constexpr (std::is_same_v<T, bool>) {  // a byte other than 0 or 1 is not a bool (reading it would be UB)
      for (std::size_t i = 0; i < count; ++i) {
        if (p[pos + i] > 1) throw std::range_error(fmt::format("byte {} of {} is not a bool", int(p[pos + i]), what));
        out[i] = p[pos + i] != 0;
      }
      pos += count;
    } else if constexpr (kLittleEndian || sizeof(T) == 1) {
      if (count) std::memcpy(out, p + pos, count * sizeof(T));
      pos += count * sizeof(T);
    } else {
      for (std::size_t i = 0; i < count; ++i) {
        U u = uint<U>(what);
        std::memcpy(out + i, &u, sizeof(T));
      }
    }
  }
};

}  // namespace ag::detail
