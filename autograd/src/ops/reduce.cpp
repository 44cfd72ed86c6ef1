// Reductions: sum/mean, max/min (ties share the gradient), argmax/argmin, var/std, L2 norm.
#include <cmath>
#include <limits>

#include <xtensor/xreducer.hpp>

#include "ops/kernels.hpp"

namespace ag {
using detail::dispatch;
using detail::wrap;

namespace detail {
// Σ of all values, accumulated in double (a float accumulator drifts on long sums).
template <class T> T full_sum(const xt::xarray<T>& a) {
  double s = 0.0;
  for (T v : a) s += v;
  return static_cast<T>(s);
}

// Sum over sorted, unique axes, evaluated immediately (lazy axis reducers are slow in 0.24).
template <class T>
xt::xarray<T> sum_axes(const xt::xarray<T>& a, const std::vector<std::size_t>& axes) {
  if (axes.empty()) return a;
  if (axes.size() == a.dimension()) return xt::xarray<T>(full_sum(a));
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
template xt::xarray<float> sum_axes(const xt::xarray<float>&, const std::vector<std::size_t>&);
template xt::xarray<double> sum_axes(const xt::xarray<double>&, const std::vector<std::size_t>&);

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
namespace {
std::vector<std::size_t> every_axis(const Tensor& x) { return detail::all_axes(x.dim()); }

// Σ of integer or bool values as int64 (PyTorch's rule: counting a mask gives an integer),
// wrapping on overflow like the rest of the integer arithmetic.
Tensor integer_sum(const Tensor& x, const std::vector<std::size_t>& axes, bool keepdims) {
  const Tensor v = detail::as_dtype("sum", x, i64);
  return detail::wrap<std::int64_t>(detail::reduce_groups(
      v.value<std::int64_t>(), axes, keepdims, [](const std::int64_t* p, std::size_t k, std::size_t s) {
        std::uint64_t acc = 0;
        for (std::size_t j = 0; j < k; ++j) acc += static_cast<std::uint64_t>(p[j * s]);
        return static_cast<std::int64_t>(acc);
      }));
}
}  // namespace

Tensor sum(const Tensor& x, const Axes& axes_in, bool keepdims) {
  OpScope mark("sum");
  detail::require_defined("sum", x);
  const Shape in_shape = x.shape();
  const auto axes = detail::normalize_axes("sum", axes_in, in_shape.size());
  if (!is_floating(x.dtype())) return integer_sum(x, axes, keepdims);
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    xt::xarray<T> r = detail::sum_axes(x.value<T>(), axes);
    if (keepdims) r.reshape(detail::reduced_shape(in_shape, axes, true));
    return wrap<T>(std::move(r));
  });
  return record("sum", {x}, std::move(y), [axes, keepdims](const VjpContext& c, const Tensor& g) -> Grads {
    const Shape xs = c.input(0).shape();
    Tensor gk = keepdims ? g : reshape(g, detail::signed_shape(detail::reduced_shape(xs, axes, true)));
    return {broadcast_to(gk, xs)};  // every summed element gets g
  });
}

Tensor sum(const Tensor& x) {
  OpScope mark("sum");
  detail::require_defined("sum", x);
  if (!is_floating(x.dtype())) return integer_sum(x, every_axis(x), false);
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    return Tensor(detail::new_impl(std::in_place_type<xt::xarray<T>>, detail::full_sum(x.value<T>())));
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
  if (!is_floating(x.dtype()))  // integers and bools: the exact int64 sum / n, as float32 (numpy-like)
    return detail::convert("mean", mul(detail::convert("mean", sum(x, axes_in, keepdims), f64), 1.0 / static_cast<double>(n)), f32);
  return mul(sum(x, axes_in, keepdims), 1.0 / static_cast<double>(n));
}

Tensor mean(const Tensor& x) {
  detail::require_defined("mean", x);
  return mean(x, detail::to_axes(detail::all_axes(x.dim())), false);
}


namespace {

// ---- max / min ------------------------------------------------------------------------------------
Tensor extreme(const char* op, const Tensor& x, const Axes& axes_in, bool keepdims, bool take_max) {
  OpScope mark(op);
  detail::require_defined(op, x);
  const Shape xs = x.shape();
  const auto axes = detail::normalize_axes(op, axes_in, xs.size());
  for (std::size_t a : axes)
    if (xs[a] == 0)
      throw ValueError(fmt::format("{}: empty reduction over axis {} of {}", op, a, shape_str(xs)));
  // any dtype (the values of integer and bool tensors are not recorded)
  Tensor y = detail::dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    return detail::wrap<T>(detail::reduce_groups(x.value<T>(), axes, keepdims, [take_max](const T* p, std::size_t k, std::size_t s) {
      T m = p[0];
      for (std::size_t j = 1; j < k; ++j) {
        const T v = p[j * s];
        if (m != m) break;  // NaN propagates
        if (v != v || (take_max ? v > m : v < m)) m = v;
      }
      return m;
    }));
  });
  const Shape keep = detail::reduced_shape(xs, axes, true);
  return record(
      op, {x}, std::move(y),
      [keep, axes](const VjpContext& c, const Tensor& g) -> Grads {
        const auto ks = detail::signed_shape(keep);
        // the elements equal to the result (a NaN result: the NaN elements), a constant of x
        const Tensor& x = c.input(0);
        const Tensor hit = detail::piecewise_constant(
            "max/min mask", {x}, detail::map_binary("max/min", x, reshape(c.output().detach(), ks), [](auto v, auto m) {
              return (v == m || (v != v && m != m)) ? decltype(v)(1) : decltype(v)(0);
            }));
        const Tensor share = div(hit, sum(hit, detail::to_axes(axes), true));  // ties split evenly
        return {mul(reshape(g, ks), share)};
      },
      keep_output);
}


// ---- argmax / argmin ----------------------------------------------------------------------------------
Tensor arg_extreme(const char* op, const Tensor& x, std::vector<std::size_t> axes, bool keepdims, bool take_max) {
  const Shape xs = x.shape();
  std::size_t n = 1;
  for (std::size_t a : axes) n *= xs[a];
  if (n == 0) throw ValueError(fmt::format("{}: empty reduction over {}", op, shape_str(xs)));
  // int64 indices of any dtype's values
  return detail::dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const Tensor idx = detail::empty_tensor<std::int64_t>(detail::reduced_shape(xs, axes, keepdims));
    std::int64_t* out = detail::data<std::int64_t>(idx);
    const detail::Grouped<T> g = detail::group_axes(x.value<T>(), axes);
    const detail::Blocks b = g.b;
    for (std::size_t o = 0; o < b.outer; ++o)
      for (std::size_t i = 0; i < b.inner; ++i) {
        const T* p = g.data + o * b.k * b.inner + i;
        std::size_t best = 0;
        for (std::size_t j = 1; j < b.k; ++j) {
          const T v = p[j * b.inner], m = p[best * b.inner];
          if (m != m) break;  // the first NaN wins (numpy)
          if (v != v || (take_max ? v > m : v < m)) best = j;
        }
        out[o * b.inner + i] = static_cast<std::int64_t>(best);
      }
    return idx;
  });
}

}  // namespace

Tensor max(const Tensor& x, const Axes& axes, bool keepdims) { return extreme("max", x, axes, keepdims, true); }
Tensor min(const Tensor& x, const Axes& axes, bool keepdims) { return extreme("min", x, axes, keepdims, false); }
Tensor max(const Tensor& x) {
  detail::require_defined("max", x);
  return extreme("max", x, detail::to_axes(every_axis(x)), false, true);
}
Tensor min(const Tensor& x) {
  detail::require_defined("min", x);
  return extreme("min", x, detail::to_axes(every_axis(x)), false, false);
}

Tensor argmax(const Tensor& x) {
  detail::require_defined("argmax", x);
  return arg_extreme("argmax", x, every_axis(x), false, true);
}
Tensor argmin(const Tensor& x) {
  detail::require_defined("argmin", x);
  return arg_extreme("argmin", x, every_axis(x), false, false);
}
Tensor argmax(const Tensor& x, int axis, bool keepdims) {
  detail::require_defined("argmax", x);
  return arg_extreme("argmax", x, {detail::normalize_axis("argmax", axis, x.dim())}, keepdims, true);
}
Tensor argmin(const Tensor& x, int axis, bool keepdims) {
  detail::require_defined("argmin", x);
  return arg_extreme("argmin", x, {detail::normalize_axis("argmin", axis, x.dim())}, keepdims, false);
}

// ---- var / std ----------------------------------------------------------------------------------------
// Composed from ag ops: var = Σ(x - mean)²/(n - ddof); its derivatives follow from the parts.
namespace {
// The axes and the divisor n - ddof of a variance over `axes_in`; ValueError naming `op` (var or
// std, the one the user called) when a group has too few elements.
std::pair<std::vector<std::size_t>, std::size_t> variance_axes(const char* op, const Tensor& x, const Axes& axes_in,
                                                               bool unbiased) {
  detail::require_defined(op, x);
  const Shape xs = x.shape();
  auto axes = detail::normalize_axes(op, axes_in, xs.size());
  std::size_t n = 1;
  for (std::size_t a : axes) n *= xs[a];
  const std::size_t ddof = unbiased ? 1 : 0;
  if (n <= ddof)
    throw ValueError(fmt::format("{}: {} element(s) per group in {} over axes [{}] is too few{}", op, n,
                                 shape_str(xs), fmt::join(axes, ", "), unbiased ? " for the unbiased estimate" : ""));
  return {std::move(axes), n - ddof};
}
}  // namespace

Tensor var(const Tensor& x, const Axes& axes_in, bool unbiased, bool keepdims) {
  const auto [axes, divisor] = variance_axes("var", x, axes_in, unbiased);
  const Axes ax = detail::to_axes(axes);
  Tensor d = sub(x, mean(x, ax, true));
  return mul(sum(square(d), ax, keepdims), 1.0 / static_cast<double>(divisor));
}

Tensor var(const Tensor& x) {
  detail::require_defined("var", x);
  return var(x, detail::to_axes(every_axis(x)), true, false);
}

// std = √var as one op: d = g·(x - mean)/((n - ddof)·std), taken as 0 where std = 0 (a constant
// group; √ has an infinite slope at 0 and the composed form gave NaN), as PyTorch does.
Tensor std(const Tensor& x, const Axes& axes_in, bool unbiased, bool keepdims) {
  OpScope mark("std");
  // not a structured binding: C++17 lambdas cannot capture those (clang rejects it)
  const auto va = variance_axes("std", x, axes_in, unbiased);
  const std::vector<std::size_t>& axes = va.first;
  const std::size_t divisor = va.second;
  const Axes ax = detail::to_axes(axes);
  Tensor y = no_grad([&] { return sqrt(var(x, ax, unbiased, keepdims)); });
  const auto keep = detail::signed_shape(detail::reduced_shape(x.shape(), axes, true));
  return record(
      "std", {x}, std::move(y),
      [ax, keep, divisor](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor& x = c.input(0);
        const Tensor s = reshape(c.output(), keep);
        const Tensor pos = gt(s, 0.0);
        const Tensor inv = where(pos, reciprocal(where(pos, s, ones_like(s))), zeros_like(s));  // 1/std or 0
        return {mul(mul(reshape(g, keep), sub(x, mean(x, ax, true))), mul(inv, 1.0 / static_cast<double>(divisor)))};
      },
      keep_output);
}

Tensor std(const Tensor& x) {
  detail::require_defined("std", x);
  return std(x, detail::to_axes(every_axis(x)), true, false);
}

// ---- norm ---------------------------------------------------------------------------------------------
Tensor norm(const Tensor& x, const Axes& axes_in, bool keepdims) {
  OpScope mark("norm");
  detail::require_defined("norm", x);
  const Shape xs = x.shape();
  const auto axes = detail::normalize_axes("norm", axes_in, xs.size());
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    return detail::wrap<T>(detail::reduce_groups(x.value<T>(), axes, keepdims, [](const T* p, std::size_t k, std::size_t s) {
      // scaled by the largest magnitude: no overflow or underflow of the squares
      double m = 0.0;
      for (std::size_t j = 0; j < k; ++j) m = std::max(m, std::abs(static_cast<double>(p[j * s])));
      if (m == 0.0 || !std::isfinite(m)) return static_cast<T>(m);
      double acc = 0.0;
      for (std::size_t j = 0; j < k; ++j) {
        const double v = static_cast<double>(p[j * s]) / m;
        acc += v * v;
      }
      return static_cast<T>(m * std::sqrt(acc));
    }));
  });
  const Shape keep = detail::reduced_shape(xs, axes, true);
  return record(
      "norm", {x}, std::move(y),
      [keep](const VjpContext& c, const Tensor& g) -> Grads {
        const auto ks = detail::signed_shape(keep);
        const Tensor y = reshape(c.output(), ks);
        // d = g·x/‖x‖; where ‖x‖ = 0 (so x = 0) divide by 1 instead: the gradient is 0 there
        const Tensor safe = add(y, eq(y.detach(), 0.0));
        return {div(mul(reshape(g, ks), c.input(0)), safe)};
      },
      keep_output);
}

Tensor norm(const Tensor& x) {
  detail::require_defined("norm", x);
  return norm(x, detail::to_axes(every_axis(x)), false);
}

}  // namespace ag
