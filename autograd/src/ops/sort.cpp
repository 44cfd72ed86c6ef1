// Ordering along one axis: sort, argsort, topk, max/min with indices. Each lane along the axis is
// ordered with a plain loop; the values are x gathered at the chosen positions, recorded under the
// op's name. Their VJP scatters g back to those positions with take_along_axis on g padded by one
// zero (position k stands for "not selected"), written with ag ops so that it is recorded under
// create_graph: the second derivative is the same gather again.
#include <algorithm>
#include <memory>
#include <numeric>

#include "ops/kernels.hpp"

namespace ag {
using detail::dispatch;

namespace detail {

Tensor index_tensor(const std::vector<std::int64_t>& idx, const Shape& shape) {
  if (numel(shape, "index_tensor") != idx.size())
    throw ValueError(fmt::format("index_tensor: {} indices for shape {}", idx.size(), shape_str(shape)));
  Tensor r = empty_tensor<std::int64_t>(shape);
  std::copy(idx.begin(), idx.end(), data<std::int64_t>(r));
  return r;
}

}  // namespace detail

namespace {

// Positions along `axis` chosen for each lane, row-major in the shape of x with the axis' size
// replaced by k (the [outer, k, inner] blocks around the axis).
using Positions = std::shared_ptr<const std::vector<std::size_t>>;

// a before b in ascending order with NaN as the largest value (a strict weak order: NaNs are equal).
template <class T> bool nan_last_less(T a, T b) { return a == a && (b != b || a < b); }

// For every lane of x along axis: fills the lane's k positions through choose(values, n, out),
// where values are the lane's n values (contiguous) and out receives k positions.
template <class T, class Choose>
std::vector<std::size_t> choose_per_lane(const Tensor& x, std::size_t axis, std::size_t k, Choose choose) {
  const Shape xs = x.shape();
  const detail::Blocks b = detail::blocks_around(xs, axis, axis);
  const T* px = detail::data<T>(x);
  std::vector<std::size_t> pos(b.outer * k * b.inner);
  std::unique_ptr<T[]> lane(new T[std::max<std::size_t>(b.k, 1)]);  // (std::vector<bool> has no data())
  std::vector<std::size_t> picked(k);
  for (std::size_t o = 0; o < b.outer; ++o)
    for (std::size_t i = 0; i < b.inner; ++i) {
      const T* src = px + o * b.k * b.inner + i;
      for (std::size_t j = 0; j < b.k; ++j) lane[j] = src[j * b.inner];
      choose(lane.get(), b.k, picked.data());
      for (std::size_t j = 0; j < k; ++j) pos[(o * k + j) * b.inner + i] = picked[j];
    }
  return pos;
}

// The lane's stable order (ascending, or descending: NaN first, ties keep their order).
template <class T> void stable_order(const T* v, std::size_t n, bool descending, std::vector<std::size_t>& order) {
  order.resize(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (descending)
    std::stable_sort(order.begin(), order.end(), [v](std::size_t a, std::size_t b) { return nan_last_less(v[b], v[a]); });
  else
    std::stable_sort(order.begin(), order.end(), [v](std::size_t a, std::size_t b) { return nan_last_less(v[a], v[b]); });
}

std::vector<std::int64_t> as_int64(const std::vector<std::size_t>& p) {
  return std::vector<std::int64_t>(p.begin(), p.end());
}

// Shape of x with the axis' size k (keepdims) or without the axis (k = 1 reductions, !keepdims).
Shape lane_shape(const Shape& xs, std::size_t axis, std::size_t k, bool keep_axis) {
  Shape s = xs;
  if (keep_axis) s[axis] = k;
  else s.erase(s.begin() + static_cast<std::ptrdiff_t>(axis));
  return s;
}

// g (the values' gradient, [.., k, ..] along axis) scattered back into x's shape: x's position
// pos[.., j, ..] gets g[.., j, ..], unselected positions 0. With k = n (a sort) the positions are a
// permutation and this is a gather by its inverse; otherwise g is padded with a zero at k.
Tensor scatter_back(const Tensor& g, std::size_t axis, const std::vector<std::size_t>& pos, const Shape& kshape,
                    const Shape& xs) {
  const std::size_t k = kshape[axis], n = xs[axis];
  const detail::Blocks b = detail::blocks_around(xs, axis, axis);
  std::vector<std::int64_t> inv(detail::prod(xs), static_cast<std::int64_t>(k));
  for (std::size_t o = 0; o < b.outer; ++o)
    for (std::size_t j = 0; j < k; ++j)
      for (std::size_t i = 0; i < b.inner; ++i)
        inv[(o * n + pos[(o * k + j) * b.inner + i]) * b.inner + i] = static_cast<std::int64_t>(j);
  const Tensor gk = reshape(g, detail::signed_shape(kshape));
  const int ax = static_cast<int>(axis);
  if (k == n) return take_along_axis(gk, detail::index_tensor(inv, xs), ax);
  Shape zshape = kshape;
  zshape[axis] = 1;
  const Tensor padded = concat({gk, zeros(zshape, g.dtype())}, ax);
  return take_along_axis(padded, detail::index_tensor(inv, xs), ax);
}

// values = x at `pos` along axis (shape `out_shape`, the same elements as kshape), recorded as
// `op` with scatter_back as its VJP; indices = pos as an index tensor of out_shape.
ValuesIndices gathered(const char* op, const Tensor& x, std::size_t axis, std::vector<std::size_t> pos_in,
                       const Shape& kshape, const Shape& out_shape) {
  const Shape xs = x.shape();
  Positions pos = std::make_shared<const std::vector<std::size_t>>(std::move(pos_in));
  Tensor values = detail::dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const detail::Blocks b = detail::blocks_around(xs, axis, axis);
    const std::size_t k = kshape[axis];
    Tensor r = detail::empty_tensor<T>(out_shape);
    T* pr = detail::data<T>(r);
    const T* px = detail::data<T>(x);
    for (std::size_t o = 0; o < b.outer; ++o)
      for (std::size_t j = 0; j < k; ++j)
        for (std::size_t i = 0; i < b.inner; ++i) {
          const std::size_t at = (o * k + j) * b.inner + i;
          pr[at] = px[(o * b.k + (*pos)[at]) * b.inner + i];
        }
    return r;
  });
  Tensor indices = detail::index_tensor(as_int64(*pos), out_shape);
  values = record(op, {x}, std::move(values), [axis, pos, kshape, xs](const VjpContext&, const Tensor& g) -> Grads {
    return {scatter_back(g, axis, *pos, kshape, xs)};
  });
  return {std::move(values), std::move(indices)};
}

std::size_t lane_axis(const char* op, const Tensor& x, int axis) {
  detail::require_defined(op, x);
  return detail::normalize_axis(op, axis, x.dim());  // a 0-d tensor has no axis: ShapeError
}

std::vector<std::size_t> sorted_positions(const Tensor& x, std::size_t axis, bool descending) {
  const std::size_t n = x.shape()[axis];
  return detail::dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    std::vector<std::size_t> order;
    return choose_per_lane<T>(x, axis, n, [&](const T* v, std::size_t len, std::size_t* out) {
      stable_order(v, len, descending, order);
      std::copy(order.begin(), order.end(), out);
    });
  });
}

}  // namespace

// ---- sort / argsort / topk ---------------------------------------------------------------------------------
ValuesIndices sort(const Tensor& x, int axis_in, bool descending) {
  OpScope mark("sort");
  const std::size_t axis = lane_axis("sort", x, axis_in);
  const Shape xs = x.shape();
  return gathered("sort", x, axis, sorted_positions(x, axis, descending), xs, xs);
}

Tensor argsort(const Tensor& x, int axis_in, bool descending) {
  OpScope mark("argsort");
  const std::size_t axis = lane_axis("argsort", x, axis_in);
  return detail::index_tensor(as_int64(sorted_positions(x, axis, descending)), x.shape());
}

ValuesIndices topk(const Tensor& x, std::size_t k, int axis_in, bool largest, bool sorted) {
  OpScope mark("topk");
  const std::size_t axis = lane_axis("topk", x, axis_in);
  const Shape xs = x.shape();
  if (k > xs[axis])
    throw ValueError(fmt::format("topk: k = {} is larger than axis {} of {} (size {})", k, axis, shape_str(xs), xs[axis]));
  std::vector<std::size_t> pos = detail::dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    std::vector<std::size_t> order;
    return choose_per_lane<T>(x, axis, k, [&](const T* v, std::size_t len, std::size_t* out) {
      stable_order(v, len, largest, order);  // the k wanted come first, ties by position
      if (!sorted) std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));  // by position
      std::copy(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), out);
    });
  });
  const Shape ks = lane_shape(xs, axis, k, true);
  return gathered("topk", x, axis, std::move(pos), ks, ks);
}

// ---- max / min with indices -----------------------------------------------------------------------------
namespace detail {

ValuesIndices extreme_with_indices(const char* op, const Tensor& x, int axis_in, bool keepdims, bool take_max) {
  OpScope mark(op);
  const std::size_t axis = lane_axis(op, x, axis_in);
  const Shape xs = x.shape();
  if (xs[axis] == 0) throw ValueError(fmt::format("{}: empty reduction over axis {} of {}", op, axis, shape_str(xs)));
  std::vector<std::size_t> pos = detail::dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    return choose_per_lane<T>(x, axis, 1, [&](const T* v, std::size_t n, std::size_t* out) {
      std::size_t best = 0;  // the first extreme; the first NaN wins (NaN propagates)
      for (std::size_t j = 1; j < n && v[best] == v[best]; ++j)
        if (v[j] != v[j] || (take_max ? v[j] > v[best] : v[j] < v[best])) best = j;
      out[0] = best;
    });
  });
  return gathered(op, x, axis, std::move(pos), lane_shape(xs, axis, 1, true), lane_shape(xs, axis, 1, keepdims));
}

}  // namespace detail

ValuesIndices max_with_indices(const Tensor& x, int axis, bool keepdims) {
  return detail::extreme_with_indices("max_with_indices", x, axis, keepdims, true);
}
ValuesIndices min_with_indices(const Tensor& x, int axis, bool keepdims) {
  return detail::extreme_with_indices("min_with_indices", x, axis, keepdims, false);
}

}  // namespace ag
