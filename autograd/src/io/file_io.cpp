// Byte-level file helpers (ag/detail/file_io.hpp): atomic writes that keep the replaced file's
// owner and mode, whole-file reads, CRC-32.
#include "ag/detail/file_io.hpp"

#include <array>
#include <cerrno>
#include <fstream>
#include <iterator>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ag/errors.hpp"

namespace ag::detail {

[[noreturn]] void io_fail(const std::string& path, const std::string& what) {
  throw IOError(fmt::format("{}: {}", path, what));
}
[[noreturn]] void sys_fail(const std::string& path, const char* what) {
  io_fail(path, fmt::format("{}: {}", what, std::strerror(errno)));
}

namespace {

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
}  // namespace

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

}  // namespace ag::detail
