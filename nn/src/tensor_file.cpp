// The tensor file (format in ag/nn/state.hpp): written atomically with a CRC-32, and a load that
// checks every byte before it returns anything (the byte helpers: ag/detail/file_io.hpp).
#include "ag/nn/state.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "ag/detail/file_io.hpp"
#include "ag/extend.hpp"

namespace ag::nn {

namespace {

constexpr char kMagic[8] = {'T', 'A', 'P', 'E', 'G', 'R', 'A', 'D'};
using detail::crc32;
using detail::io_fail;
using detail::read_file;
using detail::write_atomically;

}  // namespace

// ---- the container ---------------------------------------------------------------------------------
void save_tensors(const std::string& path, const NamedTensors& entries, FileKind kind,
                  const std::string& type_name) {
  detail::ByteWriter w;
  w.buf.assign(std::begin(kMagic), std::end(kMagic));
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
  detail::ByteReader r{path, bytes.data(), bytes.size()};
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
  if (kind < 1 || kind > 3) io_fail(path, fmt::format("unknown file kind {}", kind));
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
