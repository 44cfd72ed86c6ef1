// Elementwise ops: each forward (plain loops) with its VJP (tapegrad ops) right under it.
// Binary ops never think about broadcasting: the engine sums gradients back to input shapes.
#include <cmath>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ops/kernels.hpp"

namespace ag {
using detail::dispatch;
using detail::wrap;

namespace {

Tensor none() { return Tensor(); }

// A double scalar with an integer or bool tensor computes in float32 (PyTorch's rule for a
// Python float with an integer tensor).
Tensor float32_of(const char* op, const Tensor& a) { return detail::convert(op, a, f32); }

// [x > 0] as 1 or +0 without a branch (GCC turns g·(x > 0 ? 1 : 0) into a branch on x, which
// mispredicts on the random signs of activations): 1.0's bits masked by the comparison.
template <class T> T step_mask(T x) {
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  const T one = T(1);
  U bits;
  std::memcpy(&bits, &one, sizeof bits);
  bits &= U(0) - static_cast<U>(x > T(0));
  T m;
  std::memcpy(&m, &bits, sizeof m);
  return m;
}

}  // namespace

// ---- binary ----------------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b) {
  if (!detail::same_floating(a, b)) {
    detail::Promoted p = detail::promote_arith(a, b, detail::Arith::add);
    return p.result.defined() ? p.result : add(p.a, p.b);
  }
  return detail::binary_op(
      "add", a, b, [](auto x, auto z) { return x + z; },
      [](const VjpContext&, const Tensor& g) -> Grads {
        return {g, g};
      });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  if (!detail::same_floating(a, b)) {
    detail::Promoted p = detail::promote_arith(a, b, detail::Arith::sub);
    return p.result.defined() ? p.result : sub(p.a, p.b);
  }
  return detail::binary_op(
      "sub", a, b, [](auto x, auto z) { return x - z; },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        return {g, c.needs_grad(1) ? neg(g) : none()};
      });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  if (!detail::same_floating(a, b)) {
    detail::Promoted p = detail::promote_arith(a, b, detail::Arith::mul);
    return p.result.defined() ? p.result : mul(p.a, p.b);
  }
  return detail::binary_op(
      "mul", a, b, [](auto x, auto z) { return x * z; },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        return {c.needs_grad(0) ? mul(g, c.input(1)) : none(),   // d(ab)/da = b
                c.needs_grad(1) ? mul(g, c.input(0)) : none()};  // d(ab)/db = a
      });
}

Tensor div(const Tensor& a, const Tensor& b) {
  if (!detail::same_floating(a, b)) {
    detail::Promoted p = detail::promote_arith(a, b, detail::Arith::div);
    return p.result.defined() ? p.result : div(p.a, p.b);
  }
  return detail::binary_op(
      "div", a, b, [](auto x, auto z) { return x / z; },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor& a = c.input(0);
        const Tensor& b = c.input(1);
        Tensor g_over_b = div(g, b);                                                  // d(a/b)/da = 1/b
        return {g_over_b, c.needs_grad(1) ? neg(mul(g_over_b, div(a, b))) : none()};  // d/db = -a/b²
      });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  return detail::binary_op(
      "pow", a, b, [](auto x, auto z) { return std::pow(x, z); },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor& a = c.input(0);
        const Tensor& b = c.input(1);
        // d/da = b·a^(b-1), exactly 0 where b = 0 (a^0 is constant; 0·0^-1 would be NaN): the
        // power uses b = 1 there. d/db = a^b·ln a, exactly 0 where a = 0 and b >= 0 (PyTorch's
        // masks; 0·ln 0 would be NaN or -inf): the log uses a = 1 there.
        Tensor da, db;
        if (c.needs_grad(0)) da = mul(g, mul(b, pow(a, add(where(eq(b, 0.0), ones_like(b), b), -1.0))));
        if (c.needs_grad(1)) {
          const Tensor zero_base = mul(eq(a, 0.0), ge(b, 0.0));
          db = mul(g, mul(c.output(), log(where(zero_base, ones_like(a), a))));
        }
        return {da, db};
      },
      keep_output);
}

Tensor pow(const Tensor& a, double p) {
  return detail::unary_op(
      "pow", a, [p](auto v) { return std::pow(v, static_cast<decltype(v)>(p)); },
      [p](const VjpContext& c, const Tensor& g) -> Grads {
        if (p == 0.0) return {zeros_like(g)};
        return {mul(g, mul(pow(c.input(0), p - 1.0), p))};  // d/da a^p = p·a^(p-1)
      });
}

Tensor pow(double s, const Tensor& b) {
  OpScope mark("pow");
  if (!(s > 0.0)) throw ValueError(fmt::format("pow: the scalar base must be > 0, got {}", s));
  Tensor y = detail::map_unary("pow", b, [s](auto v) { return std::pow(static_cast<decltype(v)>(s), v); });
  return record(
      "pow", {b}, std::move(y),
      [s](const VjpContext& c, const Tensor& g) -> Grads {
        return {mul(g, mul(c.output(), std::log(s)))};  // d/db s^b = s^b·ln s
      },
      keep_output);
}

Tensor add(const Tensor& a, double s) {
  if (a.impl() && !is_floating(a.dtype())) return add(float32_of("add", a), s);
  return detail::unary_op(
      "add", a, [s](auto v) { return v + static_cast<decltype(v)>(s); },
      [](const VjpContext&, const Tensor& g) -> Grads { return {g}; });
}

Tensor mul(const Tensor& a, double s) {
  if (a.impl() && !is_floating(a.dtype())) return mul(float32_of("mul", a), s);
  return detail::unary_op(
      "mul", a, [s](auto v) { return v * static_cast<decltype(v)>(s); },
      [s](const VjpContext&, const Tensor& g) -> Grads { return {mul(g, s)}; });
}

Tensor rsub(double s, const Tensor& a) {
  if (a.impl() && !is_floating(a.dtype())) return rsub(s, float32_of("rsub", a));
  return detail::unary_op(
      "rsub", a, [s](auto v) { return static_cast<decltype(v)>(s) - v; },
      [](const VjpContext&, const Tensor& g) -> Grads { return {neg(g)}; });
}

Tensor rdiv(double s, const Tensor& a) {
  if (a.impl() && !is_floating(a.dtype())) return rdiv(s, float32_of("rdiv", a));
  return detail::unary_op(
      "rdiv", a, [s](auto v) { return static_cast<decltype(v)>(s) / v; },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        return {neg(mul(g, div(c.output(), c.input(0))))};  // d/da s/a = -s/a² = -y/a
      },
      keep_output);
}

// ---- unary -----------------------------------------------------------------------------------
Tensor neg(const Tensor& x) {
  if (x.impl() && is_integer(x.dtype())) return detail::int_scalar(x, 0, detail::ScalarOp::rsub);  // 0 - x, wrapping
  return detail::unary_op(
      "neg", x, [](auto v) { return -v; },
      [](const VjpContext&, const Tensor& g) -> Grads { return {neg(g)}; });
}

Tensor exp(const Tensor& x) {
  return detail::unary_op(
      "exp", x, [](auto v) { return std::exp(v); },
      [](const VjpContext& c, const Tensor& g) -> Grads { return {mul(g, c.output())}; },  // d = g·y
      keep_output);
}

Tensor log(const Tensor& x) {
  return detail::unary_op(
      "log", x, [](auto v) { return std::log(v); },
      [](const VjpContext& c, const Tensor& g) -> Grads { return {div(g, c.input(0))}; });
}

Tensor sqrt(const Tensor& x) {
  return detail::unary_op(
      "sqrt", x, [](auto v) { return std::sqrt(v); },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        return {div(mul(g, 0.5), c.output())};  // d/dx √x = 1/(2√x)
      },
      keep_output);
}

Tensor abs(const Tensor& x) {
  return detail::unary_op(
      "abs", x, [](auto v) { return std::abs(v); },
      [](const VjpContext& c, const Tensor& g) -> Grads { return {mul(g, sign(c.input(0)))}; });
}

Tensor sin(const Tensor& x) {
  return detail::unary_op(
      "sin", x, [](auto v) { return std::sin(v); },
      [](const VjpContext& c, const Tensor& g) -> Grads { return {mul(g, cos(c.input(0)))}; });
}

Tensor cos(const Tensor& x) {
  return detail::unary_op(
      "cos", x, [](auto v) { return std::cos(v); },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        return {neg(mul(g, sin(c.input(0))))};  // d/dx cos = -sin
      });
}

Tensor tanh(const Tensor& x) {
  return detail::unary_op(
      "tanh", x, [](auto v) { return std::tanh(v); },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        if (!c.create_graph())  // one fused loop, same arithmetic as the composed form
          return {detail::map_binary("tanh", g, c.output(),
                                     [](auto gv, auto y) { return gv * (decltype(y)(1) - y * y); })};
        return {mul(g, rsub(1.0, square(c.output())))};  // d = 1 - y²
      },
      keep_output);
}

Tensor sigmoid(const Tensor& x) {
  OpScope mark("sigmoid");
  // 1/(1+e^-x): e^-x overflows to inf for x << 0 and the quotient is then exactly 0 — no NaN.
  Tensor y = detail::map_unary("sigmoid", x, [](auto v) {
    using T = decltype(v);
    return T(1) / (T(1) + std::exp(-v));
  });
  return record(
      "sigmoid", {x}, std::move(y),
      [](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor y = c.output();
        if (!c.create_graph())  // one fused loop, same arithmetic as the composed form
          return {detail::map_binary("sigmoid", g, y, [](auto gv, auto yv) { return gv * (yv * (decltype(yv)(1) - yv)); })};
        return {mul(g, mul(y, rsub(1.0, y)))};  // d = y(1-y)
      },
      keep_output);
}

Tensor relu(const Tensor& x) {
  return detail::unary_op(
      "relu", x, [](auto v) { return v > decltype(v)(0) ? v : decltype(v)(0); },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        if (!c.create_graph())  // one fused loop: g·[x > 0] (g·0 keeps the sign and NaN of g·step)
          return {
              detail::map_binary("relu", g, c.input(0), [](auto gv, auto xv) { return gv * step_mask(xv); })};
        return {mul(g, step(c.input(0)))};
      });
}

Tensor square(const Tensor& x) {
  return detail::unary_op(
      "square", x, [](auto v) { return v * v; },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        return {mul(g, mul(c.input(0), 2.0))};  // d/dx x² = 2x
      });
}

// ---- non-differentiable -----------------------------------------------------------------------
Tensor sign(const Tensor& x) {
  OpScope mark("sign");
  return detail::piecewise_constant("sign", {x}, detail::map_unary("sign", x, [](auto v) {
                                      using T = decltype(v);
                                      return v > T(0) ? T(1) : v < T(0) ? T(-1) : T(0);
                                    }));
}

Tensor step(const Tensor& x) {
  OpScope mark("step");
  return detail::piecewise_constant(
      "step", {x}, detail::map_unary("step", x, [](auto v) { return v > decltype(v)(0) ? decltype(v)(1) : decltype(v)(0); }));
}

// ---- accurate near 0, reciprocal ------------------------------------------------------------
Tensor log1p(const Tensor& x) {
  return detail::unary_op(
      "log1p", x, [](auto v) { return std::log1p(v); },
      [](const VjpContext& c, const Tensor& g) -> Grads { return {div(g, add(c.input(0), 1.0))}; });
}

Tensor expm1(const Tensor& x) {
  return detail::unary_op(
      "expm1", x, [](auto v) { return std::expm1(v); },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        return {mul(g, add(c.output(), 1.0))};
      },  // eˣ = y + 1
      keep_output);
}

Tensor reciprocal(const Tensor& x) {
  return detail::unary_op(
      "reciprocal", x, [](auto v) { return decltype(v)(1) / v; },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        return {neg(mul(g, square(c.output())))};
      },  // -1/x²
      keep_output);
}

// ---- dtype -----------------------------------------------------------------------------------
Tensor to_dtype(const Tensor& x, DType d) {
  OpScope mark("to");
  detail::require_defined("to", x);
  if (x.dtype() == d) return x;
  Tensor y = detail::convert("to", x, d);
  // recorded between float dtypes only (record leaves integer and bool results alone)
  return record("to", {x}, std::move(y), [](const VjpContext& c, const Tensor& g) -> Grads {
    return {to_dtype(g, c.input(0).dtype())};
  });
}

}  // namespace ag
