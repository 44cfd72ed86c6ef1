// Shape ops. reshape/permute/transpose rearrange the values; squeeze/unsqueeze/flatten are
// reshapes; slice, select and split pick rows along an axis through detail::take_axis (whose VJP
// scatters back); concat copies blocks and its VJP takes the pieces back out; stack = unsqueeze +
// concat.
#include <cstring>
#include <numeric>

#include <xtensor/xmanipulation.hpp>

#include "ops/kernels.hpp"

namespace ag {
using detail::dispatch;
using detail::wrap;

// ---- reshape / permute ---------------------------------------------------------------------------
namespace {
// out = x with its axes in the order perm (out axis i = x axis perm[i]), row-major: a walk over
// the output with x's strides, the innermost axis as one loop (a contiguous copy when it is x's
// last axis too: the head split/merge of attention). xtensor's transpose assignment went through
// a generic stepper at several ns per element.
template <class T> Tensor permute_values(const Tensor& x, const std::vector<std::size_t>& perm) {
  const auto& xs = detail::shape_ref(x);
  const std::size_t nd = xs.size();
  std::vector<std::size_t> in_stride(nd), out_shape(nd), stride(nd);
  for (std::size_t d = nd, s = 1; d-- > 0;) {
    in_stride[d] = s;
    s *= xs[d];
  }
  for (std::size_t i = 0; i < nd; ++i) {
    out_shape[i] = xs[perm[i]];
    stride[i] = in_stride[perm[i]];
  }
  Tensor y = detail::empty_tensor<T>(detail::ShapeRef(out_shape.begin(), out_shape.end()));
  const std::size_t total = detail::prod(detail::to_shape(out_shape));
  if (total == 0) return y;
  const T* px = detail::data<T>(x);
  T* py = detail::data<T>(y);
  const std::size_t run = out_shape[nd - 1], step = stride[nd - 1];
  std::vector<std::size_t> idx(nd, 0);
  std::size_t off = 0;
  for (std::size_t o = 0; o < total; o += run) {
    if (step == 1) std::copy(px + off, px + off + run, py + o);
    else
      for (std::size_t j = 0; j < run; ++j) py[o + j] = px[off + j * step];
    for (std::size_t d = nd - 1; d-- > 0;) {  // next index over the outer output axes
      off += stride[d];
      if (++idx[d] < out_shape[d]) break;
      off -= stride[d] * out_shape[d];
      idx[d] = 0;
    }
  }
  return y;
}
}  // namespace

Tensor reshape(const Tensor& x, const std::vector<std::ptrdiff_t>& want) {
  OpScope mark("reshape");
  detail::require_defined("reshape", x);
  const Shape xs = x.shape();
  const std::size_t n = x.numel();
  Shape out(want.size());
  std::ptrdiff_t infer = -1;
  std::size_t known = 1;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i] == -1) {
      if (infer >= 0) throw ShapeError(fmt::format("reshape: more than one -1 in [{}]", fmt::join(want, ", ")));
      infer = static_cast<std::ptrdiff_t>(i);
    } else if (want[i] < 0) {
      throw ShapeError(fmt::format("reshape: negative size in [{}]", fmt::join(want, ", ")));
    } else {
      out[i] = static_cast<std::size_t>(want[i]);
    }
  }
  {
    Shape given;  // the sizes given explicitly: their product, checked ({0, 2^32, 2^32} too)
    for (std::size_t i = 0; i < out.size(); ++i)
      if (static_cast<std::ptrdiff_t>(i) != infer) given.push_back(out[i]);
    known = numel(given, "reshape");
  }
  if (infer >= 0) {
    if (known == 0 || n % known != 0)
      throw ShapeError(fmt::format("reshape: cannot reshape {} ({} elements) into [{}]", shape_str(xs), n,
                                   fmt::join(want, ", ")));
    out[static_cast<std::size_t>(infer)] = n / known;
  } else if (known != n) {
    throw ShapeError(fmt::format("reshape: cannot reshape {} ({} elements) into {}", shape_str(xs), n,
                                 shape_str(out)));
  }
  if (out == xs) return x;
  Tensor y = detail::dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    xt::xarray<T> r = x.value<T>();
    r.reshape(out);
    return wrap<T>(std::move(r));
  });
  return record("reshape", {x}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    return {reshape(g, detail::signed_shape(c.input(0).shape()))};
  });
}

Tensor permute(const Tensor& x, const Axes& axes_in) {
  OpScope mark("permute");
  detail::require_defined("permute", x);
  const std::size_t nd = x.dim();
  if (axes_in.size() != nd)
    throw ShapeError(fmt::format("permute: {} axes given for a {}-d tensor {}", axes_in.size(), nd,
                                 shape_str(x.shape())));
  std::vector<std::size_t> perm(nd);
  for (std::size_t i = 0; i < nd; ++i) perm[i] = detail::normalize_axis("permute", axes_in[i], nd);
  std::vector<std::size_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < nd; ++i)
    if (sorted[i] != i)
      throw ShapeError(fmt::format("permute: [{}] is not a permutation of the {} axes of {}",
                                   fmt::join(axes_in, ", "), nd, shape_str(x.shape())));
  bool identity = true;
  for (std::size_t i = 0; i < nd; ++i) identity = identity && perm[i] == i;
  if (identity) return x;
  Tensor y = detail::dispatch_all(x.dtype(), [&](auto t) { return permute_values<decltype(t)>(x, perm); });
  Axes inverse(nd);
  for (std::size_t i = 0; i < nd; ++i) inverse[perm[i]] = static_cast<int>(i);
  return record("permute", {x}, std::move(y), [inverse](const VjpContext&, const Tensor& g) -> Grads {
    return {permute(g, inverse)};
  });
}

Tensor transpose(const Tensor& x, int dim0, int dim1) {
  detail::require_defined("transpose", x);
  const std::size_t nd = x.dim();
  if (nd < 2)
    throw ShapeError(fmt::format("transpose: needs at least 2 dims to swap axes {} and {}, got {}", dim0,
                                 dim1, shape_str(x.shape())));
  Axes perm(nd);
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[detail::normalize_axis("transpose", dim0, nd)],
            perm[detail::normalize_axis("transpose", dim1, nd)]);
  return permute(x, perm);
}

Tensor transpose(const Tensor& x) {
  detail::require_defined("transpose", x);
  Axes perm(x.dim());
  std::iota(perm.rbegin(), perm.rend(), 0);
  return permute(x, perm);
}

using detail::Blocks;

Tensor squeeze(const Tensor& x) {
  detail::require_defined("squeeze", x);
  Shape out;
  for (std::size_t d : x.shape())
    if (d != 1) out.push_back(d);
  return reshape(x, detail::signed_shape(out));
}

Tensor squeeze(const Tensor& x, const Axes& axes_in) {
  detail::require_defined("squeeze", x);
  const Shape xs = x.shape();
  const auto axes = detail::normalize_axes("squeeze", axes_in, xs.size());
  for (std::size_t a : axes)
    if (xs[a] != 1)
      throw ShapeError(fmt::format("squeeze: axis {} of {} has size {}, not 1", a, shape_str(xs), xs[a]));
  return reshape(x, detail::signed_shape(detail::reduced_shape(xs, axes, false)));
}

Tensor unsqueeze(const Tensor& x, int axis) {
  detail::require_defined("unsqueeze", x);
  Shape s = x.shape();
  const std::size_t a = detail::normalize_new_axis("unsqueeze", axis, s);
  s.insert(s.begin() + static_cast<std::ptrdiff_t>(a), 1);
  return reshape(x, detail::signed_shape(s));
}

Tensor flatten(const Tensor& x, int start, int end) {
  detail::require_defined("flatten", x);
  const Shape xs = x.shape();
  if (xs.empty()) return reshape(x, {1});  // a 0-d tensor flattens to [1]
  const std::size_t s = detail::normalize_axis("flatten", start, xs.size());
  const std::size_t e = detail::normalize_axis("flatten", end, xs.size());
  if (s > e)
    throw ShapeError(fmt::format("flatten: start axis {} comes after end axis {} for {}", start, end, shape_str(xs)));
  Shape out(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(s));
  out.push_back(detail::prod(xs, s, e + 1));
  out.insert(out.end(), xs.begin() + static_cast<std::ptrdiff_t>(e + 1), xs.end());
  return reshape(x, detail::signed_shape(out));
}

Tensor expand(const Tensor& x, const Shape& shape) { return broadcast_to(x, shape); }

// ---- concat / stack ----------------------------------------------------------------------------------
Tensor concat(const std::vector<Tensor>& xs, int axis_in) {
  OpScope mark("concat");
  if (xs.empty()) throw ValueError("concat: needs at least one tensor");
  for (const Tensor& t : xs) detail::check_same_dtype("concat", xs[0], t);
  const Shape s0 = xs[0].shape();
  if (s0.empty()) throw ShapeError("concat: cannot join 0-d tensors (use stack)");
  const std::size_t axis = detail::normalize_axis("concat", axis_in, s0.size());
  Shape os = s0;
  os[axis] = 0;
  std::vector<std::size_t> sizes;
  for (std::size_t n = 0; n < xs.size(); ++n) {
    const Shape s = xs[n].shape();
    bool ok = s.size() == s0.size();
    for (std::size_t d = 0; ok && d < s.size(); ++d) ok = d == axis || s[d] == s0[d];
    if (!ok)
      throw ShapeError(fmt::format("concat: tensor {} has shape {}, expected {} except on axis {}", n, shape_str(s),
                                   shape_str(s0), axis));
    sizes.push_back(s[axis]);
    os[axis] += s[axis];
  }
  if (xs.size() == 1) return xs[0];
  Tensor y = detail::dispatch_all(xs[0].dtype(), [&](auto t) {
    using T = decltype(t);
    const Blocks b = detail::blocks_around(os, axis, axis);  // k = the joined length
    Tensor r = detail::empty_tensor<T>(detail::ShapeRef(os.begin(), os.end()));
    T* pr = detail::data<T>(r);
    std::size_t off = 0;
    for (std::size_t n = 0; n < xs.size(); ++n) {
      const T* px = xs[n].value<T>().data();
      const std::size_t row = sizes[n] * b.inner;  // one input's block per outer index
      for (std::size_t o = 0; o < b.outer; ++o)
        std::memcpy(pr + o * b.k * b.inner + off, px + o * row, row * sizeof(T));
      off += row;
    }
    return r;
  });
  return record("concat", xs, std::move(y), [axis, sizes](const VjpContext& c, const Tensor& g) -> Grads {
    Grads out(sizes.size());
    std::size_t off = 0;
    for (std::size_t n = 0; n < sizes.size(); ++n) {
      if (c.needs_grad(n)) {
        std::vector<std::size_t> rows(sizes[n]);
        std::iota(rows.begin(), rows.end(), off);
        out[n] = detail::take_axis("concat", g, axis, std::move(rows));
      }
      off += sizes[n];
    }
    return out;
  });
}

Tensor stack(const std::vector<Tensor>& xs, int axis_in) {
  if (xs.empty()) throw ValueError("stack: needs at least one tensor");
  detail::require_defined("stack", xs[0]);
  const Shape s0 = xs[0].shape();
  for (std::size_t n = 0; n < xs.size(); ++n) {
    detail::check_same_dtype("stack", xs[0], xs[n]);
    if (xs[n].shape() != s0)
      throw ShapeError(fmt::format("stack: tensor {} has shape {}, expected {} like tensor 0", n,
                                   shape_str(xs[n].shape()), shape_str(s0)));
  }
  const std::size_t axis = detail::normalize_new_axis("stack", axis_in, s0);
  std::vector<Tensor> parts;
  parts.reserve(xs.size());
  for (const Tensor& t : xs) parts.push_back(unsqueeze(t, static_cast<int>(axis)));
  if (parts.size() == 1) return parts[0];
  return concat(parts, static_cast<int>(axis));
}

// ---- split / slice / select ------------------------------------------------------------------------------
namespace {

std::vector<std::size_t> range(std::size_t start, std::size_t count) {
  std::vector<std::size_t> r(count);
  std::iota(r.begin(), r.end(), start);
  return r;
}

std::size_t axis_of(const char* op, const Tensor& x, int axis) {
  detail::require_defined(op, x);
  if (x.dim() == 0) throw ShapeError(fmt::format("{}: cannot index a 0-d tensor along axis {}", op, axis));
  return detail::normalize_axis(op, axis, x.dim());
}

}  // namespace

std::vector<Tensor> split(const Tensor& x, const std::vector<std::size_t>& sizes, int axis_in) {
  const std::size_t axis = axis_of("split", x, axis_in);
  const Shape xs = x.shape();
  const std::size_t total = std::accumulate(sizes.begin(), sizes.end(), std::size_t{0});
  if (total != xs[axis])
    throw ShapeError(fmt::format("split: sizes [{}] sum to {}, but axis {} of {} has size {}", fmt::join(sizes, ", "),
                                 total, axis, shape_str(xs), xs[axis]));
  std::vector<Tensor> out;
  std::size_t off = 0;
  for (std::size_t s : sizes) {
    out.push_back(detail::take_axis("split", x, axis, range(off, s)));
    off += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, std::size_t sections, int axis_in) {
  const std::size_t axis = axis_of("split", x, axis_in);
  const Shape xs = x.shape();
  if (sections == 0) throw ValueError(fmt::format("split: 0 sections for axis {} of {}", axis, shape_str(xs)));
  if (xs[axis] % sections != 0)  // a shape mismatch, like sizes that do not sum to the axis
    throw ShapeError(fmt::format("split: axis {} of {} (size {}) does not split into {} equal sections", axis,
                                 shape_str(xs), xs[axis], sections));
  return split(x, std::vector<std::size_t>(sections, xs[axis] / sections), axis_in);
}

Tensor slice(const Tensor& x, int axis_in, std::optional<std::ptrdiff_t> start_in,
             std::optional<std::ptrdiff_t> stop_in, std::ptrdiff_t step) {
  const std::size_t axis = axis_of("slice", x, axis_in);
  const Shape xs = x.shape();
  if (step == 0) throw ValueError(fmt::format("slice: step must not be 0 (axis {} of {})", axis, shape_str(xs)));
  // python's slice.indices: clip to [lower, upper]; defaults depend on the step's sign
  const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(xs[axis]);
  const std::ptrdiff_t lower = step > 0 ? 0 : -1, upper = step > 0 ? n : n - 1;
  auto clip = [&](std::optional<std::ptrdiff_t> v, std::ptrdiff_t dflt) {
    if (!v) return dflt;
    if (*v < 0) return std::max(*v + n, lower);
    return std::min(*v, upper);
  };
  const std::ptrdiff_t start = clip(start_in, step > 0 ? lower : upper);
  const std::ptrdiff_t stop = clip(stop_in, step > 0 ? upper : lower);
  std::vector<std::size_t> rows;
  for (std::ptrdiff_t i = start; step > 0 ? i < stop : i > stop; i += step) rows.push_back(static_cast<std::size_t>(i));
  if (step == 1 && rows.size() == xs[axis]) return x;  // the whole axis
  return detail::take_axis("slice", x, axis, std::move(rows));
}

Tensor select(const Tensor& x, int axis_in, std::ptrdiff_t index) {
  const std::size_t axis = axis_of("select", x, axis_in);
  Shape xs = x.shape();
  const std::size_t i = detail::wrap_index("select", index, xs[axis], detail::axis_desc(axis, xs));
  Tensor row = detail::take_axis("select", x, axis, {i});
  xs.erase(xs.begin() + static_cast<std::ptrdiff_t>(axis));
  return reshape(row, detail::signed_shape(xs));
}

// ---- pad -------------------------------------------------------------------------------------------------
namespace {

// x padded with `fill` (constant mode): before[d]/after[d] positions added (or removed, when
// negative) at each end of axis d. The overlap of x and the output is copied row by row.
Tensor constant_pad(const Tensor& x, const Shape& xs, const Shape& os, const std::vector<std::ptrdiff_t>& before,
                    double value) {
  return detail::dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor r = detail::empty_tensor<T>(os);
    T* pr = detail::data<T>(r);
    const T* px = detail::data<T>(x);
    const std::size_t nd = xs.size();
    std::fill(pr, pr + detail::prod(os), static_cast<T>(value));
    // per axis, the source positions that land inside the output: [lo, hi)
    std::vector<std::ptrdiff_t> lo(nd), hi(nd);
    for (std::size_t d = 0; d < nd; ++d) {
      lo[d] = std::max<std::ptrdiff_t>(0, -before[d]);
      hi[d] = std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(xs[d]), static_cast<std::ptrdiff_t>(os[d]) - before[d]);
      if (hi[d] <= lo[d]) return r;  // nothing of x survives
    }
    std::vector<std::ptrdiff_t> xst(nd), ost(nd);  // row-major strides
    for (std::size_t d = nd, a = 1, b = 1; d-- > 0; a *= xs[d], b *= os[d]) {
      xst[d] = static_cast<std::ptrdiff_t>(a);
      ost[d] = static_cast<std::ptrdiff_t>(b);
    }
    std::vector<std::ptrdiff_t> idx(lo.begin(), lo.end());  // source multi-index over the outer axes
    const std::ptrdiff_t run = hi[nd - 1] - lo[nd - 1];
    while (true) {
      std::ptrdiff_t xo = 0, oo = 0;
      for (std::size_t d = 0; d < nd; ++d) {
        xo += idx[d] * xst[d];
        oo += (idx[d] + before[d]) * ost[d];
      }
      std::copy(px + xo, px + xo + run, pr + oo);
      std::size_t d = nd - 1;
      while (d-- > 0) {  // next row: carry through the outer axes
        if (++idx[d] < hi[d]) break;
        idx[d] = lo[d];
      }
      if (d == std::size_t(-1)) break;
    }
    return r;
  });
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<std::ptrdiff_t>& pads, const std::string& mode, double value) {
  OpScope mark("pad");
  detail::require_defined("pad", x);
  const Shape xs = x.shape();
  const std::size_t nd = xs.size();
  if (pads.size() % 2 != 0)
    throw ValueError(fmt::format("pad: [{}] has an odd length; give (before, after) pairs from the last axis of {}",
                                 fmt::join(pads, ", "), shape_str(xs)));
  if (pads.size() > 2 * nd)
    throw ValueError(fmt::format("pad: [{}] pads {} axes but {} has {}", fmt::join(pads, ", "), pads.size() / 2,
                                 shape_str(xs), nd));
  std::vector<std::ptrdiff_t> before(nd, 0), after(nd, 0);
  for (std::size_t k = 0; k < pads.size() / 2; ++k) {  // pair k pads axis nd-1-k
    before[nd - 1 - k] = pads[2 * k];
    after[nd - 1 - k] = pads[2 * k + 1];
  }
  Shape os(nd);
  for (std::size_t d = 0; d < nd; ++d) {
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(xs[d]) + before[d] + after[d];
    if (n < 0)
      throw ShapeError(fmt::format("pad: axis {} of {} padded by ({}, {}) would have size {}", d, shape_str(xs), before[d],
                                   after[d], n));
    os[d] = static_cast<std::size_t>(n);
  }
  numel(os, "pad");
  const bool none = std::all_of(pads.begin(), pads.end(), [](std::ptrdiff_t p) { return p == 0; });
  if (mode == "constant") {
    if (none) return x;
    Tensor y = constant_pad(x, xs, os, before, value);
    std::vector<std::ptrdiff_t> back(pads.size());
    for (std::size_t i = 0; i < pads.size(); ++i) back[i] = -pads[i];
    return record("pad", {x}, std::move(y), [back](const VjpContext&, const Tensor& g) -> Grads {
      return {pad(g, back, "constant", 0.0)};  // the adjoint of padding is cropping
    });
  }
  if (mode != "reflect" && mode != "replicate" && mode != "circular")
    throw ValueError(fmt::format("pad: mode \"{}\" is not \"constant\", \"reflect\", \"replicate\" or \"circular\" (x {})",
                                 mode, shape_str(xs)));
  Tensor y = x;
  for (std::size_t d = 0; d < nd; ++d) {
    const std::ptrdiff_t b = before[d], a = after[d], n = static_cast<std::ptrdiff_t>(xs[d]);
    if (b == 0 && a == 0) continue;
    if (b < 0 || a < 0)
      throw ValueError(fmt::format("pad: mode \"{}\" needs pads >= 0, got ({}, {}) for axis {} of {}", mode, b, a, d,
                                   shape_str(xs)));
    const std::ptrdiff_t limit = mode == "reflect" ? n - 1 : mode == "circular" ? n : (n > 0 ? b + a : 0);
    if (b > limit || a > limit)
      throw ShapeError(fmt::format("pad: mode \"{}\" pads axis {} of {} by ({}, {}), more than {} allows", mode, d,
                                   shape_str(xs), b, a, mode == "reflect" ? "size - 1" : "its size"));
    std::vector<std::size_t> idx(os[d]);
    for (std::ptrdiff_t o = 0; o < static_cast<std::ptrdiff_t>(os[d]); ++o) {
      std::ptrdiff_t i = o - b;  // the source position, mapped into [0, n)
      if (mode == "reflect") i = i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
      else if (mode == "replicate") i = std::min(std::max<std::ptrdiff_t>(i, 0), n - 1);
      else i = ((i % n) + n) % n;
      idx[static_cast<std::size_t>(o)] = static_cast<std::size_t>(i);
    }
    y = index_select(y, static_cast<int>(d), idx);
  }
  return y;
}

}  // namespace ag
