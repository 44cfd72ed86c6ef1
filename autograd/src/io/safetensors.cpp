// The .safetensors format: an unsigned 64-bit little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "value"}}, then the data buffer; offsets are relative to the buffer,
// and the tensors must tile it exactly (no gaps, no overlaps), as the reference implementation
// requires. The JSON is parsed by nlohmann::json (the copy Debian ships with xtensor).
#include <algorithm>
#include <cstdint>
#include <set>

#include <nlohmann/json.hpp>

#include "ag/detail/file_io.hpp"
#include "ag/extend.hpp"
#include "ag/io.hpp"
#include "io/elements.hpp"

namespace ag::io {

using ag::detail::io_fail;
using detail::Elem;

namespace {

constexpr std::uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit

const std::pair<const char*, Elem> kDtypes[] = {
    {"F16", Elem::f16}, {"BF16", Elem::bf16}, {"F32", Elem::f32}, {"F64", Elem::f64}, {"I8", Elem::i8},
    {"I16", Elem::i16}, {"I32", Elem::i32},   {"I64", Elem::i64}, {"U8", Elem::u8},   {"U16", Elem::u16},
    {"U32", Elem::u32}, {"U64", Elem::u64},   {"BOOL", Elem::b1}};

const char* dtype_code(DType d) {
  switch (d) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::i64: return "I64";
    case DType::i32: return "I32";
    case DType::u8: return "U8";
    default: return "BOOL";
  }
}

struct Entry {
  std::string name;
  Elem elem;
  Shape shape;
  std::uint64_t begin, end;
};

}  // namespace

SafetensorsFile parse_safetensors(const unsigned char* p, std::size_t n, const std::string& file) {
  ag::detail::ByteReader r{file, p, n};
  const std::uint64_t header_len = r.uint<std::uint64_t>("the header length");
  if (header_len > kMaxHeader)
    io_fail(file, fmt::format("the header claims {} bytes, over the limit of {}", header_len, kMaxHeader));
  r.need(static_cast<std::size_t>(header_len), "the header");
  const char* text = reinterpret_cast<const char*>(p + r.pos);
  r.pos += static_cast<std::size_t>(header_len);
  if (header_len == 0 || text[0] != '{') io_fail(file, "the header is not a JSON object");

  using json = nlohmann::json;
  std::set<std::string> seen;
  std::string duplicate;
  json h;
  try {
    // the callback sees each key of the top-level object: a repeated one is an error (the JSON
    // library would keep the last silently)
    h = json::parse(text, text + header_len, [&](int depth, json::parse_event_t ev, json& parsed) {
      if (depth == 1 && ev == json::parse_event_t::key && !seen.insert(parsed.get<std::string>()).second &&
          duplicate.empty())
        duplicate = parsed.get<std::string>();
      return true;
    });
  } catch (const json::exception& e) {
    io_fail(file, fmt::format("the header is not valid JSON: {}", e.what()));
  }
  if (!duplicate.empty()) io_fail(file, fmt::format("the header names '{}' twice", duplicate));
  if (!h.is_object()) io_fail(file, "the header is not a JSON object");

  SafetensorsFile out;
  std::vector<Entry> entries;
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) io_fail(file, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) io_fail(file, fmt::format("__metadata__ '{}' is not a string", m.key()));
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& what) { io_fail(file, fmt::format("tensor '{}': {}", name, what)); };
    if (name.empty()) bad("an empty name");
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      bad("expected an object with dtype, shape and data_offsets");
    if (!v["dtype"].is_string()) bad("dtype is not a string");
    const std::string code = v["dtype"].get<std::string>();
    const auto d = std::find_if(std::begin(kDtypes), std::end(kDtypes), [&](const auto& e) { return code == e.first; });
    if (d == std::end(kDtypes))
      bad(fmt::format("unsupported dtype '{}' (readable: F16 BF16 F32 F64 I8 I16 I32 I64 U8 U16 U32 U64 BOOL)", code));
    Entry e{name, d->second, {}, 0, 0};
    const json& s = v["shape"];
    if (!s.is_array() || s.size() > 64) bad("shape is not an array of at most 64 sizes");
    for (const json& k : s) {
      if (!k.is_number_unsigned()) bad("shape holds something other than non-negative integers");
      e.shape.push_back(k.get<std::uint64_t>());
    }
    const json& o = v["data_offsets"];
    if (!o.is_array() || o.size() != 2 || !o[0].is_number_unsigned() || !o[1].is_number_unsigned())
      bad("data_offsets is not [begin, end]");
    e.begin = o[0].get<std::uint64_t>();
    e.end = o[1].get<std::uint64_t>();
    const std::size_t count = detail::checked_count(e.shape, file, "tensor '" + name + "'");
    const std::uint64_t bytes = std::uint64_t(count) * detail::elem_size(e.elem);
    if (e.end < e.begin || e.end - e.begin != bytes)
      bad(fmt::format("data_offsets [{}, {}] do not hold the {} bytes of {} {}", e.begin, e.end, bytes, code,
                      shape_str(e.shape)));
    entries.push_back(std::move(e));
  }
  // the tensors tile the buffer: sorted by offset, each starts where the previous one ended
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const std::uint64_t buffer = n - r.pos;
  std::uint64_t at = 0;
  for (const Entry& e : entries) {
    if (e.begin != at)
      io_fail(file, fmt::format("tensor '{}' starts at byte {} of the data but the previous one ends at {} ({})",
                                e.name, e.begin, at, e.begin < at ? "overlap" : "gap"));
    at = e.end;
  }
  if (at != buffer)
    io_fail(file, fmt::format("the tensors cover {} bytes of data but the file has {} after the header", at, buffer));
  for (const Entry& e : entries)
    out.tensors.emplace_back(e.name, detail::decode(p + r.pos + e.begin, ag::numel(e.shape), e.shape, e.elem, false,
                                                    file, "tensor '" + e.name + "'"));
  return out;
}

SafetensorsFile load_safetensors(const std::string& path) {
  const std::vector<unsigned char> bytes = ag::detail::read_file(path);
  return parse_safetensors(bytes.data(), bytes.size(), path);
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  OpScope mark("save_safetensors");
  using json = nlohmann::ordered_json;  // the tensors in the given order
  json h = json::object();
  std::set<std::string> names;
  std::uint64_t at = 0;
  for (const auto& [name, t] : tensors) {
    if (name.empty() || name == "__metadata__" || !names.insert(name).second)
      throw ValueError(fmt::format("save_safetensors: {}: tensor name '{}' is empty, reserved or repeated", path, name));
    require_defined("save_safetensors", t, "a tensor");
    const std::uint64_t bytes = t.numel() * dtype_size(t.dtype());
    h[name] = {{"dtype", dtype_code(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {at, at + bytes}}};
    at += bytes;
  }
  if (!metadata.empty()) h["__metadata__"] = metadata;
  std::string header = h.dump();
  header.append((8 - header.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  ag::detail::ByteWriter w;
  w.uint<std::uint64_t>(header.size());
  w.buf.insert(w.buf.end(), header.begin(), header.end());
  for (const auto& entry : tensors) {  // (no structured binding: C++17 lambdas cannot capture one)
    const Tensor& t = entry.second;
    dispatch_all(t.dtype(), [&](auto tag) {
      using T = decltype(tag);
      w.values(data<T>(t), t.numel());  // (a bool is one byte, 0 or 1)
    });
  }
  ag::detail::write_atomically(path, w.buf);
}

}  // namespace ag::io
