// The tensor file (format in ag/nn/state.hpp): little-endian encoding, CRC-32, atomic write, and a
// load that checks every byte before it returns anything.
#include "ag/nn/state.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ag/extend.hpp"

namespace ag::nn {

namespace {

constexpr char kMagic[8] = {'T', 'A', 'P', 'E', 'G', 'R', 'A', 'D'};
constexpr bool kLittle = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

std::uint32_t crc32(const unsigned char* p, std::size_t n) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// ---- writing -------------------------------------------------------------------------------------
struct Writer {
  std::vector<unsigned char> buf;
  template <class U> void uint(U v) {  // little-endian
    for (std::size_t i = 0; i < sizeof(U); ++i) buf.push_back(static_cast<unsigned char>(v >> (8 * i)));
  }
  void str(const std::string& s) {
    uint<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    buf.insert(buf.end(), s.begin(), s.end());
  }
  template <class T> void values(const T* p, std::size_t n) {
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    if constexpr (kLittle) {
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

[[noreturn]] void io_fail(const std::string& path, const std::string& what) {
  throw IOError(fmt::format("{}: {}", path, what));
}
[[noreturn]] void sys_fail(const std::string& path, const char* what) {
  io_fail(path, fmt::format("{}: {}", what, std::strerror(errno)));
}

// temp file in the same directory, write, fsync, rename over path, fsync the directory
void write_atomically(const std::string& path, const std::vector<unsigned char>& bytes) {
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) sys_fail(path, "cannot create a temporary file next to it");
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    errno = err;
    sys_fail(path, what);
  };
  ::fchmod(fd, 0644);
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    off += static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0) fail("fsync failed");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    errno = err;
    sys_fail(path, "close failed");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    errno = err;
    sys_fail(path, "rename failed");
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {  // make the rename itself durable; best effort
    ::fsync(dfd);
    ::close(dfd);
  }
}

// ---- reading -------------------------------------------------------------------------------------
struct Reader {
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
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    need(count * sizeof(T), what);  // count is bounded by the caller: no overflow
    if constexpr (kLittle) {
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

std::vector<unsigned char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) io_fail(path, fmt::format("cannot open for reading: {}", std::strerror(errno)));
  std::vector<unsigned char> bytes;
  try {  // istreambuf_iterator lets the filebuf's read error through (e.g. EISDIR for a directory)
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const std::ios_base::failure&) {
    sys_fail(path, "read error");
  }
  if (in.bad()) io_fail(path, "read error");
  return bytes;
}

}  // namespace

// ---- the container ---------------------------------------------------------------------------------
void save_tensors(const std::string& path, const NamedTensors& entries, FileKind kind,
                  const std::string& type_name) {
  Writer w;
  w.buf.insert(w.buf.end(), std::begin(kMagic), std::end(kMagic));
  w.uint<std::uint32_t>(kFormatVersion);
  w.uint<std::uint32_t>(static_cast<std::uint32_t>(kind));
  w.str(type_name);
  w.uint<std::uint64_t>(entries.size());
  for (const auto& entry : entries) {  // (no structured binding: C++17 lambdas cannot capture one)
    const std::string& name = entry.first;
    const Tensor& t = entry.second;
    if (!t.defined()) io_fail(path, fmt::format("cannot save '{}': the tensor is undefined", name));
    w.str(name);
    w.uint<std::uint8_t>(t.dtype() == f32 ? 0 : 1);
    const Shape s = t.shape();
    w.uint<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    for (std::size_t d : s) w.uint<std::uint64_t>(d);
    ag::dispatch(t.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const auto& v = t.value<T>();
      w.values(v.data(), v.size());
    });
  }
  w.uint<std::uint32_t>(crc32(w.buf.data(), w.buf.size()));
  write_atomically(path, w.buf);
}

TensorFile load_tensors(const std::string& path) {
  const std::vector<unsigned char> bytes = read_file(path);
  Reader r{path, bytes.data(), bytes.size()};
  r.need(sizeof(kMagic), "the magic");
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
    io_fail(path, "not a tapegrad file (bad magic; expected \"TAPEGRAD\")");
  r.pos = sizeof(kMagic);
  const auto version = r.uint<std::uint32_t>("the version");
  if (version != kFormatVersion)
    io_fail(path, fmt::format("unsupported format version {} (this build reads version {})", version,
                              kFormatVersion));
  if (bytes.size() < r.pos + 4) io_fail(path, "truncated: no checksum");
  const std::size_t body = bytes.size() - 4;
  std::uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) stored |= static_cast<std::uint32_t>(bytes[body + i]) << (8 * i);
  const std::uint32_t actual = crc32(bytes.data(), body);
  if (stored != actual)
    io_fail(path, fmt::format("checksum mismatch (stored {:08x}, computed {:08x}): the file is corrupt "
                              "or truncated", stored, actual));
  r.n = body;  // the entries must end exactly at the checksum

  TensorFile f;
  const auto kind = r.uint<std::uint32_t>("the kind");
  if (kind != 1 && kind != 2) io_fail(path, fmt::format("unknown file kind {}", kind));
  f.kind = static_cast<FileKind>(kind);
  f.type_name = r.str("the type name");
  const auto count = r.uint<std::uint64_t>("the entry count");
  for (std::uint64_t e = 0; e < count; ++e) {
    std::string name = r.str("an entry name");
    const auto dt = r.uint<std::uint8_t>("a dtype");
    if (dt > 1) io_fail(path, fmt::format("entry '{}': unknown dtype code {}", name, dt));
    const std::size_t width = dt == 0 ? 4 : 8;
    const auto ndim = r.uint<std::uint32_t>("a rank");
    if (ndim > 64) io_fail(path, fmt::format("entry '{}': implausible rank {}", name, ndim));
    Shape shape(ndim);
    for (auto& d : shape) d = static_cast<std::size_t>(r.uint<std::uint64_t>("a dimension"));
    std::size_t numel = 0;
    try {
      numel = ag::numel(shape, "load");
    } catch (const ShapeError&) {  // a corrupt file is an IOError naming the file and entry
      io_fail(path, fmt::format("entry '{}': implausible shape {} (the element count overflows 2^60)", name,
                                shape_str(shape)));
    }
    if (numel > (r.n - r.pos) / width)  // numel <= 2^60, so numel·width fits in 64 bits
      io_fail(path, fmt::format("truncated: entry '{}' of shape {} needs {} bytes but only {} remain",
                                name, shape_str(shape), numel * width, r.n - r.pos));
    Tensor t = ag::dispatch(dt == 0 ? f32 : f64, [&](auto tag) {
      using T = decltype(tag);
      xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
      r.values(a.data(), numel, "tensor data");
      return Tensor(std::move(a));
    });
    f.entries.emplace_back(std::move(name), std::move(t));
  }
  if (r.pos != r.n)
    io_fail(path, fmt::format("{} unexpected bytes after the last entry", r.n - r.pos));
  return f;
}

}  // namespace ag::nn
