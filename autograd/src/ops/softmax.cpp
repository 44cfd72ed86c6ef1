// softmax, log_softmax and logsumexp: the max along the axis is subtracted before exp, sums are
// accumulated in double, and each row is one pass over memory (plain loops over [outer, k, inner]
// blocks; no lazy reducers). First-order backward runs one fused loop; under create_graph the
// VJP is written in ag ops so it can be differentiated again.
#include <cmath>
#include <limits>

#include "ops/kernels.hpp"

namespace ag {
using detail::Blocks;
using detail::dispatch;

namespace {

// max of n values at p[j·stride]; 0 (no shift) when the row is empty or all -inf.
template <class T> T row_shift(const T* p, std::size_t n, std::size_t stride) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::size_t j = 0; j < n; ++j) m = std::max(m, p[j * stride]);
  return m == -std::numeric_limits<T>::infinity() ? T(0) : m;
}

// Applies f(in_row, out_row, k, stride) to every row of x along axis into a new tensor of x's shape.
template <class F> Tensor along_axis(const Tensor& x, std::size_t axis, F f) {
  return dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const auto& xv = x.value<T>();
    const Blocks b = detail::blocks_around(detail::to_shape(xv.shape()), axis, axis);
    Tensor y = detail::empty_tensor<T>(xv.shape());
    const T* px = xv.data();
    T* py = detail::data<T>(y);
    for (std::size_t o = 0; o < b.outer; ++o)
      for (std::size_t i = 0; i < b.inner; ++i) {
        const std::size_t base = o * b.k * b.inner + i;
        f(px + base, py + base, b.k, b.inner);
      }
    return y;
  });
}

// Same for two same-shaped inputs (the fused VJPs): f(a_row, b_row, out_row, k, stride).
template <class F> Tensor along_axis2(const Tensor& a, const Tensor& b2, std::size_t axis, F f) {
  return dispatch(a.dtype(), [&](auto t) {
    using T = decltype(t);
    const auto& av = a.value<T>();
    const Blocks b = detail::blocks_around(detail::to_shape(av.shape()), axis, axis);
    Tensor r = detail::empty_tensor<T>(av.shape());
    const T* pa = av.data();
    const T* pb = b2.value<T>().data();
    T* pr = detail::data<T>(r);
    for (std::size_t o = 0; o < b.outer; ++o)
      for (std::size_t i = 0; i < b.inner; ++i) {
        const std::size_t base = o * b.k * b.inner + i;
        f(pa + base, pb + base, pr + base, b.k, b.inner);
      }
    return r;
  });
}

std::size_t softmax_axis(const char* op, const Tensor& x, int axis) {
  detail::require_defined(op, x);
  if (x.dim() == 0) throw ShapeError(fmt::format("{}: needs at least 1 dim, got a 0-d tensor", op));
  return detail::normalize_axis(op, axis, x.dim());
}

}  // namespace

Tensor softmax(const Tensor& x, int axis_in) {
  OpScope mark("softmax");
  const std::size_t axis = softmax_axis("softmax", x, axis_in);
  Tensor y = along_axis(x, axis, [](const auto* px, auto* py, std::size_t k, std::size_t s) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(py)>>;
    const T m = row_shift(px, k, s);
    double sum = 0.0;  // exp in T, the sum in double
    for (std::size_t j = 0; j < k; ++j) {
      const T e = std::exp(px[j * s] - m);
      py[j * s] = e;
      sum += e;
    }
    const T inv = static_cast<T>(1.0 / sum);
    for (std::size_t j = 0; j < k; ++j) py[j * s] *= inv;
  });
  return record(
      "softmax", {x}, std::move(y),
      [axis](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor y = c.output();
        if (!c.create_graph() && g.shape() == y.shape()) {  // d = y·(g - Σ g·y), one pass per row
          return {along_axis2(g, y, axis, [](const auto* pg, const auto* py, auto* pr, std::size_t k, std::size_t s) {
            using T = std::remove_cv_t<std::remove_pointer_t<decltype(pr)>>;
            double dot = 0.0;
            for (std::size_t j = 0; j < k; ++j) dot += static_cast<double>(pg[j * s]) * py[j * s];
            const T d = static_cast<T>(dot);
            for (std::size_t j = 0; j < k; ++j) pr[j * s] = py[j * s] * (pg[j * s] - d);
          })};
        }
        const int ax = static_cast<int>(axis);
        return {mul(y, sub(g, sum(mul(g, y), {ax}, true)))};
      },
      keep_output);
}

Tensor log_softmax(const Tensor& x, int axis_in) {
  OpScope mark("log_softmax");
  const std::size_t axis = softmax_axis("log_softmax", x, axis_in);
  Tensor y = along_axis(x, axis, [](const auto* px, auto* py, std::size_t k, std::size_t s) {
    using T = std::remove_cv_t<std::remove_pointer_t<decltype(py)>>;
    const T m = row_shift(px, k, s);
    double sum = 0.0;
    for (std::size_t j = 0; j < k; ++j) sum += std::exp(px[j * s] - m);
    const T log_sum = static_cast<T>(std::log(sum));  // y = (x - m) - log Σe^(x-m)
    for (std::size_t j = 0; j < k; ++j) py[j * s] = (px[j * s] - m) - log_sum;
  });
  return record(
      "log_softmax", {x}, std::move(y),
      [axis](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor y = c.output();
        if (!c.create_graph() && g.shape() == y.shape()) {  // d = g - eʸ·Σg, one pass per row
          return {along_axis2(g, y, axis, [](const auto* pg, const auto* py, auto* pr, std::size_t k, std::size_t s) {
            using T = std::remove_cv_t<std::remove_pointer_t<decltype(pr)>>;
            double gsum = 0.0;
            for (std::size_t j = 0; j < k; ++j) gsum += pg[j * s];
            const T gs = static_cast<T>(gsum);
            for (std::size_t j = 0; j < k; ++j) pr[j * s] = pg[j * s] - std::exp(py[j * s]) * gs;
          })};
        }
        const int ax = static_cast<int>(axis);
        return {sub(g, mul(exp(y), sum(g, {ax}, true)))};
      },
      keep_output);
}

// ---- logsumexp ---------------------------------------------------------------------------------------
Tensor logsumexp(const Tensor& x, const Axes& axes_in, bool keepdims) {
  OpScope mark("logsumexp");
  detail::require_defined("logsumexp", x);
  const Shape xs = x.shape();
  const auto axes = detail::normalize_axes("logsumexp", axes_in, xs.size());
  Tensor y = dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    return detail::wrap<T>(detail::reduce_groups(x.value<T>(), axes, keepdims, [](const T* p, std::size_t k, std::size_t s) {
      const T m = row_shift(p, k, s);
      if (m == std::numeric_limits<T>::infinity()) return m;  // a +inf term: the sum is +inf (inf - inf would be NaN)
      double sum = 0.0;
      for (std::size_t j = 0; j < k; ++j) sum += std::exp(p[j * s] - m);
      return static_cast<T>(m + std::log(sum));
    }));
  });
  const Shape keep = detail::reduced_shape(xs, axes, true);
  return record(
      "logsumexp", {x}, std::move(y),
      [keep](const VjpContext& c, const Tensor& g) -> Grads {
        const auto ks = detail::signed_shape(keep);
        // d = g·e^(x - y) = g·softmax over the reduced axes
        return {mul(reshape(g, ks), exp(sub(c.input(0), reshape(c.output(), ks))))};
      },
      keep_output);
}

Tensor logsumexp(const Tensor& x) {
  detail::require_defined("logsumexp", x);
  return logsumexp(x, detail::to_axes(detail::all_axes(x.dim())), false);
}

}  // namespace ag
