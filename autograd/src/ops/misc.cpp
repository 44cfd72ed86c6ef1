// The p-norm, outer, masked_fill and cosine_similarity. outer, masked_fill and cosine_similarity
// are compositions (reshape·mul, where, norm·clamp·div·sum), so their VJPs come from the parts;
// the p-norm is one op for p other than 1, 2, inf.
#include <cmath>
#include <limits>
#include <optional>

#include "ops/kernels.hpp"

namespace ag {
using detail::dispatch;

// ---- p-norm -------------------------------------------------------------------------------------------
Tensor norm_p(const Tensor& x, double p, const Axes& axes_in, bool keepdims) {
  OpScope mark("norm");
  detail::require_defined("norm", x);
  const Shape xs = x.shape();
  if (!(p >= 1.0))  // also NaN
    throw ValueError(fmt::format("norm: p must be >= 1 or inf, got {} (input {})", p, shape_str(xs)));
  for (int a : axes_in)
    if (a < -static_cast<long>(xs.size()) || a >= static_cast<long>(xs.size()))
      throw ShapeError(fmt::format("norm: axis {} is out of range for the {}-d input {}", a, xs.size(), shape_str(xs)));
  const auto axes = detail::normalize_axes("norm", axes_in, xs.size());
  const Axes ax = detail::to_axes(axes);
  if (p == 2.0) return norm(x, ax, keepdims);
  if (p == 1.0) return sum(abs(x), ax, keepdims);  // d = g·sign(x): 0 at 0
  if (std::isinf(p)) {
    for (std::size_t a : axes)
      if (xs[a] == 0)
        throw ValueError(fmt::format("norm: the inf-norm of an empty group (axis {} of {}) is undefined", a, shape_str(xs)));
    return max(abs(x), ax, keepdims);  // ties among the largest |x| share the gradient
  }
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    return detail::wrap<T>(detail::reduce_groups(x.value<T>(), axes, keepdims, [p](const T* v, std::size_t k, std::size_t s) {
      // scaled by the largest magnitude: (Σ|x|^p)^(1/p) = m·(Σ(|x|/m)^p)^(1/p), no overflow or underflow
      double m = 0.0;
      for (std::size_t j = 0; j < k; ++j) {
        const double a = std::abs(static_cast<double>(v[j * s]));
        if (a != a) return static_cast<T>(a);  // NaN propagates
        m = std::max(m, a);
      }
      if (m == 0.0 || std::isinf(m)) return static_cast<T>(m);
      double acc = 0.0;
      for (std::size_t j = 0; j < k; ++j) acc += std::pow(std::abs(static_cast<double>(v[j * s])) / m, p);
      return static_cast<T>(m * std::pow(acc, 1.0 / p));
    }));
  });
  const auto ks = detail::signed_shape(detail::reduced_shape(xs, axes, true));
  return record(
      "norm", {x}, std::move(y),
      [ks, p](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor& x = c.input(0);
        const Tensor y = reshape(c.output(), ks);
        // d = g·sign(x)·(|x|/‖x‖)^(p-1): the ratio is in [0, 1], so the power cannot overflow.
        // Where ‖x‖ = 0 (so x = 0) divide by 1 instead: the gradient is 0 there.
        const Tensor safe = add(y, eq(y.detach(), 0.0));
        return {mul(mul(reshape(g, ks), sign(x)), pow(div(abs(x), safe), p - 1.0))};
      },
      keep_output);
}

Tensor norm_p(const Tensor& x, double p) {
  detail::require_defined("norm", x);
  return norm_p(x, p, detail::to_axes(detail::all_axes(x.dim())), false);
}

// ---- outer ----------------------------------------------------------------------------------------------
Tensor outer(const Tensor& a, const Tensor& b) {
  OpScope mark("outer");
  detail::check_same_dtype("outer", a, b);
  if (a.dim() != 1 || b.dim() != 1)
    throw ShapeError(fmt::format("outer: expects two 1-D tensors, got {} and {}", shape_str(a.shape()),
                                 shape_str(b.shape())));
  // [M, 1]·[1, N]: mul's broadcast does the product; its VJP sums back to [M] and [N]
  return mul(reshape(a, {static_cast<std::ptrdiff_t>(a.numel()), 1}),
             reshape(b, {1, static_cast<std::ptrdiff_t>(b.numel())}));
}

// ---- masked_fill ------------------------------------------------------------------------------------------
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  OpScope mark("masked_fill");
  detail::require_defined("masked_fill", x);
  detail::require_defined("masked_fill", mask);
  const Shape xs = x.shape(), ms = mask.shape();
  if (!detail::broadcastable_to(ms, xs))
    throw ShapeError(fmt::format("masked_fill: the mask {} does not broadcast to the input's shape {}", shape_str(ms),
                                 shape_str(xs)));
  // where takes any mask dtype and does not differentiate it; g flows to x where mask is 0
  return where(mask, scalar(value, x.dtype()), x);
}

// ---- cosine_similarity -------------------------------------------------------------------------------------
Tensor cosine_similarity(const Tensor& a, const Tensor& b, int axis, double eps) {
  OpScope mark("cosine_similarity");
  detail::check_same_dtype("cosine_similarity", a, b);
  if (!(eps >= 0.0) || std::isinf(eps))
    throw ValueError(fmt::format("cosine_similarity: eps must be finite and >= 0, got {} (inputs {} and {})", eps,
                                 shape_str(a.shape()), shape_str(b.shape())));
  const Shape s = broadcast_shapes("cosine_similarity", a.shape(), b.shape());
  const long nd = static_cast<long>(s.size());
  if (axis < -nd || axis >= nd)
    throw ShapeError(fmt::format("cosine_similarity: axis {} is out of range for inputs {} and {} (broadcast "
                                 "shape {}, {}-d)",
                                 axis, shape_str(a.shape()), shape_str(b.shape()), shape_str(s), nd));
  // broadcast first, so that both norms run over the same axis of the same shape
  const Tensor x = a.shape() == s ? a : broadcast_to(a, s);
  const Tensor y = b.shape() == s ? b : broadcast_to(b, s);
  // (x / max(‖x‖, ε)) · (y / max(‖y‖, ε)) summed along the axis: dividing first keeps |cos| <= 1
  // (up to rounding) and cannot overflow where ‖x‖·‖y‖ would; norm's d is 0 at a zero vector.
  const Tensor nx = clamp(norm(x, {axis}, true), eps, std::nullopt);
  const Tensor ny = clamp(norm(y, {axis}, true), eps, std::nullopt);
  return sum(mul(div(x, nx), div(y, ny)), {axis});
}

}  // namespace ag
