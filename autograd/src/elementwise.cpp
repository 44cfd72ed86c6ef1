// Elementwise ops: each forward (xtensor) with its VJP (tapegrad ops) right under it.
// Binary ops never think about broadcasting: the engine sums gradients back to input shapes.
#include <cmath>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "internal.hpp"

namespace ag {
using detail::dispatch;
using detail::wrap;

namespace {

// y = f(x) elementwise; f maps one value of type T to another (a plain loop).
template <class F> Tensor unary_forward(const char* op, const Tensor& x, F f) {
  detail::require_defined(op, x);
  return dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const auto& xv = x.value<T>();
    Tensor y = detail::empty_tensor<T>(xv.shape());
    const T* px = xv.data();
    T* py = detail::data<T>(y);
    for (std::size_t i = 0, n = xv.size(); i < n; ++i) py[i] = static_cast<T>(f(px[i]));
    return y;
  });
}

// y = f(a, b) with numpy broadcasting; checks dtypes and shapes first (ShapeError names the op).
// f works on values and on xtensor expressions alike (e.g. [](auto x, auto y) { return x * y; }):
// same shapes run a plain loop, broadcasting goes through xtensor.
template <class F> Tensor binary_forward(const char* op, const Tensor& a, const Tensor& b, F f) {
  detail::check_same_dtype(op, a, b);
  return dispatch(a.dtype(), [&](auto t) {
    using T = decltype(t);
    const auto& x = a.value<T>();
    const auto& y = b.value<T>();
    if (detail::same_shape(x.shape(), y.shape())) {
      Tensor r = detail::empty_tensor<T>(x.shape());
      const T* px = x.data();
      const T* py = y.data();
      T* pr = detail::data<T>(r);
      for (std::size_t i = 0, n = x.size(); i < n; ++i) pr[i] = static_cast<T>(f(px[i], py[i]));
      return r;
    }
    broadcast_shapes(op, detail::to_shape(x.shape()), detail::to_shape(y.shape()));
    return detail::wrap_expr<T>(f(x, y));
  });
}

Tensor none() { return Tensor(); }

}  // namespace

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::size_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError(fmt::format("{}: cannot broadcast {} with {}", op, shape_str(a), shape_str(b)));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// ---- binary ----------------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = binary_forward("add", a, b, [](const auto& x, const auto& z) { return x + z; });
  return record("add", {a, b}, std::move(y),
                [](const VjpContext&, const Tensor& g) -> Grads { return {g, g}; });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = binary_forward("sub", a, b, [](const auto& x, const auto& z) { return x - z; });
  return record("sub", {a, b}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    return {g, c.needs_grad(1) ? neg(g) : none()};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = binary_forward("mul", a, b, [](const auto& x, const auto& z) { return x * z; });
  return record("mul", {a, b}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    return {c.needs_grad(0) ? mul(g, c.input(1)) : none(),   // d(ab)/da = b
            c.needs_grad(1) ? mul(g, c.input(0)) : none()};  // d(ab)/db = a
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = binary_forward("div", a, b, [](const auto& x, const auto& z) { return x / z; });
  return record("div", {a, b}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    const Tensor& a = c.input(0);
    const Tensor& b = c.input(1);
    Tensor g_over_b = div(g, b);  // d(a/b)/da = 1/b
    return {g_over_b, c.needs_grad(1) ? neg(mul(g_over_b, div(a, b))) : none()};  // d/db = -a/b²
  });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor y = binary_forward("pow", a, b, [](const auto& x, const auto& z) {
    using std::pow;  // values
    using xt::pow;   // expressions (broadcasting)
    return pow(x, z);
  });
  return record(
      "pow", {a, b}, std::move(y),
      [](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor& a = c.input(0);
        const Tensor& b = c.input(1);
        return {c.needs_grad(0) ? mul(g, mul(b, pow(a, add(b, -1.0)))) : none(),  // b·a^(b-1)
                c.needs_grad(1) ? mul(g, mul(c.output(), log(a))) : none()};      // a^b·ln a
      },
      keep_output);
}

Tensor pow(const Tensor& a, double p) {
  Tensor y = unary_forward("pow", a, [p](auto v) { return std::pow(v, static_cast<decltype(v)>(p)); });
  return record("pow", {a}, std::move(y), [p](const VjpContext& c, const Tensor& g) -> Grads {
    if (p == 0.0) return {zeros_like(g)};
    return {mul(g, mul(pow(c.input(0), p - 1.0), p))};  // d/da a^p = p·a^(p-1)
  });
}

Tensor pow(double s, const Tensor& b) {
  if (!(s > 0.0)) throw ValueError(fmt::format("pow: the scalar base must be > 0, got {}", s));
  Tensor y = unary_forward("pow", b, [s](auto v) { return std::pow(static_cast<decltype(v)>(s), v); });
  return record(
      "pow", {b}, std::move(y),
      [s](const VjpContext& c, const Tensor& g) -> Grads {
        return {mul(g, mul(c.output(), std::log(s)))};  // d/db s^b = s^b·ln s
      },
      keep_output);
}

Tensor add(const Tensor& a, double s) {
  Tensor y = unary_forward("add", a, [s](auto v) { return v + static_cast<decltype(v)>(s); });
  return record("add", {a}, std::move(y), [](const VjpContext&, const Tensor& g) -> Grads { return {g}; });
}

Tensor mul(const Tensor& a, double s) {
  Tensor y = unary_forward("mul", a, [s](auto v) { return v * static_cast<decltype(v)>(s); });
  return record("mul", {a}, std::move(y),
                [s](const VjpContext&, const Tensor& g) -> Grads { return {mul(g, s)}; });
}

Tensor rsub(double s, const Tensor& a) {
  Tensor y = unary_forward("rsub", a, [s](auto v) { return static_cast<decltype(v)>(s) - v; });
  return record("rsub", {a}, std::move(y),
                [](const VjpContext&, const Tensor& g) -> Grads { return {neg(g)}; });
}

Tensor rdiv(double s, const Tensor& a) {
  Tensor y = unary_forward("rdiv", a, [s](auto v) { return static_cast<decltype(v)>(s) / v; });
  return record(
      "rdiv", {a}, std::move(y),
      [](const VjpContext& c, const Tensor& g) -> Grads {
        return {neg(mul(g, div(c.output(), c.input(0))))};  // d/da s/a = -s/a² = -y/a
      },
      keep_output);
}

// ---- unary -----------------------------------------------------------------------------------
Tensor neg(const Tensor& x) {
  Tensor y = unary_forward("neg", x, [](auto v) { return -v; });
  return record("neg", {x}, std::move(y), [](const VjpContext&, const Tensor& g) -> Grads { return {neg(g)}; });
}

Tensor exp(const Tensor& x) {
  Tensor y = unary_forward("exp", x, [](auto v) { return std::exp(v); });
  return record(
      "exp", {x}, std::move(y),
      [](const VjpContext& c, const Tensor& g) -> Grads { return {mul(g, c.output())}; },  // d = g·y
      keep_output);
}

Tensor log(const Tensor& x) {
  Tensor y = unary_forward("log", x, [](auto v) { return std::log(v); });
  return record("log", {x}, std::move(y),
                [](const VjpContext& c, const Tensor& g) -> Grads { return {div(g, c.input(0))}; });
}

Tensor sqrt(const Tensor& x) {
  Tensor y = unary_forward("sqrt", x, [](auto v) { return std::sqrt(v); });
  return record(
      "sqrt", {x}, std::move(y),
      [](const VjpContext& c, const Tensor& g) -> Grads {
        return {div(mul(g, 0.5), c.output())};  // d/dx √x = 1/(2√x)
      },
      keep_output);
}

Tensor abs(const Tensor& x) {
  Tensor y = unary_forward("abs", x, [](auto v) { return std::abs(v); });
  return record("abs", {x}, std::move(y),
                [](const VjpContext& c, const Tensor& g) -> Grads { return {mul(g, sign(c.input(0)))}; });
}

Tensor sin(const Tensor& x) {
  Tensor y = unary_forward("sin", x, [](auto v) { return std::sin(v); });
  return record("sin", {x}, std::move(y),
                [](const VjpContext& c, const Tensor& g) -> Grads { return {mul(g, cos(c.input(0)))}; });
}

Tensor cos(const Tensor& x) {
  Tensor y = unary_forward("cos", x, [](auto v) { return std::cos(v); });
  return record("cos", {x}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    return {neg(mul(g, sin(c.input(0))))};  // d/dx cos = -sin
  });
}

Tensor tanh(const Tensor& x) {
  Tensor y = unary_forward("tanh", x, [](auto v) { return std::tanh(v); });
  return record(
      "tanh", {x}, std::move(y),
      [](const VjpContext& c, const Tensor& g) -> Grads {
        return {mul(g, rsub(1.0, square(c.output())))};  // d = 1 - y²
      },
      keep_output);
}

Tensor sigmoid(const Tensor& x) {
  // 1/(1+e^-x): e^-x overflows to inf for x << 0 and the quotient is then exactly 0 — no NaN.
  Tensor y = unary_forward("sigmoid", x, [](auto v) {
    using T = decltype(v);
    return T(1) / (T(1) + std::exp(-v));
  });
  return record(
      "sigmoid", {x}, std::move(y),
      [](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor y = c.output();
        return {mul(g, mul(y, rsub(1.0, y)))};  // d = y(1-y)
      },
      keep_output);
}

Tensor relu(const Tensor& x) {
  Tensor y = unary_forward("relu", x, [](auto v) { return v > decltype(v)(0) ? v : decltype(v)(0); });
  return record("relu", {x}, std::move(y),
                [](const VjpContext& c, const Tensor& g) -> Grads { return {mul(g, step(c.input(0)))}; });
}

Tensor square(const Tensor& x) {
  Tensor y = unary_forward("square", x, [](auto v) { return v * v; });
  return record("square", {x}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    return {mul(g, mul(c.input(0), 2.0))};  // d/dx x² = 2x
  });
}

// ---- non-differentiable -----------------------------------------------------------------------
Tensor sign(const Tensor& x) {
  return unary_forward("sign", x, [](auto v) {
    using T = decltype(v);
    return v > T(0) ? T(1) : v < T(0) ? T(-1) : T(0);
  });
}

Tensor step(const Tensor& x) {
  return unary_forward("step", x, [](auto v) { return v > decltype(v)(0) ? decltype(v)(1) : decltype(v)(0); });
}

}  // namespace ag
