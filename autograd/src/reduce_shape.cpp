// Reductions and shape ops. sum_to and broadcast_to are each other's VJP; the engine's one
// unbroadcast is sum_to.
#include <numeric>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xreducer.hpp>

#include "op_util.hpp"

namespace ag {
using detail::dispatch;
using detail::wrap;

namespace {

// Sum over sorted, unique axes, evaluated immediately (lazy axis reducers are slow in 0.24).
template <class T>
xt::xarray<T> sum_axes(const xt::xarray<T>& a, const std::vector<std::size_t>& axes) {
  if (axes.empty()) return a;
  if (axes.size() == a.dimension()) {  // full reduction: accumulate in double (float sums drift)
    double s = 0.0;
    for (T v : a) s += v;
    return xt::xarray<T>(static_cast<T>(s));
  }
  if (axes.back() - axes.front() + 1 != axes.size()) {  // non-adjacent axes: rare
    if (a.size() == 0)  // xtensor's immediate reducer crashes on empty input
      return xt::zeros<T>(detail::reduced_shape(detail::to_shape(a.shape()), axes, false));
    return xt::sum(a, axes, xt::evaluation_strategy::immediate);
  }
  // One run of axes: a is [outer, k, inner] and r[o, i] = Σ_j a[o, j, i], accumulated in T in
  // order of j from 0 (as xtensor's reducer does). inner > 1 adds whole rows (unit stride, e.g.
  // [M, N] -> [N] for a bias gradient); inner = 1 sums each contiguous row.
  const Shape s = detail::to_shape(a.shape());
  const detail::Blocks b = detail::blocks_around(s, axes.front(), axes.back());
  xt::xarray<T> r = xt::xarray<T>::from_shape(detail::reduced_shape(s, axes, false));
  const T* pa = a.data();
  T* pr = r.data();
  for (std::size_t o = 0; o < b.outer; ++o) {
    const T* src = pa + o * b.k * b.inner;
    T* dst = pr + o * b.inner;
    if (b.inner == 1) {
      T acc = T(0);
      for (std::size_t j = 0; j < b.k; ++j) acc += src[j];
      dst[0] = acc;
      continue;
    }
    std::fill_n(dst, b.inner, T(0));
    for (std::size_t j = 0; j < b.k; ++j, src += b.inner)
      for (std::size_t i = 0; i < b.inner; ++i) dst[i] += src[i];
  }
  return r;
}

Shape keepdims_shape(const Shape& in, const std::vector<std::size_t>& axes) {
  Shape s = in;
  for (std::size_t a : axes) s[a] = 1;
  return s;
}

std::vector<std::ptrdiff_t> signed_shape(const Shape& s) {
  return std::vector<std::ptrdiff_t>(s.begin(), s.end());
}

}  // namespace

namespace detail {
Tensor sum_rows(const Tensor& g) {  // [M, N] -> [N]: same order of additions as sum(g, {0})
  const auto& gs = shape_ref(g);
  if (gs.size() != 2) return sum(g, {0});
  return dispatch(g.dtype(), [&](auto t) {
    using T = decltype(t);
    const std::size_t M = gs[0], N = gs[1];
    Tensor r = empty_tensor<T>(ShapeRef{N});
    T* pr = data<T>(r);
    const T* pg = data<T>(g);
    std::fill_n(pr, N, T(0));
    for (std::size_t i = 0; i < M; ++i, pg += N)
      for (std::size_t j = 0; j < N; ++j) pr[j] += pg[j];
    return r;
  });
}
}  // namespace detail

// ---- sum / mean ----------------------------------------------------------------------------------
Tensor sum(const Tensor& x, const Axes& axes_in, bool keepdims) {
  OpScope mark("sum");
  detail::require_defined("sum", x);
  const Shape in_shape = x.shape();
  const auto axes = detail::normalize_axes("sum", axes_in, in_shape.size());
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    xt::xarray<T> r = sum_axes(x.value<T>(), axes);
    if (keepdims) r.reshape(keepdims_shape(in_shape, axes));
    return wrap<T>(std::move(r));
  });
  return record("sum", {x}, std::move(y), [axes, keepdims](const VjpContext& c, const Tensor& g) -> Grads {
    const Shape xs = c.input(0).shape();
    Tensor gk = keepdims ? g : reshape(g, signed_shape(keepdims_shape(xs, axes)));
    return {broadcast_to(gk, xs)};  // every summed element gets g
  });
}

Tensor sum(const Tensor& x) {
  OpScope mark("sum");
  detail::require_defined("sum", x);
  // full reduction, accumulated in double (a float accumulator drifts on long sums)
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    double s = 0.0;
    for (T v : x.value<T>()) s += v;
    return Tensor(detail::new_impl(std::in_place_type<xt::xarray<T>>, static_cast<T>(s)));
  });
  return record("sum", {x}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    return {broadcast_to(g, c.input(0).shape())};  // d/dx_i Σx = 1
  });
}

Tensor mean(const Tensor& x, const Axes& axes_in, bool keepdims) {
  detail::require_defined("mean", x);
  const Shape s = x.shape();
  const auto axes = detail::normalize_axes("mean", axes_in, s.size());
  std::size_t n = 1;
  for (std::size_t a : axes) n *= s[a];
  if (n == 0) throw ValueError(fmt::format("mean: no elements to average in shape {}", shape_str(s)));
  return mul(sum(x, axes_in, keepdims), 1.0 / static_cast<double>(n));
}

Tensor mean(const Tensor& x) {
  detail::require_defined("mean", x);
  Axes all(x.dim());
  std::iota(all.begin(), all.end(), 0);
  return mean(x, all, false);
}

// ---- broadcasting ----------------------------------------------------------------------------
Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  OpScope mark("broadcast_to");
  detail::require_defined("broadcast_to", x);
  const auto& xs = detail::shape_ref(x);
  if (detail::same_shape(xs, shape)) return x;
  bool ok = xs.size() <= shape.size();
  for (std::size_t k = 0; ok && k < xs.size(); ++k) {
    const std::size_t want = shape[shape.size() - xs.size() + k];
    ok = xs[k] == want || xs[k] == 1;
  }
  if (!ok)
    throw ShapeError(fmt::format("broadcast_to: cannot broadcast {} to {}", shape_str(x.shape()),
                                 shape_str(shape)));
  numel(shape, "broadcast_to");
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const auto& xv = x.value<T>();
    // One value (the VJP of a full sum) or whole rows ([N] / [1, N] -> [M, N]): plain fills.
    std::size_t lead = 0;
    while (lead < xs.size() && xs[lead] == 1) ++lead;
    bool rows = true;
    for (std::size_t k = lead; k < xs.size(); ++k) rows = rows && xs[k] == shape[shape.size() - xs.size() + k];
    if (xv.size() == 1 || rows) {
      Tensor r = detail::empty_tensor<T>(detail::ShapeRef(shape.begin(), shape.end()));
      T* pr = detail::data<T>(r);
      const std::size_t n = r.numel(), row = xv.size();
      if (n == 0) return r;  // (row == 0 implies n == 0)
      if (row == 1) std::fill(pr, pr + n, xv.data()[0]);
      else
        for (std::size_t o = 0; o < n; o += row) std::copy(xv.data(), xv.data() + row, pr + o);
      return r;
    }
    return detail::wrap_expr<T>(xt::broadcast(xv, shape));
  });
  return record("broadcast_to", {x}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    return {sum_to(g, c.input(0).shape())};
  });
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  OpScope mark("sum_to");
  detail::require_defined("sum_to", x);
  const Shape xs = x.shape();
  if (xs == shape) return x;
  if (shape.size() > xs.size() || broadcast_shapes("sum_to", xs, shape) != xs)
    throw ShapeError(fmt::format("sum_to: cannot sum {} down to {}", shape_str(xs), shape_str(shape)));
  const std::size_t lead = xs.size() - shape.size();
  std::vector<std::size_t> axes;  // sorted + unique, as the immediate reducer requires
  for (std::size_t i = 0; i < lead; ++i) axes.push_back(i);
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 1 && xs[lead + i] != 1) axes.push_back(lead + i);
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    xt::xarray<T> r = sum_axes(x.value<T>(), axes);
    r.reshape(shape);  // re-inserts the kept size-1 axes
    return wrap<T>(std::move(r));
  });
  return record("sum_to", {x}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    return {broadcast_to(g, c.input(0).shape())};
  });
}

// ---- reshape / permute ---------------------------------------------------------------------------
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
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    xt::xarray<T> r = x.value<T>();
    r.reshape(out);
    return wrap<T>(std::move(r));
  });
  return record("reshape", {x}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    return {reshape(g, signed_shape(c.input(0).shape()))};
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
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    xt::xarray<T> r = xt::transpose(x.value<T>(), perm);
    return wrap<T>(std::move(r));
  });
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

// ---- dtype -----------------------------------------------------------------------------------
Tensor to_dtype(const Tensor& x, DType d) {
  OpScope mark("to");
  detail::require_defined("to", x);
  if (x.dtype() == d) return x;
  Tensor y = dispatch(d, [&](auto t) {
    using T = decltype(t);
    return wrap<T>(x.to_xarray<T>());
  });
  return record("to", {x}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    return {to_dtype(g, c.input(0).dtype())};
  });
}

}  // namespace ag
