#pragma once
// Differentiable ops. Binary ops broadcast numpy-style; both operands must have the same dtype
// (mixing float32 and float64 is a DtypeError: convert explicitly with x.to(ag::f64)).
// Python-style scalars (double) may stand on either side of + - * / and take the tensor's dtype.
#include <cstddef>
#include <vector>

#include "ag/tensor.hpp"

namespace ag {

using Axes = std::vector<int>;  // negative axes count from the end

// ---- elementwise, binary (broadcasting) ------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);  // a^b; d/db needs a > 0
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

// Non-differentiable results (no history, requires_grad false).
Tensor sign(const Tensor& x);          // -1, 0, +1
Tensor step(const Tensor& x);          // [x > 0] as 0/1 in x's dtype

// ---- reductions --------------------------------------------------------------------------------
Tensor sum(const Tensor& x);  // over all elements -> 0-d
Tensor sum(const Tensor& x, const Axes& axes, bool keepdims = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const Axes& axes, bool keepdims = false);

// ---- linear algebra ----------------------------------------------------------------------------
// numpy matmul semantics: 1-D·1-D -> 0-d; 2-D·2-D; 1-D is promoted on the left/right and the
// added axis removed; N-D batches broadcast over the leading dims. BLAS-backed.
Tensor matmul(const Tensor& a, const Tensor& b);
// op(a)·op(b) where op transposes the last two axes when its flag is set (no copy is made).
// a and b must be at least 2-D. This is the primitive behind matmul and its VJP.
Tensor matmul_t(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b);

// ---- shape -------------------------------------------------------------------------------------
Tensor reshape(const Tensor& x, const std::vector<std::ptrdiff_t>& shape);  // one -1 is inferred
Tensor permute(const Tensor& x, const Axes& axes);
Tensor transpose(const Tensor& x, int dim0, int dim1);  // swap two axes
Tensor transpose(const Tensor& x);                      // reverse all axes (numpy .T)
Tensor broadcast_to(const Tensor& x, const Shape& shape);
Tensor sum_to(const Tensor& x, const Shape& shape);  // sums a broadcast gradient back to `shape`
Tensor to_dtype(const Tensor& x, DType d);            // = x.to(d)

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

// Broadcast result shape of two shapes (numpy rules); ShapeError naming `op` if incompatible.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

}  // namespace ag
