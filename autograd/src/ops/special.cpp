// Special functions and the activations built on them: erf, erfc, softplus (β, threshold),
// log_sigmoid. Forwards are plain loops (computed in double, rounded to
// the tensor's dtype); VJPs are ag ops, with a fused loop outside create_graph where the
// derivative is a closed form of x.
#include <cmath>

#include "ops/kernels.hpp"

namespace ag {
using detail::map_unary;

namespace {
constexpr double kTwoOverSqrtPi = 1.1283791670955126;  // 2/√π

// (2/√π)·e^(-x²), the slope of erf, as ag ops (differentiable under create_graph)
Tensor erf_slope(const Tensor& x) { return mul(exp(neg(square(x))), kTwoOverSqrtPi); }
}  // namespace

// ---- erf / erfc ---------------------------------------------------------------------------------
Tensor erf(const Tensor& x) {
  return detail::unary_op(
      "erf", x, [](auto v) { return std::erf(static_cast<double>(v)); },
      [](const VjpContext& c, const Tensor& g) -> Grads { return {mul(g, erf_slope(c.input(0)))}; });
}

Tensor erfc(const Tensor& x) {
  return detail::unary_op(
      "erfc", x, [](auto v) { return std::erfc(static_cast<double>(v)); },
      [](const VjpContext& c, const Tensor& g) -> Grads { return {neg(mul(g, erf_slope(c.input(0))))}; });
}

// ---- softplus / log_sigmoid ------------------------------------------------------------------------
Tensor softplus(const Tensor& x) { return softplus(x, 1.0, 20.0); }

Tensor softplus(const Tensor& x, double beta, double threshold) {
  detail::require_defined("softplus", x);
  if (!std::isfinite(beta) || beta == 0.0)
    throw ValueError(fmt::format("softplus: beta must be finite and nonzero, got {} (input {} {})", beta,
                                 dtype_name(x.dtype()), shape_str(x.shape())));
  return detail::unary_op(
      "softplus", x,
      [beta, threshold](auto v) {
        // z = βx; past the threshold the result is x itself (PyTorch), else the overflow-free
        // (max(z, 0) + log1p(e^-|z|))/β (β = 1: exactly the pre-threshold softplus)
        const double d = static_cast<double>(v);
        const double z = beta * d;
        if (z > threshold) return d;
        return (std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)))) / beta;
      },
      [beta, threshold](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor& x = c.input(0);
        if (!c.create_graph()) {  // one fused loop: d = 1 past the threshold, σ(βx) elsewhere
          return {detail::map_binary("softplus", g, x, [beta, threshold](auto gv, auto xv) {
            const double z = beta * static_cast<double>(xv);
            return z > threshold ? gv : static_cast<decltype(gv)>(gv / (1.0 + std::exp(-z)));
          })};
        }
        // the threshold mask is a constant of x (its derivative is 0 a.e., as the value is x there)
        const Tensor over = map_unary("softplus", x, [beta, threshold](auto v) {
          return beta * static_cast<double>(v) > threshold ? 1.0 : 0.0;
        });
        return {where(over, g, mul(g, sigmoid(mul(x, beta))))};
      });
}

Tensor log_sigmoid(const Tensor& x) {
  return detail::unary_op(
      "log_sigmoid", x,
      [](auto v) {
        const double d = static_cast<double>(v);
        return std::min(d, 0.0) - std::log1p(std::exp(-std::abs(d)));  // -softplus(-x), no overflow
      },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        return {mul(g, sigmoid(neg(c.input(0))))};  // d = σ(-x) = 1 - σ(x), accurate for x >> 0
      });
}

}  // namespace ag
