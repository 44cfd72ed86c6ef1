// Special functions and the activations built on them: erf, erfc, gelu (exact and tanh),
// softplus (β, threshold), log_sigmoid. Forwards are plain loops (computed in double, rounded to
// the tensor's dtype); VJPs are ag ops, with a fused loop outside create_graph where the
// derivative is a closed form of x.
#include <cmath>

#include "ops/kernels.hpp"

namespace ag {
using detail::map_unary;

namespace {
constexpr double kTwoOverSqrtPi = 1.1283791670955126;  // 2/√π
constexpr double kSqrtHalf = 0.7071067811865476;       // 1/√2
constexpr double kInvSqrt2Pi = 0.3989422804014327;     // 1/√(2π)

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

// ---- gelu --------------------------------------------------------------------------------------------
namespace {
constexpr double kGeluC = 0.044715;
const double kGeluK = std::sqrt(2.0 / 3.14159265358979323846);  // √(2/π)

// ½x(1 + tanh(√(2/π)(x + 0.044715x³))): the values tapegrad's gelu had before the exact form.
Tensor gelu_tanh(const Tensor& x) {
  return detail::unary_op(
      "gelu", x,
      [](auto v) {
        using T = decltype(v);
        const double d = static_cast<double>(v);
        return static_cast<T>(0.5 * d * (1.0 + std::tanh(kGeluK * (d + kGeluC * d * d * d))));
      },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor& x = c.input(0);
        // u = k(x + c·x³), t = tanh u:  d = ½(1 + t) + ½x(1 - t²)·k(1 + 3c·x²)
        if (!c.create_graph()) {
          return {mul(g, map_unary("gelu", x, [](auto v) {
                        const double d = static_cast<double>(v);
                        const double t = std::tanh(kGeluK * (d + kGeluC * d * d * d));
                        return 0.5 * (1.0 + t) +
                               0.5 * d * (1.0 - t * t) * kGeluK * (1.0 + 3.0 * kGeluC * d * d);
                      }))};
        }
        Tensor x2 = square(x);
        Tensor t = tanh(mul(mul(x, add(mul(x2, kGeluC), 1.0)), kGeluK));
        Tensor du = mul(add(mul(x2, 3.0 * kGeluC), 1.0), kGeluK);
        Tensor d = add(mul(add(t, 1.0), 0.5), mul(mul(mul(x, rsub(1.0, square(t))), du), 0.5));
        return {mul(g, d)};
      });
}

// x·Φ(x) with Φ(x) = ½erfc(-x/√2): erfc keeps the relative accuracy of Φ in the left tail,
// where 1 + erf(x/√2) cancels to 0 (gelu(-10) ≈ -7.6e-23, not -0).
Tensor gelu_exact(const Tensor& x) {
  return detail::unary_op(
      "gelu", x,
      [](auto v) {
        const double d = static_cast<double>(v);
        return 0.5 * d * std::erfc(-d * kSqrtHalf);
      },
      [](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor& x = c.input(0);
        // d = Φ(x) + x·φ(x), φ(x) = e^(-x²/2)/√(2π)  (and d' = φ(x)·(2 - x²))
        if (!c.create_graph()) {
          return {mul(g, map_unary("gelu", x, [](auto v) {
                        const double d = static_cast<double>(v);
                        return 0.5 * std::erfc(-d * kSqrtHalf) + d * kInvSqrt2Pi * std::exp(-0.5 * d * d);
                      }))};
        }
        Tensor cdf = mul(erfc(mul(x, -kSqrtHalf)), 0.5);
        Tensor pdf = mul(exp(mul(square(x), -0.5)), kInvSqrt2Pi);
        return {mul(g, add(cdf, mul(x, pdf)))};
      });
}
}  // namespace

Tensor gelu(const Tensor& x) { return gelu_exact(x); }

Tensor gelu(const Tensor& x, GeluApprox approximate) {
  switch (approximate) {
    case GeluApprox::none: return gelu_exact(x);
    case GeluApprox::tanh: return gelu_tanh(x);
  }
  detail::require_defined("gelu", x);
  throw ValueError(fmt::format("gelu: unknown GeluApprox value {} (input {})", static_cast<int>(approximate),
                               shape_str(x.shape())));
}

}  // namespace ag
