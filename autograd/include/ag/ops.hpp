#pragma once
// Differentiable ops. Binary ops broadcast numpy-style; both operands must have the same dtype
// (mixing float32 and float64 is a DtypeError: convert explicitly with x.to(ag::f64)).
// Python-style scalars (double) may stand on either side of + - * / and take the tensor's dtype.
#include <cstddef>
#include <initializer_list>
#include <optional>
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
// y = x·W + b for x:[M, K], W:[K, N], b:[N] as one op (a dense layer); other shapes: matmul + add.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);

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

// =================================================================================================
// The rest of the op set. Same rules: same-dtype operands, numpy broadcasting for binary ops.

// ---- comparisons (non-differentiable) ------------------------------------------------------------
// 0/1 masks in the operands' dtype, broadcasting; no history, requires_grad false.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double s);
Tensor ne(const Tensor& a, double s);
Tensor lt(const Tensor& a, double s);
Tensor le(const Tensor& a, double s);
Tensor gt(const Tensor& a, double s);
Tensor ge(const Tensor& a, double s);

inline Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
inline Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
inline Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
inline Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
inline Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
inline Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
inline Tensor operator==(const Tensor& a, double s) { return eq(a, s); }
inline Tensor operator!=(const Tensor& a, double s) { return ne(a, s); }
inline Tensor operator<(const Tensor& a, double s) { return lt(a, s); }
inline Tensor operator<=(const Tensor& a, double s) { return le(a, s); }
inline Tensor operator>(const Tensor& a, double s) { return gt(a, s); }
inline Tensor operator>=(const Tensor& a, double s) { return ge(a, s); }
inline Tensor operator==(double s, const Tensor& a) { return eq(a, s); }
inline Tensor operator!=(double s, const Tensor& a) { return ne(a, s); }
inline Tensor operator<(double s, const Tensor& a) { return gt(a, s); }
inline Tensor operator<=(double s, const Tensor& a) { return ge(a, s); }
inline Tensor operator>(double s, const Tensor& a) { return lt(a, s); }
inline Tensor operator>=(double s, const Tensor& a) { return le(a, s); }

// ---- elementwise, more -----------------------------------------------------------------------------
// Ties (a == b) send half of g to each operand.
Tensor maximum(const Tensor& a, const Tensor& b);  // d/da = [a > b] + ½[a = b]
Tensor minimum(const Tensor& a, const Tensor& b);  // d/da = [a < b] + ½[a = b]
// min(max(x, lo), hi); an omitted (or infinite) bound does not clip. d = g·[lo <= x <= hi].
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi);
// cond ? a : b, broadcasting all three. cond is a mask of any dtype (nonzero = true) and is not
// differentiated; g flows to a where cond holds and to b elsewhere.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

Tensor leaky_relu(const Tensor& x, double slope = 0.01);  // x > 0 ? x : slope·x
Tensor elu(const Tensor& x, double alpha = 1.0);          // x > 0 ? x : alpha·(eˣ - 1)
Tensor softplus(const Tensor& x);  // log(1 + eˣ) = max(x, 0) + log1p(e^-|x|); d = σ(x)
Tensor gelu(const Tensor& x);      // tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
Tensor log1p(const Tensor& x);     // log(1 + x), accurate near 0; d = g/(1 + x)
Tensor expm1(const Tensor& x);     // eˣ - 1, accurate near 0; d = g·(y + 1)
Tensor reciprocal(const Tensor& x);  // 1/x; d = -g·y²

// ---- reductions, more ------------------------------------------------------------------------------
// max/min: the gradient goes to the selected element; ties split it evenly among the elements
// equal to the result. NaN propagates. Empty reductions are a ValueError.
Tensor max(const Tensor& x);  // over all elements -> 0-d
Tensor max(const Tensor& x, const Axes& axes, bool keepdims = false);
Tensor min(const Tensor& x);
Tensor min(const Tensor& x, const Axes& axes, bool keepdims = false);
// Index of the first maximum/minimum (numpy), non-differentiable. The indices are exact integers
// stored in x's dtype (tapegrad tensors are float32/float64), so they feed one_hot,
// take_along_axis and eq(argmax(logits, 1), labels) directly. argmax(x) is the flat (row-major)
// index as a 0-d tensor. float32 holds integers exactly only up to 2^24: larger index ranges
// in float32 are a ValueError (convert with .to(ag::f64)).
Tensor argmax(const Tensor& x);
Tensor argmax(const Tensor& x, int axis, bool keepdims = false);
Tensor argmin(const Tensor& x);
Tensor argmin(const Tensor& x, int axis, bool keepdims = false);
// Variance Σ(x - mean)²/(n - 1) when unbiased, /n otherwise; std = √var (d is infinite at var 0).
// n - 1 = 0 with unbiased is a ValueError. The all-elements form is unbiased; for the biased one
// pass every axis (a bool overload would capture var(x, {0}) as unbiased = false).
Tensor var(const Tensor& x);
Tensor var(const Tensor& x, const Axes& axes, bool unbiased = true, bool keepdims = false);
Tensor std(const Tensor& x);
Tensor std(const Tensor& x, const Axes& axes, bool unbiased = true, bool keepdims = false);
// L2 norm √Σx²; d = g·x/‖x‖, taken as 0 where ‖x‖ = 0.
Tensor norm(const Tensor& x);
Tensor norm(const Tensor& x, const Axes& axes, bool keepdims = false);
// log Σ eˣ, stable (the max is subtracted first); d = g·softmax. All -inf gives -inf.
Tensor logsumexp(const Tensor& x);
Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdims = false);

// ---- softmax ---------------------------------------------------------------------------------------
// Stable for any finite input (the max along the axis is subtracted first).
Tensor softmax(const Tensor& x, int axis = -1);      // y = eˣ/Σeˣ; d = y·(g - Σg·y)
Tensor log_softmax(const Tensor& x, int axis = -1);  // y = x - logsumexp(x); d = g - eʸ·Σg

// ---- shape, more -------------------------------------------------------------------------------------
Tensor squeeze(const Tensor& x);                    // removes every size-1 axis
Tensor squeeze(const Tensor& x, const Axes& axes);  // removes the given axes (each must be size 1)
Tensor unsqueeze(const Tensor& x, int axis);        // inserts a size-1 axis; axis in [-(n+1), n]
Tensor flatten(const Tensor& x, int start = 0, int end = -1);  // merges axes start..end (inclusive)
Tensor expand(const Tensor& x, const Shape& shape);            // = broadcast_to
// Joins along an existing axis (same shapes elsewhere) / along a new axis (same shapes).
Tensor concat(const std::vector<Tensor>& xs, int axis = 0);
Tensor stack(const std::vector<Tensor>& xs, int axis = 0);
// Pieces along `axis`: `sections` equal pieces (must divide the axis; numpy.split), or pieces of
// the given sizes (must sum to the axis). Each piece is its own recorded slice.
std::vector<Tensor> split(const Tensor& x, std::size_t sections, int axis = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<std::size_t>& sizes, int axis = 0);
inline std::vector<Tensor> split(const Tensor& x, std::initializer_list<std::size_t> sizes, int axis = 0) {
  return split(x, std::vector<std::size_t>(sizes), axis);
}
// x[start:stop:step] along axis, python semantics: negative start/stop count from the end and
// are clipped; nullopt means the end given step's sign; step != 0 (negative steps go backwards).
Tensor slice(const Tensor& x, int axis, std::optional<std::ptrdiff_t> start,
             std::optional<std::ptrdiff_t> stop, std::ptrdiff_t step = 1);
// x[..., index, ...]: one index along axis (negative counts from the end); the axis is removed.
Tensor select(const Tensor& x, int axis, std::ptrdiff_t index);

// ---- indexing ---------------------------------------------------------------------------------------
// Index convention: indices are a std::vector<std::size_t>, or a Tensor (float32 or float64)
// holding exact non-negative integers — the form labels and argmax results take. A fractional,
// negative, non-finite or out-of-range index is an IndexError naming the op, the index and the
// shape. The indices are never differentiated.

// Entries of x at `indices` along axis: the axis gets length indices.size(). Tensor indices
// must be 1-D. d: g's rows are added back at their indices (repeats accumulate).
Tensor index_select(const Tensor& x, int axis, const std::vector<std::size_t>& indices);
Tensor index_select(const Tensor& x, int axis, const Tensor& indices);
inline Tensor index_select(const Tensor& x, int axis, std::initializer_list<std::size_t> indices) {
  return index_select(x, axis, std::vector<std::size_t>(indices));
}
// numpy.take_along_axis: out[..., j, ...] = x[..., indices[..., j, ...], ...] along axis.
// indices has x's rank and x's sizes on every other axis; the result has indices' shape.
// NLL: take_along_axis(log_probs [N, C], labels reshaped to [N, 1], 1) -> [N, 1].
Tensor take_along_axis(const Tensor& x, const Tensor& indices, int axis);
Tensor gather(const Tensor& x, int axis, const Tensor& indices);  // torch.gather = take_along_axis
// Non-differentiable: indices of any shape -> shape + [num_classes], 1 at the index, else 0.
Tensor one_hot(const Tensor& indices, std::size_t num_classes, DType dtype = f32);
Tensor one_hot(const std::vector<std::size_t>& indices, std::size_t num_classes, DType dtype = f32);
inline Tensor one_hot(std::initializer_list<std::size_t> indices, std::size_t num_classes, DType dtype = f32) {
  return one_hot(std::vector<std::size_t>(indices), num_classes, dtype);
}

}  // namespace ag
