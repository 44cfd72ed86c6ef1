#pragma once
// Elementwise arithmetic and math: + - * / pow, scalar forms and operators, and the unary
// functions. Binary ops broadcast numpy-style. + - * / (and maximum/minimum/where) take any
// dtypes and compute in result_type(a, b) (ag/dtype.hpp: integers with a float give the float;
// float32 with float64 is a DtypeError: convert explicitly with x.to(ag::f64)); integer / integer
// is float32. The other functions take floating tensors. Python-style scalars (double) may stand
// on either side of + - * / and take a floating tensor's dtype.
#include <cstdint>
#include <type_traits>

#include "ag/detail/int_scalar.hpp"
#include "ag/tensor.hpp"

namespace ag {

// ---- elementwise, binary (broadcasting) ------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
// a^b; d/da = b·a^(b-1) (0 where b = 0), d/db = a^b·ln a (0 where a = 0 and b >= 0; needs a > 0
// elsewhere).
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double p);         // a^p
Tensor pow(double s, const Tensor& b);         // s^b, s > 0

Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor rsub(double s, const Tensor& a);  // s - a
Tensor rdiv(double s, const Tensor& a);  // s / a

// ---- elementwise, unary ------------------------------------------------------------------------
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);      // d = g·y
Tensor log(const Tensor& x);      // d = g/x
Tensor sqrt(const Tensor& x);     // d = g/(2y)
Tensor abs(const Tensor& x);      // d = g·sign(x) (0 at x = 0)
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);     // d = g·(1 - y²)
Tensor sigmoid(const Tensor& x);  // d = g·y·(1 - y)
Tensor relu(const Tensor& x);     // d = g·[x > 0]
Tensor square(const Tensor& x);   // d = 2·g·x

// Piecewise constant: d = 0 (as PyTorch's sign). Recorded when x requires grad, so a VJP built
// from them (relu's, abs's) stays connected to x and second derivatives are 0, not missing.
Tensor sign(const Tensor& x);          // -1, 0, +1
Tensor step(const Tensor& x);          // [x > 0] as 0/1 in x's dtype

// ---- accurate near 0, reciprocal, dtype conversion -------------------------------------------
Tensor log1p(const Tensor& x);     // log(1 + x), accurate near 0; d = g/(1 + x)
Tensor expm1(const Tensor& x);     // eˣ - 1, accurate near 0; d = g·(y + 1)
Tensor reciprocal(const Tensor& x);  // 1/x; d = -g·y²

// ---- special functions -----------------------------------------------------------------------
Tensor erf(const Tensor& x);   // (2/√π)∫₀ˣ e^(-t²) dt; d = g·(2/√π)·e^(-x²)
Tensor erfc(const Tensor& x);  // 1 - erf(x), accurate where erf(x) is near 1; d = -g·(2/√π)·e^(-x²)

// ---- composed from the ops above (their VJPs come from the parts) ----------------------------
// a [M], b [N] -> [M, N] with a_i·b_j; d/da = g·b, d/db = gᵀ·a.
Tensor outer(const Tensor& a, const Tensor& b);
// value where mask is nonzero, x elsewhere; mask (any dtype, not differentiated) broadcasts to
// x's shape, not the other way; d/dx = g·[mask = 0].
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
Tensor to_dtype(const Tensor& x, DType d);            // = x.to(d)

// ---- integer scalars ---------------------------------------------------------------------------
// A C++ integer scalar keeps an integer tensor's dtype (labels + 1 stays int64; bool becomes
// int64) and takes a floating tensor's dtype. A double scalar with an integer tensor gives float32.
template <class I, detail::if_int_scalar<I> = 0> Tensor add(const Tensor& a, I s) {
  return detail::int_scalar(a, static_cast<std::int64_t>(s), detail::ScalarOp::add);
}
template <class I, detail::if_int_scalar<I> = 0> Tensor mul(const Tensor& a, I s) {
  return detail::int_scalar(a, static_cast<std::int64_t>(s), detail::ScalarOp::mul);
}
template <class I, detail::if_int_scalar<I> = 0> Tensor rsub(I s, const Tensor& a) {
  return detail::int_scalar(a, static_cast<std::int64_t>(s), detail::ScalarOp::rsub);
}
template <class I, detail::if_int_scalar<I> = 0> Tensor operator+(const Tensor& a, I s) { return add(a, s); }
template <class I, detail::if_int_scalar<I> = 0> Tensor operator+(I s, const Tensor& a) { return add(a, s); }
template <class I, detail::if_int_scalar<I> = 0> Tensor operator-(const Tensor& a, I s) {
  return detail::int_scalar(a, static_cast<std::int64_t>(s), detail::ScalarOp::sub);
}
template <class I, detail::if_int_scalar<I> = 0> Tensor operator-(I s, const Tensor& a) { return rsub(s, a); }
template <class I, detail::if_int_scalar<I> = 0> Tensor operator*(const Tensor& a, I s) { return mul(a, s); }
template <class I, detail::if_int_scalar<I> = 0> Tensor operator*(I s, const Tensor& a) { return mul(a, s); }

// ---- operators ---------------------------------------------------------------------------------
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator+(double s, const Tensor& a) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return add(a, -s); }
inline Tensor operator-(double s, const Tensor& a) { return rsub(s, a); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return mul(a, 1.0 / s); }
inline Tensor operator/(double s, const Tensor& a) { return rdiv(s, a); }

}  // namespace ag
