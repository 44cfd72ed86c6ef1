// Printing: operator<< and fmt::format of tensors, with or without a float format spec.
//   tensor([[ 1.5,  -2.],
//           [  3., 4.25]], shape=[2, 2], dtype=float32)
#include <cctype>
#include <ostream>
#include <sstream>
#include <vector>

#include <xtensor/xio.hpp>

#include "ag/format.hpp"
#include "core/internal.hpp"

namespace ag {

namespace {

constexpr std::size_t kThreshold = 200;  // more elements than this: summarise (numpy: 1000)
constexpr std::size_t kEdgeItems = 3;     // kept at each end of a summarised axis
constexpr std::size_t kGap = static_cast<std::size_t>(-1);

// The indices printed along an axis of length n: all of them, or the first and last kEdgeItems
// with kGap ("...") between them.
std::vector<std::size_t> shown(std::size_t n, bool summarise) {
  std::vector<std::size_t> idx;
  if (summarise && n > 2 * kEdgeItems) {
    for (std::size_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
    idx.push_back(kGap);
    for (std::size_t i = n - kEdgeItems; i < n; ++i) idx.push_back(i);
  } else {
    for (std::size_t i = 0; i < n; ++i) idx.push_back(i);
  }
  return idx;
}

// The printed elements in row-major order (summarised axes skipped).
template <class T>
void gather(const xt::xarray<T>& a, bool summarise, std::size_t axis, std::size_t offset,
            std::vector<T>& out) {
  if (axis == a.dimension()) {
    out.push_back(a.data()[offset]);
    return;
  }
  for (std::size_t i : shown(a.shape()[axis], summarise))
    if (i != kGap) gather(a, summarise, axis + 1, offset + i * a.strides()[axis], out);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(' ');
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

// One string per element. Without a spec, xio's rule, as before: a common precision for the whole
// tensor (at most 6 digits), "2." for integral values, scientific when an exponent is <= -5 or > 7.
template <class T> std::vector<std::string> cells(const std::vector<T>& v, std::string_view spec) {
  std::vector<std::string> out;
  out.reserve(v.size());
  if constexpr (!std::is_floating_point_v<T>) {  // integers and bools print exactly; a float spec does not apply
    for (T x : v) {
      if constexpr (std::is_same_v<T, bool>) out.push_back(x ? "true" : "false");
      else out.push_back(fmt::format("{}", +x));  // + : uint8 as a number
    }
  } else if (spec.empty()) {
    xt::detail::printer<xt::xarray<T>> p(6);
    for (T x : v) p.update(x);
    p.init();
    for (std::size_t i = 0; i < v.size(); ++i) {
      std::ostringstream os;
      p.print_next(os);
      out.push_back(trim(os.str()));
    }
  } else {
    const std::string f = fmt::format("{{:{}}}", spec);
    for (T x : v) out.push_back(fmt::vformat(f, fmt::make_format_args(x)));
  }
  return out;
}

// Nested brackets. Rank >= 2: one innermost row per line, a blank line between 2-D blocks, each
// line indented to its bracket depth after `indent` columns, cells right-aligned to `width`.
void layout(const Shape& shape, bool summarise, std::size_t axis, std::size_t indent,
            std::size_t width, const std::vector<std::string>& c, std::size_t& next, std::string& out) {
  out += '[';
  const auto idx = shown(shape[axis], summarise);
  const bool inner = axis + 1 == shape.size();
  for (std::size_t k = 0; k < idx.size(); ++k) {
    if (k > 0) {
      if (inner) {
        out += ", ";
      } else {
        out += ',';
        out.append(shape.size() - 1 - axis, '\n');
        out.append(indent + axis + 1, ' ');
      }
    }
    if (idx[k] == kGap) {
      out += "...";
    } else if (inner) {
      const std::string& s = c[next++];
      if (s.size() < width) out.append(width - s.size(), ' ');
      out += s;
    } else {
      layout(shape, summarise, axis + 1, indent, width, c, next, out);
    }
  }
  out += ']';
}

// The values part of the text: "2.5", "[1., 2.]", "[[1., 2.],\n        [3., 4.]]" ...
std::string values_text(const Tensor& t, std::string_view spec, std::size_t indent) {
  return std::visit(
      [&](const auto& a) -> std::string {
        using T = typename std::decay_t<decltype(a)>::value_type;
        const Shape& shape = t.shape();
        if (a.size() == 0) return "[]";
        const bool summarise = a.size() > kThreshold;
        std::vector<T> v;
        gather(a, summarise, 0, 0, v);
        const std::vector<std::string> c = cells(v, spec);
        if (shape.empty()) return c[0];
        std::size_t width = 0;  // 1-D stays unpadded: "[1.5, -2., 3.25]"
        if (shape.size() >= 2)
          for (const auto& s : c) width = std::max(width, s.size());
        std::string out;
        std::size_t next = 0;
        layout(shape, summarise, 0, indent, width, c, next, out);
        return out;
      },
      t.impl()->value);
}

}  // namespace

std::string format_tensor(const Tensor& t, std::string_view spec) {
  if (!t.defined()) return "tensor(undefined)";
  std::string s = "tensor(";
  s += values_text(t, spec, s.size());
  s += fmt::format(", shape={}, dtype={}", shape_str(t.shape()), dtype_name(t.dtype()));
  if (!t.name().empty()) s += ", name=" + t.name();
  if (t.requires_grad()) s += ", requires_grad=true";
  if (!t.is_leaf()) {  // like PyTorch's grad_fn=<MulBackward0>: "log_softmax" -> LogSoftmaxBackward
    s += ", grad_fn=<";
    bool up = true;
    for (const char* p = t.op_name(); *p; ++p) {
      if (*p == '_') {
        up = true;
        continue;
      }
      s += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(*p))) : *p;
      up = false;
    }
    s += "Backward>";
  }
  return s + ")";
}

std::ostream& operator<<(std::ostream& os, DType d) { return os << dtype_name(d); }

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << format_tensor(t); }

}  // namespace ag
