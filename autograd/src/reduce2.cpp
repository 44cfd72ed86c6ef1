// More reductions: max/min (ties share the gradient), argmax/argmin, var/std, L2 norm.
#include <cmath>
#include <limits>

#include "op_util.hpp"

namespace ag {
using detail::dispatch;

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
  Tensor y = dispatch(x.dtype(), [&](auto t) {
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
        const Tensor hit = eq(c.input(0), reshape(c.output().detach(), ks));  // elements equal to the result
        const Tensor share = div(hit, sum(hit, detail::to_axes(axes), true));  // ties split evenly
        return {mul(reshape(g, ks), share)};
      },
      keep_output);
}

std::vector<std::size_t> every_axis(const Tensor& x) { return detail::all_axes(x.dim()); }

// ---- argmax / argmin ----------------------------------------------------------------------------------
template <class T> void check_index_range(const char* op, std::size_t n, const Shape& xs) {
  if (std::is_same<T, float>::value && n > (std::size_t{1} << 24))
    throw ValueError(fmt::format("{}: {} candidates exceed float32's exact integers (2^24) for {}; "
                                 "convert with .to(ag::f64)",
                                 op, n, shape_str(xs)));
}

Tensor arg_extreme(const char* op, const Tensor& x, std::vector<std::size_t> axes, bool keepdims, bool take_max) {
  const Shape xs = x.shape();
  std::size_t n = 1;
  for (std::size_t a : axes) n *= xs[a];
  if (n == 0) throw ValueError(fmt::format("{}: empty reduction over {}", op, shape_str(xs)));
  return dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    check_index_range<T>(op, n, xs);
    return detail::wrap<T>(detail::reduce_groups(x.value<T>(), axes, keepdims, [take_max](const T* p, std::size_t k, std::size_t s) {
      std::size_t best = 0;
      for (std::size_t j = 1; j < k; ++j) {
        const T v = p[j * s], m = p[best * s];
        if (m != m) break;  // the first NaN wins (numpy)
        if (v != v || (take_max ? v > m : v < m)) best = j;
      }
      return static_cast<T>(best);
    }));
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
Tensor var(const Tensor& x, const Axes& axes_in, bool unbiased, bool keepdims) {
  detail::require_defined("var", x);
  const Shape xs = x.shape();
  const auto axes = detail::normalize_axes("var", axes_in, xs.size());
  std::size_t n = 1;
  for (std::size_t a : axes) n *= xs[a];
  const std::size_t ddof = unbiased ? 1 : 0;
  if (n <= ddof)
    throw ValueError(fmt::format("var: {} element(s) per group in {} over axes [{}] is too few{}", n,
                                 shape_str(xs), fmt::join(axes, ", "), unbiased ? " for the unbiased estimate" : ""));
  const Axes ax = detail::to_axes(axes);
  Tensor d = sub(x, mean(x, ax, true));
  return mul(sum(square(d), ax, keepdims), 1.0 / static_cast<double>(n - ddof));
}

Tensor var(const Tensor& x) {
  detail::require_defined("var", x);
  return var(x, detail::to_axes(every_axis(x)), true, false);
}

Tensor std(const Tensor& x, const Axes& axes, bool unbiased, bool keepdims) {
  return sqrt(var(x, axes, unbiased, keepdims));
}

Tensor std(const Tensor& x) { return sqrt(var(x)); }

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
