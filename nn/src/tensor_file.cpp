// The tensor file (format in ag/nn/state.hpp): little-endian encoding, CRC-32, atomic write, and a
// load that checks every byte before it returns anything.
#include "ag/nn/state.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <fstream>
#include <iterator>
#include <string>

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
    using U = std::conditional_t<sizeof(T) == 1, std::uint8_t,
                                 std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;
    if constexpr (kLittle || sizeof(T) == 1) {
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

// The file a save really replaces: `path` with every symbolic link in its last component followed
// (a dangling link names the file to create). Renaming over the link itself would turn it into a
// regular file and leave its target with the old contents.
std::string final_target(const std::string& path) {
  std::string p = path;
  for (int hops = 0; hops < 40; ++hops) {  // 40: Linux's limit (ELOOP)
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    std::string link(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : 4095) + 1, '\0');
    const ssize_t n = ::readlink(p.c_str(), link.data(), link.size());
    if (n < 0) sys_fail(path, "cannot read the symbolic link");
    if (static_cast<std::size_t>(n) == link.size()) io_fail(path, "the symbolic link changed while reading it");
    link.resize(static_cast<std::size_t>(n));
    const std::size_t slash = p.find_last_of('/');
    p = link[0] == '/' || slash == std::string::npos ? link : p.substr(0, slash + 1) + link;
  }
  io_fail(path, "too many levels of symbolic links");
}

// The mode a new file gets from open(path, O_CREAT, 0666): 0666 & ~umask. The umask is read from
// /proc (umask() itself can only be read by changing it, which races with other threads).
mode_t new_file_mode() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Umask:", 0) == 0) return 0666 & ~static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  const mode_t mask = ::umask(077);  // fallback without /proc
  ::umask(mask);
  return 0666 & ~mask;
}

// Writes `bytes` to `path` atomically: a temporary file (created 0600, so nothing is readable while
// it is written) in the directory of the final target, write, give it the replaced file's owner and
// mode (or 0666 & ~umask for a new file, never wider), fsync, rename over the target, fsync the
// directory. A symbolic link is written through; a file without write permission is refused.
void write_atomically(const std::string& path, const std::vector<unsigned char>& bytes) {
  const std::string target = final_target(path);
  const std::string via = target == path ? "" : fmt::format(" (the target of the symbolic link, {})", target);
  struct stat old;
  const bool exists = ::stat(target.c_str(), &old) == 0;
  if (!exists && errno != ENOENT) sys_fail(path, "cannot stat the existing file");
  if (exists && !S_ISREG(old.st_mode) && !S_ISDIR(old.st_mode))  // a directory fails at the rename
    io_fail(path, fmt::format("is not a regular file{}: refusing to replace it", via));
  const bool replaces = exists && S_ISREG(old.st_mode);
  // root passes access(W_OK) on any file: a file without its owner's write bit counts as read-only
  if (replaces && ((old.st_mode & S_IWUSR) == 0 || ::access(target.c_str(), W_OK) != 0))
    io_fail(path, fmt::format("the file{} is not writable (mode {:04o}): refusing to replace it (make it "
                              "writable with chmod u+w, or save elsewhere)", via, old.st_mode & 07777));
  mode_t mode = replaces ? old.st_mode & 07777 : new_file_mode();

  const std::size_t slash = target.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : target.substr(0, slash);
  std::string tmp = target + ".tmp-XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) sys_fail(path, "cannot create a temporary file next to it");
  bool fd_open = true;
  auto fail = [&](const char* what) {
    const int err = errno;
    if (fd_open) ::close(fd);
    ::unlink(tmp.c_str());
    errno = err;
    sys_fail(path, what);
  };
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    off += static_cast<std::size_t>(w);
  }
  if (replaces) {
    struct stat now;
    if (::fstat(fd, &now) != 0) fail("fstat of the temporary file failed");
    // keep the owner and group (root, or a setgid directory, would change them); when not even the
    // group can be kept, its permission bits must not pass to another group
    if ((now.st_uid != old.st_uid || now.st_gid != old.st_gid) && ::fchown(fd, old.st_uid, old.st_gid) != 0 &&
        ::fchown(fd, static_cast<uid_t>(-1), old.st_gid) != 0)
      mode &= ~static_cast<mode_t>(S_IRWXG);
  }
  if (::fchmod(fd, mode) != 0) fail("fchmod of the temporary file failed");
  if (::fsync(fd) != 0) fail("fsync failed");
  fd_open = false;  // (closed even when close reports an error)
  if (::close(fd) != 0) fail("close failed");
  if (::rename(tmp.c_str(), target.c_str()) != 0) fail("rename failed");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
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
    using U = std::conditional_t<sizeof(T) == 1, std::uint8_t,
                                 std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>;
    need(count * sizeof(T), what);  // count is bounded by the caller: no overflow
    if constexpr (std::is_same_v<T, bool>) {  // a byte other than 0 or 1 is not a bool (reading it would be UB)
      for (std::size_t i = 0; i < count; ++i) {
        if (p[pos + i] > 1) throw std::range_error(fmt::format("byte {} of {} is not a bool", int(p[pos + i]), what));
        out[i] = p[pos + i] != 0;
      }
      pos += count;
    } else if constexpr (kLittle || sizeof(T) == 1) {
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
    w.uint<std::uint8_t>(static_cast<std::uint8_t>(t.dtype()));  // the DType code: 0 float32, 1 float64, ...
    const Shape s = t.shape();
    w.uint<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    for (std::size_t d : s) w.uint<std::uint64_t>(d);
    ag::dispatch_all(t.dtype(), [&](auto tag) {
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
    if (dt >= ag::kNumDTypes) io_fail(path, fmt::format("entry '{}': unknown dtype code {}", name, dt));
    const DType dtype = static_cast<DType>(dt);
    const std::size_t width = ag::dtype_size(dtype);
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
    Tensor t = ag::dispatch_all(dtype, [&](auto tag) {
      using T = decltype(tag);
      xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
      try {
        r.values(a.data(), numel, "tensor data");
      } catch (const std::range_error& e) {
        io_fail(path, fmt::format("entry '{}': {}", name, e.what()));
      }
      return Tensor(std::move(a));
    });
    f.entries.emplace_back(std::move(name), std::move(t));
  }
  if (r.pos != r.n)
    io_fail(path, fmt::format("{} unexpected bytes after the last entry", r.n - r.pos));
  return f;
}

}  // namespace ag::nn
