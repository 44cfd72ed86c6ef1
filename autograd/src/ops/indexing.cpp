// Indexing: index_select / take_along_axis and their adjoints (scatter-adds), one_hot, and the
// index checks shared with the shape ops. Each primitive's VJP is its adjoint, whose VJP is the
// primitive again, so every order of derivative works.
#include <cmath>
#include <cstring>
#include <memory>

#include "ops/kernels.hpp"

namespace ag {
using detail::Blocks;
using detail::dispatch;
using detail::dispatch_all;

namespace detail {

std::string axis_desc(std::size_t axis, const Shape& x_shape) {
  return fmt::format("axis {} of {}", axis, shape_str(x_shape));
}

std::vector<std::size_t> indices_from_tensor(const char* op, const Tensor& idx, std::size_t n,
                                             const std::string& where) {
  require_defined(op, idx);
  if (idx.dtype() == bool_)
    throw DtypeError(fmt::format("{}: index tensor {} is bool (a mask, not indices): pass int64 indices", op,
                                 shape_str(idx.shape())));
  std::vector<std::size_t> out(idx.numel());
  dispatch_all(idx.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* p = data<T>(idx);
    for (std::size_t i = 0; i < out.size(); ++i) {
      if constexpr (std::is_floating_point_v<T>) {  // deprecated: exact integers held in floats
        const double v = static_cast<double>(p[i]);
        if (!std::isfinite(v) || v != std::floor(v))
          throw IndexError(fmt::format("{}: index {} (element {} of the {} index tensor {}) is not an integer; "
                                       "indices must hold exact non-negative integers (use int64 indices)",
                                       op, v, i, dtype_name(idx.dtype()), shape_str(idx.shape())));
        if (v < 0 || v >= static_cast<double>(n))
          throw IndexError(fmt::format("{}: index {} is out of range for {} (size {})", op, v, where, n));
        out[i] = static_cast<std::size_t>(v);
      } else {
        const auto v = static_cast<std::int64_t>(p[i]);
        if (v < 0 || static_cast<std::uint64_t>(v) >= n)
          throw IndexError(fmt::format("{}: index {} is out of range for {} (size {})", op, v, where, n));
        out[i] = static_cast<std::size_t>(v);
      }
    }
  });
  return out;
}

void check_indices(const char* op, const std::vector<std::size_t>& idx, std::size_t n, const std::string& where) {
  for (std::size_t v : idx)
    if (v >= n) throw IndexError(fmt::format("{}: index {} is out of range for {} (size {})", op, v, where, n));
}

std::size_t wrap_index(const char* op, std::ptrdiff_t i, std::size_t n, const std::string& where) {
  const std::ptrdiff_t sn = static_cast<std::ptrdiff_t>(n);
  const std::ptrdiff_t w = i < 0 ? i + sn : i;
  if (w < 0 || w >= sn)
    throw IndexError(fmt::format("{}: index {} is out of range for {} (size {})", op, i, where, n));
  return static_cast<std::size_t>(w);
}

namespace {

using IndexList = std::shared_ptr<const std::vector<std::size_t>>;

Tensor take_axis_impl(const char* op, const Tensor& x, std::size_t axis, IndexList idx);
Tensor index_add_impl(const Tensor& g, std::size_t axis, IndexList idx, std::size_t n);

Tensor take_axis_impl(const char* op, const Tensor& x, std::size_t axis, IndexList idx) {
  OpScope mark(op);
  const Shape xs = x.shape();
  Shape os = xs;
  os[axis] = idx->size();
  Tensor y = dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const Blocks b = blocks_around(xs, axis, axis);
    const std::size_t m = idx->size();
    Tensor r = empty_tensor<T>(ShapeRef(os.begin(), os.end()));
    const T* px = x.value<T>().data();
    T* pr = data<T>(r);
    for (std::size_t o = 0; o < b.outer; ++o)
      for (std::size_t j = 0; j < m; ++j)
        std::memcpy(pr + (o * m + j) * b.inner, px + (o * b.k + (*idx)[j]) * b.inner, b.inner * sizeof(T));
    return r;
  });
  const std::size_t n = xs[axis];
  return record(op, {x}, std::move(y), [axis, idx, n](const VjpContext&, const Tensor& g) -> Grads {
    return {index_add_impl(g, axis, idx, n)};
  });
}

Tensor index_add_impl(const Tensor& g, std::size_t axis, IndexList idx, std::size_t n) {
  OpScope mark("index_add");
  const Shape gs = g.shape();
  Shape os = gs;
  os[axis] = n;
  Tensor y = dispatch(g.dtype(), [&](auto t) {
    using T = decltype(t);
    const Blocks b = blocks_around(gs, axis, axis);
    const std::size_t m = idx->size();
    Tensor r = empty_tensor<T>(ShapeRef(os.begin(), os.end()));
    T* pr = data<T>(r);
    std::fill(pr, pr + prod(os), T(0));
    const T* pg = g.value<T>().data();
    for (std::size_t o = 0; o < b.outer; ++o)
      for (std::size_t j = 0; j < m; ++j) {
        T* dst = pr + (o * n + (*idx)[j]) * b.inner;
        const T* src = pg + (o * m + j) * b.inner;
        for (std::size_t i = 0; i < b.inner; ++i) dst[i] += src[i];  // repeats accumulate
      }
    return r;
  });
  return record("index_add", {g}, std::move(y), [axis, idx](const VjpContext&, const Tensor& gg) -> Grads {
    return {take_axis_impl("index_select", gg, axis, idx)};
  });
}

// ---- along an axis with a full index array (take_along_axis) -----------------------------------------
struct IndexArray {
  std::vector<std::size_t> idx;  // row-major, shape `shape`
  Shape shape;
};
using IndexArrayPtr = std::shared_ptr<const IndexArray>;

Tensor scatter_add_impl(const Tensor& g, std::size_t axis, IndexArrayPtr ia, std::size_t n);

Tensor take_along_impl(const Tensor& x, std::size_t axis, IndexArrayPtr ia) {
  OpScope mark("take_along_axis");
  const Shape xs = x.shape();
  Tensor y = dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const Blocks bx = blocks_around(xs, axis, axis);
    const Blocks bi = blocks_around(ia->shape, axis, axis);  // same outer and inner as x
    Tensor r = empty_tensor<T>(ShapeRef(ia->shape.begin(), ia->shape.end()));
    const T* px = x.value<T>().data();
    T* pr = data<T>(r);
    for (std::size_t o = 0; o < bi.outer; ++o)
      for (std::size_t j = 0; j < bi.k; ++j)
        for (std::size_t i = 0; i < bi.inner; ++i) {
          const std::size_t at = (o * bi.k + j) * bi.inner + i;
          pr[at] = px[(o * bx.k + ia->idx[at]) * bx.inner + i];
        }
    return r;
  });
  const std::size_t n = xs[axis];
  return record("take_along_axis", {x}, std::move(y), [axis, ia, n](const VjpContext&, const Tensor& g) -> Grads {
    return {scatter_add_impl(g, axis, ia, n)};
  });
}

Tensor scatter_add_impl(const Tensor& g, std::size_t axis, IndexArrayPtr ia, std::size_t n) {
  OpScope mark("scatter_add");
  Shape os = ia->shape;
  os[axis] = n;
  Tensor y = dispatch(g.dtype(), [&](auto t) {
    using T = decltype(t);
    const Blocks bi = blocks_around(ia->shape, axis, axis);
    Tensor r = empty_tensor<T>(ShapeRef(os.begin(), os.end()));
    T* pr = data<T>(r);
    std::fill(pr, pr + prod(os), T(0));
    const T* pg = g.value<T>().data();
    for (std::size_t o = 0; o < bi.outer; ++o)
      for (std::size_t j = 0; j < bi.k; ++j)
        for (std::size_t i = 0; i < bi.inner; ++i) {
          const std::size_t at = (o * bi.k + j) * bi.inner + i;
          pr[(o * n + ia->idx[at]) * bi.inner + i] += pg[at];
        }
    return r;
  });
  return record("scatter_add", {g}, std::move(y), [axis, ia](const VjpContext&, const Tensor& gg) -> Grads {
    return {take_along_impl(gg, axis, ia)};
  });
}

}  // namespace

Tensor take_axis(const char* op, const Tensor& x, std::size_t axis, std::vector<std::size_t> idx) {
  return take_axis_impl(op, x, axis, std::make_shared<const std::vector<std::size_t>>(std::move(idx)));
}

Tensor index_add_axis(const Tensor& g, std::size_t axis, std::vector<std::size_t> idx, std::size_t n) {
  return index_add_impl(g, axis, std::make_shared<const std::vector<std::size_t>>(std::move(idx)), n);
}

}  // namespace detail

// ---- public ops ------------------------------------------------------------------------------------------
namespace {

std::size_t indexed_axis(const char* op, const Tensor& x, int axis) {
  detail::require_defined(op, x);
  if (x.dim() == 0) throw ShapeError(fmt::format("{}: cannot index a 0-d tensor along axis {}", op, axis));
  return detail::normalize_axis(op, axis, x.dim());
}

}  // namespace

Tensor index_select(const Tensor& x, int axis_in, const std::vector<std::size_t>& indices) {
  const std::size_t axis = indexed_axis("index_select", x, axis_in);
  const Shape xs = x.shape();
  detail::check_indices("index_select", indices, xs[axis], detail::axis_desc(axis, xs));
  return detail::take_axis("index_select", x, axis, indices);
}

Tensor index_select(const Tensor& x, int axis_in, const Tensor& indices) {
  const std::size_t axis = indexed_axis("index_select", x, axis_in);
  detail::require_defined("index_select", indices);
  const Shape xs = x.shape();
  if (indices.dim() != 1)
    throw ShapeError(fmt::format("index_select: indices must be 1-D, got {} (input {})",
                                 shape_str(indices.shape()), shape_str(xs)));
  return detail::take_axis("index_select", x, axis,
                           detail::indices_from_tensor("index_select", indices, xs[axis], detail::axis_desc(axis, xs)));
}

Tensor take_along_axis(const Tensor& x, const Tensor& indices, int axis_in) {
  const std::size_t axis = indexed_axis("take_along_axis", x, axis_in);
  detail::require_defined("take_along_axis", indices);
  const Shape xs = x.shape(), is = indices.shape();
  bool ok = is.size() == xs.size();
  for (std::size_t d = 0; ok && d < xs.size(); ++d) ok = d == axis || is[d] == xs[d];
  if (!ok)
    throw ShapeError(fmt::format("take_along_axis: indices {} must have the input's rank and sizes except "
                                 "on axis {} (input {})",
                                 shape_str(is), axis, shape_str(xs)));
  auto ia = std::make_shared<detail::IndexArray>();
  ia->idx = detail::indices_from_tensor("take_along_axis", indices, xs[axis], detail::axis_desc(axis, xs));
  ia->shape = is;
  return detail::take_along_impl(x, axis, std::move(ia));
}

Tensor gather(const Tensor& x, int axis, const Tensor& indices) { return take_along_axis(x, indices, axis); }

Tensor nonzero(const Tensor& x) {
  OpScope mark("nonzero");
  detail::require_defined("nonzero", x);
  const Shape xs = x.shape();
  const Tensor mask = detail::as_dtype("nonzero", x, bool_);
  const bool* pm = detail::data<bool>(mask);
  const std::size_t n = mask.numel(), nd = xs.size();
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) count += pm[i] ? 1 : 0;
  Tensor r = detail::empty_tensor<std::int64_t>(Shape{count, nd});
  std::int64_t* pr = detail::data<std::int64_t>(r);
  for (std::size_t i = 0, row = 0; i < n; ++i) {
    if (!pm[i]) continue;
    const Shape idx = detail::unravel_index(i, xs);
    for (std::size_t d = 0; d < nd; ++d) pr[row * nd + d] = static_cast<std::int64_t>(idx[d]);
    ++row;
  }
  return r;
}

namespace {

Tensor one_hot_from(const std::vector<std::size_t>& idx, Shape shape, std::size_t num_classes, DType dtype) {
  shape.push_back(num_classes);
  numel(shape, "one_hot");
  return dispatch_all(dtype, [&](auto t) {
    using T = decltype(t);
    Tensor r = detail::empty_tensor<T>(detail::ShapeRef(shape.begin(), shape.end()));
    T* p = detail::data<T>(r);
    std::fill(p, p + idx.size() * num_classes, T(0));
    for (std::size_t i = 0; i < idx.size(); ++i) p[i * num_classes + idx[i]] = T(1);
    return r;
  });
}

std::string classes_desc(std::size_t num_classes) { return fmt::format("num_classes = {}", num_classes); }

}  // namespace

Tensor one_hot(const Tensor& indices, std::size_t num_classes, DType dtype) {
  detail::require_defined("one_hot", indices);
  return one_hot_from(detail::indices_from_tensor("one_hot", indices, num_classes, classes_desc(num_classes)),
                      indices.shape(), num_classes, dtype);
}

Tensor one_hot(const std::vector<std::size_t>& indices, std::size_t num_classes, DType dtype) {
  detail::check_indices("one_hot", indices, num_classes, classes_desc(num_classes));
  return one_hot_from(indices, Shape{indices.size()}, num_classes, dtype);
}

}  // namespace ag
