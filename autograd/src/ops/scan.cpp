// Products and scans: prod, cumsum, cumprod.
//
// Zeros. The gradient of a product is the product of the *other* elements, which the usual
// y/x_i gets wrong at zeros. Here it is built without division from exclusive products:
//   prod:    d_i = g·(Π_{j<i} x_j)·(Π_{j>i} x_j)          (cumprod both ways, shifted by one)
//   cumprod: d_k = Σ_{i>=k} g_i·Π_{j<=i, j≠k} x_j = (Π_{j<k} x_j)·S_k,
//            S_k = g_k + x_{k+1}·S_{k+1}                  (a reversed linear scan)
// so both VJPs are polynomials in x and g made of ag ops, exact with any number of zeros and
// differentiable again (second, third ... derivatives are exact at zeros too). The linear scan
// s_k = h_k + a_k·s_{k-1} is the one extra primitive: its VJP is the scan the other way with the
// coefficients moved by one, so every order costs O(n) (no n² "product of the others" matrix).
#include <algorithm>
#include <cmath>

#include <type_traits>

#include "ops/kernels.hpp"

namespace ag {
using detail::Blocks;
using detail::data;
using detail::dispatch;
using detail::empty_tensor;
using detail::shape_ref;

namespace {

// The values along `axis` as [outer, k, inner] blocks.
Blocks along(const Tensor& t, std::size_t axis) { return detail::blocks_around(t.shape(), axis, axis); }

// The one running-recurrence loop behind cumsum, cumprod and linear_scan: along the k axis of the
// [outer, k, inner] blocks b (from the end when reverse), r = first at the first step and
// r[j] = next(j, r at the previous step) after it, j a flat index.
template <class T, class Next> void scan_loop(const Blocks& b, bool reverse, const T* first, T* r, Next next) {
  const std::size_t row = b.inner, block = b.k * b.inner;
  for (std::size_t o = 0; o < b.outer; ++o)
    for (std::size_t step = 0; step < b.k; ++step) {
      const std::size_t at = o * block + (reverse ? b.k - 1 - step : step) * row;
      if (step == 0) {
        std::copy(first + at, first + at + row, r + at);
        continue;
      }
      const std::size_t prev = reverse ? at + row : at - row;
      for (std::size_t i = 0; i < row; ++i) r[at + i] = next(at + i, r[prev + i]);
    }
}

// An axis of x for `op`: ShapeError naming op, the axis and x's shape when out of range.
std::size_t checked_axis(const char* op, const Tensor& x, int axis) {
  detail::require_defined(op, x);
  const long n = static_cast<long>(x.dim());
  if (axis < -n || axis >= n)
    throw ShapeError(fmt::format("{}: axis {} is out of range for the {}-d input {}", op, axis, n, shape_str(x.shape())));
  return detail::normalize_axis(op, axis, x.dim());
}

// ---- internal primitives (linear, so their VJPs are each other) ------------------------------------
// y_k = t_{k-1} (toward_end) or t_{k+1} (toward the start), `fill` where that index falls off.
Tensor shift(const Tensor& t, std::size_t axis, bool toward_end, double fill) {
  OpScope mark("shift");
  Tensor y = dispatch(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Blocks b = along(t, axis);
    Tensor r = empty_tensor<T>(shape_ref(t));
    const T* pt = data<T>(t);
    T* pr = data<T>(r);
    if (b.k == 0) return r;
    const std::size_t row = b.inner, block = b.k * b.inner;
    for (std::size_t o = 0; o < b.outer; ++o) {
      const T* src = pt + o * block;
      T* dst = pr + o * block;
      if (toward_end) {
        std::fill_n(dst, row, static_cast<T>(fill));
        std::copy(src, src + block - row, dst + row);
      } else {
        std::copy(src + row, src + block, dst);
        std::fill_n(dst + block - row, row, static_cast<T>(fill));
      }
    }
    return r;
  });
  return record("shift", {t}, std::move(y), [axis, toward_end](const VjpContext&, const Tensor& g) -> Grads {
    return {shift(g, axis, !toward_end, 0.0)};  // g moved back; the element shifted out gets 0
  });
}

// s_k = h_k + a_k·s_{k-1} with s_{-1} = 0 (reverse: s_k = h_k + a_k·s_{k+1}, s_K = 0); h and a
// have one shape and dtype. Linear in h: s = L⁻¹h with L bidiagonal (1 on the diagonal, -a_k next
// to it). VJP with cotangent u: t = L⁻ᵀu is the scan the other way with b_k = a_{k±1} (the
// coefficient that carried s_k on), d/dh = t, d/da_k = t_k·s_{k∓1}.
Tensor linear_scan(const Tensor& h, const Tensor& a, std::size_t axis, bool reverse) {
  OpScope mark("linear_scan");
  Tensor y = dispatch(h.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Blocks b = along(h, axis);
    Tensor r = empty_tensor<T>(shape_ref(h));
    const T* ph = data<T>(h);
    const T* pa = data<T>(a);
    T* ps = data<T>(r);
    scan_loop(b, reverse, ph, ps, [&](std::size_t j, T s_prev) { return ph[j] + pa[j] * s_prev; });
    return r;
  });
  return record(
      "linear_scan", {h, a}, std::move(y),
      [axis, reverse](const VjpContext& c, const Tensor& u) -> Grads {
        const Tensor t = linear_scan(u, shift(c.input(1), axis, reverse, 0.0), axis, !reverse);
        Tensor da;
        if (c.needs_grad(1)) da = mul(t, shift(c.output(), axis, !reverse, 0.0));
        return {c.needs_grad(0) ? t : Tensor(), da};
      },
      keep_output);
}

// Inclusive running sum along axis (reverse: from the end), recorded as "cumsum".
Tensor cumsum_along(const Tensor& x, std::size_t axis, bool reverse) {
  OpScope mark("cumsum");
  Tensor y = detail::dispatch_all(x.dtype(), [&](auto tag) {  // floats, and int64 (cumsum converts integers)
    using T = decltype(tag);
    const Blocks b = along(x, axis);
    Tensor r = empty_tensor<T>(shape_ref(x));
    const T* px = data<T>(x);
    T* py = data<T>(r);
    scan_loop(b, reverse, px, py, [&](std::size_t j, T prev) {
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)  // wraps, like integer +
        return static_cast<T>(static_cast<std::make_unsigned_t<T>>(prev) + static_cast<std::make_unsigned_t<T>>(px[j]));
      else
        return static_cast<T>(prev + px[j]);
    });
    return r;
  });
  return record("cumsum", {x}, std::move(y), [axis, reverse](const VjpContext&, const Tensor& g) -> Grads {
    return {cumsum_along(g, axis, !reverse)};  // d_j = Σ_{k>=j} g_k: g summed the other way
  });
}

// Inclusive running product along axis (reverse: from the end), recorded as "cumprod".
Tensor cumprod_along(const Tensor& x, std::size_t axis, bool reverse) {
  OpScope mark("cumprod");
  Tensor y = dispatch(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Blocks b = along(x, axis);
    Tensor r = empty_tensor<T>(shape_ref(x));
    const T* px = data<T>(x);
    T* py = data<T>(r);
    scan_loop(b, reverse, px, py, [&](std::size_t j, T prev) { return prev * px[j]; });
    return r;
  });
  return record(
      "cumprod", {x}, std::move(y),
      [axis, reverse](const VjpContext& c, const Tensor& g) -> Grads {
        // d_k = (Π of the elements before k) · S_k with S_k = g_k + x_{k+1}·S_{k+1} (directions
        // mirrored for reverse); no division, so zeros need no special case
        const Tensor before = shift(c.output(), axis, !reverse, 1.0);
        const Tensor s = linear_scan(g, shift(c.input(0), axis, reverse, 0.0), axis, !reverse);
        return {mul(before, s)};
      },
      keep_output);
}

// d prod / dx for prod over `axes` (sorted, unique) of x, g of the reduced shape (either keepdims).
// The reduced axes are moved last as one axis of K elements: [kept..., K].
Tensor prod_grad(const Tensor& x, const Tensor& g, const std::vector<std::size_t>& axes) {
  const Shape xs = x.shape();
  const std::size_t nd = xs.size();
  Axes perm;
  std::vector<std::ptrdiff_t> flat, g_shape;
  for (std::size_t d = 0, a = 0; d < nd; ++d) {
    if (a < axes.size() && axes[a] == d) {
      ++a;
      continue;
    }
    perm.push_back(static_cast<int>(d));
    flat.push_back(static_cast<std::ptrdiff_t>(xs[d]));
  }
  g_shape = flat;
  std::size_t k = 1;
  for (std::size_t a : axes) {
    perm.push_back(static_cast<int>(a));
    k *= xs[a];
  }
  flat.push_back(static_cast<std::ptrdiff_t>(k));
  g_shape.push_back(1);
  const std::size_t last = flat.size() - 1;
  const Tensor xp = reshape(permute(x, perm), flat);
  const Tensor before = shift(cumprod_along(xp, last, false), last, true, 1.0);  // Π_{j<i} x_j
  const Tensor after = shift(cumprod_along(xp, last, true), last, false, 1.0);   // Π_{j>i} x_j
  const Tensor d = mul(reshape(g, g_shape), mul(before, after));
  std::vector<std::ptrdiff_t> permuted;
  for (int p : perm) permuted.push_back(static_cast<std::ptrdiff_t>(xs[static_cast<std::size_t>(p)]));
  Axes inverse(nd);
  for (std::size_t i = 0; i < nd; ++i) inverse[static_cast<std::size_t>(perm[i])] = static_cast<int>(i);
  return permute(reshape(d, permuted), inverse);
}

}  // namespace

// ---- public ops ---------------------------------------------------------------------------------------
Tensor cumsum(const Tensor& x, int axis) {
  const std::size_t a = checked_axis("cumsum", x, axis);
  if (!is_floating(x.dtype())) return cumsum_along(detail::as_dtype("cumsum", x, i64), a, false);  // int64, as sum
  return cumsum_along(x, a, false);
}

Tensor cumprod(const Tensor& x, int axis) { return cumprod_along(x, checked_axis("cumprod", x, axis), false); }

Tensor prod(const Tensor& x, const Axes& axes_in, bool keepdims) {
  OpScope mark("prod");
  detail::require_defined("prod", x);
  const Shape xs = x.shape();
  for (int a : axes_in)
    if (a < -static_cast<long>(xs.size()) || a >= static_cast<long>(xs.size()))
      throw ShapeError(fmt::format("prod: axis {} is out of range for the {}-d input {}", a, xs.size(), shape_str(xs)));
  const auto axes = detail::normalize_axes("prod", axes_in, xs.size());
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    return detail::wrap<T>(detail::reduce_groups(x.value<T>(), axes, keepdims, [](const T* p, std::size_t k, std::size_t s) {
      double acc = 1.0;  // float32 products accumulate in double
      for (std::size_t j = 0; j < k; ++j) acc *= static_cast<double>(p[j * s]);
      return static_cast<T>(acc);
    }));
  });
  return record("prod", {x}, std::move(y), [axes](const VjpContext& c, const Tensor& g) -> Grads {
    return {prod_grad(c.input(0), g, axes)};
  });
}

Tensor prod(const Tensor& x) {
  detail::require_defined("prod", x);
  return prod(x, detail::to_axes(detail::all_axes(x.dim())), false);
}

}  // namespace ag
