// Activations beyond relu/sigmoid/tanh (leaky_relu, elu, silu): forward as plain loops, VJPs in ag ops (a fused loop
// outside create_graph where the derivative is a closed form of x).
#include <cmath>
#include <optional>

#include "ops/kernels.hpp"

namespace ag {
using detail::map_unary;

Tensor leaky_relu(const Tensor& x, double slope) {
  return detail::unary_op(
      "leaky_relu", x,
      [slope](auto v) {
        using T = decltype(v);
        return v > T(0) ? v : static_cast<T>(slope) * v;
      },
      [slope](const VjpContext& c, const Tensor& g) -> Grads {
        Tensor d = detail::piecewise_constant("leaky_relu mask", {c.input(0)},
                                              map_unary("leaky_relu", c.input(0), [slope](auto v) {
                                                using T = decltype(v);
                                                return v > T(0) ? T(1) : static_cast<T>(slope);
                                              }));
        return {mul(g, d)};  // d = 1 or slope (a constant)
      });
}

Tensor elu(const Tensor& x, double alpha) {
  return detail::unary_op(
      "elu", x,
      [alpha](auto v) {
        using T = decltype(v);
        return v > T(0) ? v : static_cast<T>(alpha * std::expm1(static_cast<double>(v)));
      },
      [alpha](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor& x = c.input(0);
        if (!c.create_graph()) {  // one fused loop: d = 1 for x > 0, alpha·eˣ otherwise
          return {mul(g, map_unary("elu", x, [alpha](auto v) {
                        using T = decltype(v);
                        return v > T(0) ? T(1) : static_cast<T>(alpha * std::exp(static_cast<double>(v)));
                      }))};
        }
        // differentiable form: [x > 0] + [x <= 0]·alpha·e^min(x, 0) (no overflow for large x)
        Tensor pos = step(x);
        return {mul(g, add(pos, mul(rsub(1.0, pos), mul(exp(clamp(x, std::nullopt, 0.0)), alpha))))};
      });
}

Tensor silu(const Tensor& x) {
  return detail::unary_op(
      "silu", x,
      [](auto v) {
        using T = decltype(v);
        return v / (T(1) + std::exp(-v));  // x·σ(x); e^-x = inf for x << 0 gives -0, not NaN
      },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor& x = c.input(0);
        if (!c.create_graph()) {  // one fused loop: d = σ(1 + x(1 - σ))
          return {detail::map_binary("silu", g, x, [](auto gv, auto xv) {
            using T = decltype(xv);
            const T s = T(1) / (T(1) + std::exp(-xv));
            return gv * (s * (T(1) + xv * (T(1) - s)));
          })};
        }
        Tensor s = sigmoid(x);  // ag ops: differentiable again
        return {mul(g, mul(s, add(mul(x, rsub(1.0, s)), 1.0)))};
      });
}

// softplus, log_sigmoid and gelu live in special.cpp (with erf, which exact gelu is built on).

}  // namespace ag
