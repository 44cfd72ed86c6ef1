// NumPy's .npz format (numpy.savez / numpy.savez_compressed): a zip archive with one member
// "<name>.npy" per array, each a complete .npy file (npy.cpp parses and writes it), stored or
// deflated. The zip layer is libzip's; this file adds what NumPy's files need and the checks that
// make a hostile archive an IOError before anything is allocated from its size claims.
//
// Memory bound: an entry's uncompressed size is what its central directory record claims. A
// stored entry must claim exactly its compressed size; a deflated one at most kDeflateRatio times
// its compressed size plus a constant (deflate cannot expand more: its longest match, 258 bytes,
// costs at least 2 bits). The compressed sizes together must fit in the archive, so entries that
// share their data (the overlapping-entries zip bomb) are refused too. The total decompressed
// size is therefore at most ~1032 times the archive's size; the buffers grow with the data that
// really arrives, never past a member's checked claim, and the data must match the claim and the
// CRC-32.
#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "ag/detail/file_io.hpp"
#include "ag/extend.hpp"
#include "ag/io.hpp"
#include "io/npy.hpp"

#ifdef TAPEGRAD_HAVE_LIBZIP
#include <zip.h>
#endif

namespace ag::io {

using ag::detail::io_fail;

#ifdef TAPEGRAD_HAVE_LIBZIP

namespace {

constexpr std::uint64_t kDeflateRatio = 1032;  // deflate's maximum expansion (zlib's technical notes)
constexpr std::uint64_t kDeflateSlack = 1024;  // for tiny streams (a few header bits, one match)
const std::string kSuffix = ".npy";

// The archive opened on bytes in memory (read-only); closed, without writing, on every path.
struct Archive {
  zip_t* za = nullptr;
  ~Archive() {
    if (za) zip_discard(za);
  }
};
struct Entry {
  zip_file_t* f = nullptr;
  ~Entry() {
    if (f) zip_fclose(f);
  }
};

// libzip's error codes as a reader of the file needs them.
std::string zip_problem(zip_error_t* e) {
  switch (zip_error_code_zip(e)) {
    case ZIP_ER_NOZIP: return "not a zip archive (no end of central directory record: not a zip file, or truncated)";
    case ZIP_ER_INCONS: return "inconsistent zip archive (its directory and data disagree: truncated or corrupt)";
    case ZIP_ER_EXISTS: return "two entries of the zip archive have the same name";
    case ZIP_ER_EOF: return "truncated (premature end of the data)";
    case ZIP_ER_CRC: return "CRC-32 mismatch: the data is corrupt";
    case ZIP_ER_ZLIB: return "the deflated data is corrupt";
#ifdef ZIP_ER_COMPRESSED_DATA  // (libzip >= 1.6)
    case ZIP_ER_COMPRESSED_DATA: return "the deflated data is corrupt";
#endif
    case ZIP_ER_MULTIDISK: return "multi-disk zip archives are not supported";
    case ZIP_ER_ENCRNOTSUPP: case ZIP_ER_NOPASSWD: case ZIP_ER_WRONGPASSWD: return "encrypted entries are not supported";
    case ZIP_ER_COMPNOTSUPP: return "unsupported compression method";
    default: return std::string("zip error: ") + zip_error_strerror(e);
  }
}

bool ends_with(const std::string& s, const std::string& e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

struct Member {
  std::string entry;  // the archive's name, "w.npy"
  std::uint64_t size;
};

}  // namespace

NamedTensors parse_npz(const unsigned char* data, std::size_t size, const std::string& file) {
  if (size == 0) io_fail(file, "not a zip archive (the file is empty)");
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t* src = zip_source_buffer_create(data, size, 0, &err);
  if (!src) {
    const std::string what = zip_problem(&err);
    zip_error_fini(&err);
    io_fail(file, what);
  }
  Archive a;
  // ZIP_CHECKCONS: each local header must agree with the central directory and each entry's data
  // must lie before the central directory
  a.za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!a.za) {
    zip_source_free(src);  // (not taken over when opening fails)
    const std::string what = zip_problem(&err);
    zip_error_fini(&err);
    io_fail(file, what);
  }
  zip_error_fini(&err);

  // every entry's directory record first: names, methods and size claims
  const zip_int64_t count = zip_get_num_entries(a.za, 0);
  if (count < 0) io_fail(file, "cannot count the entries of the zip archive");
  std::vector<Member> members;
  std::set<std::string> keys;
  std::uint64_t compressed_total = 0;
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(count); ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(a.za, i, 0, &st) != 0) io_fail(file, fmt::format("entry {}: {}", i, zip_problem(zip_get_error(a.za))));
    constexpr zip_uint64_t need = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD |
                                  ZIP_STAT_ENCRYPTION_METHOD;
    if ((st.valid & need) != need || !st.name) io_fail(file, fmt::format("entry {}: incomplete directory record", i));
    const std::string name = st.name;
    auto bad = [&](const std::string& what) { io_fail(file, fmt::format("entry '{}': {}", name, what)); };
    if (!ends_with(name, kSuffix) || name.size() == kSuffix.size())
      bad("not a .npy member (an .npz archive holds only '<name>.npy' entries)");
    if (!keys.insert(name.substr(0, name.size() - kSuffix.size())).second) bad("appears twice in the archive");
    if (st.encryption_method != ZIP_EM_NONE) bad("encrypted entries are not supported");
    if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE)
      bad(fmt::format("unsupported compression method {} (readable: stored and deflated, as NumPy writes)",
                      st.comp_method));
    // (with ZIP_CHECKCONS each comp_size is within the archive: the products below cannot overflow)
    if (st.comp_size > size) bad(fmt::format("claims {} compressed bytes in a {}-byte archive", st.comp_size, size));
    if (st.comp_method == ZIP_CM_STORE && st.size != st.comp_size)
      bad(fmt::format("stored, but claims {} bytes uncompressed and {} compressed", st.size, st.comp_size));
    if (st.comp_method == ZIP_CM_DEFLATE && st.size > st.comp_size * kDeflateRatio + kDeflateSlack)
      bad(fmt::format("claims {} bytes uncompressed from {} deflated bytes, more than deflate can expand to",
                      st.size, st.comp_size));
    compressed_total += st.comp_size;
    if (compressed_total > size)
      bad(fmt::format("the entries claim {} compressed bytes together, more than the archive's {} (entries that "
                      "share their data)", compressed_total, size));
    members.push_back({name, st.size});
  }

  // then the data: exactly the claimed bytes, CRC-checked, each a valid .npy file
  NamedTensors out;
  std::vector<unsigned char> buf;
  for (zip_uint64_t i = 0; i < members.size(); ++i) {
    const Member& m = members[i];
    auto bad = [&](const std::string& what) { io_fail(file, fmt::format("entry '{}': {}", m.entry, what)); };
    Entry e;
    e.f = zip_fopen_index(a.za, i, 0);
    if (!e.f) bad(zip_problem(zip_get_error(a.za)));
    // Up to one byte more than claimed: reading to the end makes libzip compare the CRC-32 and
    // the size, and data longer than its claim shows up without reading further. The buffer grows
    // with the data that really arrives (doubling from 64 KiB), so a claim the data does not back
    // costs nothing.
    const std::size_t limit = static_cast<std::size_t>(m.size) + 1;
    buf.resize(std::min<std::size_t>(limit, std::size_t(1) << 16));
    std::size_t got = 0;
    for (;;) {
      if (got == buf.size()) {
        if (got == limit) bad(fmt::format("holds more than the {} bytes its directory record claims", m.size));
        buf.resize(std::min(limit, 2 * got));
      }
      const zip_int64_t n = zip_fread(e.f, buf.data() + got, buf.size() - got);
      if (n < 0) bad(zip_problem(zip_file_get_error(e.f)));
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got != m.size) bad(fmt::format("holds {} bytes but its directory record claims {}", got, m.size));
    const std::string key = m.entry.substr(0, m.entry.size() - kSuffix.size());
    out.emplace_back(key, parse_npy(buf.data(), got, fmt::format("{} (entry '{}')", file, m.entry)));
  }
  return out;
}

void save_npz(const std::string& path, const NamedTensors& tensors, bool compressed) {
  OpScope mark("save_npz");
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    if (name.empty() || name.find('\0') != std::string::npos || !names.insert(name).second)
      throw ValueError(fmt::format("save_npz: {}: array name '{}' is empty, holds a NUL byte or is repeated", path, name));
    require_defined("save_npz", t, "an array");
  }
  std::vector<std::vector<unsigned char>> members;  // alive until zip_close has read them
  members.reserve(tensors.size());
  for (const auto& entry : tensors) members.push_back(detail::npy_bytes(entry.second));
  if (tensors.empty()) {  // libzip writes nothing for an archive without entries; NumPy an empty archive
    std::vector<unsigned char> eocd = {'P', 'K', 5, 6};  // the end of central directory record alone
    eocd.resize(22, 0);
    ag::detail::write_atomically(path, eocd);
    return;
  }

  zip_error_t err;
  zip_error_init(&err);
  auto fail = [&](const std::string& what) {
    zip_error_fini(&err);
    io_fail(path, fmt::format("cannot build the zip archive: {}", what));
  };
  zip_source_t* out = zip_source_buffer_create(nullptr, 0, 0, &err);  // the archive, in memory
  if (!out) fail(zip_error_strerror(&err));
  zip_source_keep(out);  // zip_close must leave it to us
  zip_t* za = zip_open_from_source(out, ZIP_TRUNCATE, &err);
  if (!za) {
    zip_source_free(out);
    zip_source_free(out);
    fail(zip_error_strerror(&err));
  }
  auto abandon = [&](const std::string& what) {
    zip_discard(za);
    zip_source_free(out);
    fail(what);
  };
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    zip_source_t* s = zip_source_buffer(za, members[i].data(), members[i].size(), 0);
    if (!s) abandon(zip_strerror(za));
    const std::string entry = tensors[i].first + kSuffix;
    const zip_int64_t idx = zip_file_add(za, entry.c_str(), s, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(s);
      abandon(fmt::format("entry '{}': {}", entry, zip_strerror(za)));
    }
    if (zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), compressed ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) != 0)
      abandon(fmt::format("entry '{}': {}", entry, zip_strerror(za)));
  }
  if (zip_close(za) != 0) abandon(zip_strerror(za));  // compresses and writes into `out`

  std::vector<unsigned char> bytes;
  zip_stat_t st;
  zip_stat_init(&st);
  bool ok = zip_source_stat(out, &st) == 0 && (st.valid & ZIP_STAT_SIZE) && zip_source_open(out) == 0;
  if (ok) {
    bytes.resize(static_cast<std::size_t>(st.size));
    ok = zip_source_read(out, bytes.data(), bytes.size()) == static_cast<zip_int64_t>(bytes.size());
    zip_source_close(out);
  }
  const std::string what = ok ? "" : zip_error_strerror(zip_source_error(out));
  zip_source_free(out);
  if (!ok) fail(what);
  zip_error_fini(&err);
  ag::detail::write_atomically(path, bytes);
}

#else  // built without libzip

namespace {
[[noreturn]] void no_libzip(const std::string& path) {
  io_fail(path, ".npz files need libzip, and this tapegrad was built without it (install libzip-dev and "
                "configure with -DTAPEGRAD_WITH_LIBZIP=ON)");
}
}  // namespace

NamedTensors parse_npz(const unsigned char*, std::size_t, const std::string& file) { no_libzip(file); }
void save_npz(const std::string& path, const NamedTensors&, bool) { no_libzip(path); }

#endif

NamedTensors load_npz(const std::string& path) {
#ifndef TAPEGRAD_HAVE_LIBZIP
  no_libzip(path);  // (before reading the file: the same error whatever it holds)
#endif
  const std::vector<unsigned char> bytes = ag::detail::read_file(path);
  return parse_npz(bytes.data(), bytes.size(), path);
}

}  // namespace ag::io
